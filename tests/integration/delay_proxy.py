"""A loopback TCP proxy that delays every byte by a fixed time in each direction.

There is no netem on the test machines, so a long round trip is made here:
DelayProxy(target, delay_s) listens on 127.0.0.1 on a free port and forwards
each connection to target ("HOST:PORT"), holding every chunk for delay_s on
its way in and again on its way back, in order. A round trip through it costs
at least 2 * delay_s. It runs its own event loop on a thread:

    with DelayProxy("127.0.0.1:5560", 0.3) as proxy:
        run_client(proxy.address)        # "127.0.0.1:PORT"
        proxy.connections                # connections accepted so far

cut() closes every open connection and refuses new ones until heal(), as a
partition would; bytes in flight are dropped.
"""
import asyncio
import socket
import threading


class DelayProxy:
    def __init__(self, target, delay_s, host="127.0.0.1"):
        self.target_host, port = target.rsplit(":", 1)
        self.target_port = int(port)
        self.delay_s = delay_s
        self.host = host
        self.connections = 0
        self._cut = False
        self._writers = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        self.port = sock.getsockname()[1]
        self._sock = sock
        self._server = None

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("delay proxy did not start")

    def stop(self):
        if not self._thread.is_alive():
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        fut.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def cut(self):
        asyncio.run_coroutine_threadsafe(self._set_cut(True), self._loop).result(10)

    def heal(self):
        asyncio.run_coroutine_threadsafe(self._set_cut(False), self._loop).result(10)

    async def _set_cut(self, cut):
        self._cut = cut
        if cut:
            for w in list(self._writers):
                w.close()

    async def _shutdown(self):
        if self._server is not None:
            self._server.close()
        for w in list(self._writers):
            w.close()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self):
        asyncio.set_event_loop(self._loop)

        async def begin():
            self._server = await asyncio.start_server(self._accept, sock=self._sock)
            self._ready.set()

        self._loop.run_until_complete(begin())
        self._loop.run_forever()

    async def _accept(self, client_r, client_w):
        if self._cut:
            client_w.close()
            return
        self.connections += 1
        try:
            server_r, server_w = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            client_w.close()
            return
        self._writers.update((client_w, server_w))
        await asyncio.gather(self._pipe(client_r, server_w, client_w),
                             self._pipe(server_r, client_w, server_w),
                             return_exceptions=True)
        self._writers.difference_update((client_w, server_w))

    async def _pipe(self, reader, writer, other):
        """Copies reader to writer, each chunk delivered delay_s after it arrived."""
        queue = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def deliver():
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    break
                writer.write(data)
                await writer.drain()
            writer.close()

        task = asyncio.create_task(deliver())
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                queue.put_nowait((loop.time() + self.delay_s, data))
        except (ConnectionError, OSError):
            pass
        queue.put_nowait((loop.time() + self.delay_s, None))
        try:
            await task
        except (ConnectionError, OSError):
            other.close()
