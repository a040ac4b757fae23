"""A ZMTP 3.0 peer written by hand on a plain TCP socket (NULL mechanism).

It lets a test send what no well-behaved ZeroMQ socket would: a multipart
message that never ends, a frame larger than a limit, a connection that never
greets. Only what the hostile tests need is here.
"""
import socket
import struct


def greeting():
    return (b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00")
            + b"\x00" + b"\x00" * 31)


def command(name, props):
    body = bytes([len(name)]) + name
    for k, v in props.items():
        body += bytes([len(k)]) + k + struct.pack(">I", len(v)) + v
    return frame_header(len(body), more=False, command=True) + body


def frame_header(size, more, command=False):
    flags = (0x01 if more else 0) | (0x04 if command else 0)
    if size > 255:
        return bytes([flags | 0x02]) + struct.pack(">Q", size)
    return bytes([flags, size])


def frame(data, more):
    return frame_header(len(data), more) + data


class RawPeer:
    """A DEALER as seen on the wire, from an optional local source address."""

    def __init__(self, host, port, source="127.0.0.1", handshake=True, timeout=5.0):
        self.reset = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.bind((source, 0))
        self.sock.connect((host, port))
        if handshake:
            self.sock.sendall(greeting())
            self._read_exact(64)
            self.sock.sendall(command(b"READY", {b"Socket-Type": b"DEALER"}))

    def _read_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed by the server")
            data += chunk
        return data

    def send_frames(self, frames, last_more=False):
        """Sends frames; the last one keeps MORE set when last_more (message left open).
        Returns False when the server closed the connection before taking them all."""
        out = bytearray()
        for i, f in enumerate(frames):
            out += frame(f, more=(i < len(frames) - 1) or last_more)
        try:
            self.sock.sendall(out)
        except (ConnectionResetError, BrokenPipeError):
            self.reset = True
            return False
        except socket.timeout:
            return False  # the server stopped taking them (closed_by_server tells the rest)
        return True

    def closed_by_server(self, timeout):
        """True once the server has closed (or reset) the connection within timeout s."""
        if self.reset:
            return True
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    self.reset = True
                    return True
        except (ConnectionResetError, BrokenPipeError):
            self.reset = True
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()
