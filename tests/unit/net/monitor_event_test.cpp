#include "net/monitor_event.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace gc {
namespace {

std::string first_frame(uint16_t kind, uint32_t value, std::string tail = "") {
  std::string frame(sizeof kind + sizeof value, '\0');
  std::memcpy(frame.data(), &kind, sizeof kind);
  std::memcpy(frame.data() + sizeof kind, &value, sizeof value);
  return frame + tail;
}

TEST(MonitorEventTest, DecodesASixByteFrame) {
  auto event = decode_monitor_event(first_frame(ZMQ_EVENT_ACCEPTED, 17));
  ASSERT_TRUE(event);
  EXPECT_EQ(event->kind, ZMQ_EVENT_ACCEPTED);
  EXPECT_EQ(event->value, 17u);
  EXPECT_EQ(event->address, "");
}

TEST(MonitorEventTest, DecodesTheWholeRangeOfBothFields) {
  auto event = decode_monitor_event(first_frame(0xffff, 0xfffffffe));
  ASSERT_TRUE(event);
  EXPECT_EQ(event->kind, 0xffff);
  EXPECT_EQ(event->value, 0xfffffffeu);
}

TEST(MonitorEventTest, RefusesAShortFrame) {
  const std::string whole = first_frame(ZMQ_EVENT_DISCONNECTED, 3);
  for (size_t size = 0; size < whole.size(); ++size)
    EXPECT_FALSE(decode_monitor_event(std::string_view(whole).substr(0, size))) << size;
}

TEST(MonitorEventTest, IgnoresTheBytesAfterTheSixth) {
  auto event = decode_monitor_event(first_frame(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400, "extra"));
  ASSERT_TRUE(event);
  EXPECT_EQ(event->kind, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  EXPECT_EQ(event->value, 400u);
}

TEST(MonitorEventTest, ReceivesAnEventWithItsAddressAndSkipsAShortOne) {
  zmq::context_t ctx;
  zmq::socket_t in(ctx, zmq::socket_type::pair), out(ctx, zmq::socket_type::pair);
  in.bind("inproc://monitor-event-test");
  out.connect("inproc://monitor-event-test");
  std::optional<MonitorEvent> event;
  EXPECT_FALSE(receive_monitor_event(in, event));

  out.send(zmq::buffer(std::string("abc")), zmq::send_flags::sndmore);
  out.send(zmq::buffer(std::string("tcp://10.0.0.1:5555")), zmq::send_flags::none);
  const std::string frame = first_frame(ZMQ_EVENT_CONNECTED, 9);
  out.send(zmq::buffer(frame), zmq::send_flags::sndmore);
  out.send(zmq::buffer(std::string("tcp://127.0.0.1:5560")), zmq::send_flags::none);
  out.send(zmq::buffer(frame), zmq::send_flags::none);  // no address frame

  ASSERT_TRUE(receive_monitor_event(in, event));
  EXPECT_FALSE(event);
  ASSERT_TRUE(receive_monitor_event(in, event));
  ASSERT_TRUE(event);
  EXPECT_EQ(event->kind, ZMQ_EVENT_CONNECTED);
  EXPECT_EQ(event->value, 9u);
  EXPECT_EQ(event->address, "tcp://127.0.0.1:5560");
  ASSERT_TRUE(receive_monitor_event(in, event));
  ASSERT_TRUE(event);
  EXPECT_EQ(event->address, "");
  EXPECT_FALSE(receive_monitor_event(in, event));
}

}  // namespace
}  // namespace gc
