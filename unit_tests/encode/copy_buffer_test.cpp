// Unit tests of the binary COPY byte buffer.
#include "pgdest/encode/copy_buffer.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace pgdest::encode;

namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int value : values) {
    out += static_cast<char>(value);
  }
  return out;
}

} // namespace

TEST_CASE("CopyBuffer: header and trailer", "[encode][copy]") {
  CHECK(CopyBuffer::header() ==
        bytes({'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xFF, '\r', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  CHECK(CopyBuffer::header().size() == 19);
  CHECK(CopyBuffer::trailer() == bytes({0xFF, 0xFF}));
}

TEST_CASE("CopyBuffer: whole fields are length-prefixed and big-endian", "[encode][copy]") {
  CopyBuffer buffer;
  buffer.begin_row(6);
  buffer.put_null();
  buffer.put_int16(-2);
  buffer.put_int32(0x01020304);
  buffer.put_int64(-1);
  buffer.put_bool(true);
  buffer.put_bytes("ab");
  buffer.put_bytes("");
  buffer.put_bool(false);
  CHECK(buffer.view() == bytes({0,    6,                                     // field count
                                0xFF, 0xFF, 0xFF, 0xFF,                      // NULL
                                0,    0,    0,    2,    0xFF, 0xFE,          // int16 -2
                                0,    0,    0,    4,    1,    2,    3,    4, // int32
                                0,    0,    0,    8,    0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                0xFF, 0xFF, 0xFF, 0,    0,    0,    1,    1, // true
                                0,    0,    0,    2,    'a',  'b',           // bytes
                                0,    0,    0,    0,                         // empty, not NULL
                                0,    0,    0,    1,    0}));                // false
}

TEST_CASE("CopyBuffer: a field written in pieces gets its length patched", "[encode][copy]") {
  CopyBuffer buffer;
  buffer.append_byte(0xAA);
  const FieldStart field = buffer.begin_field();
  buffer.append_byte(1);
  buffer.append("xyz");
  buffer.append_int16(0x0102);
  buffer.append_uint16(0xC000);
  buffer.append_int32(-2);
  buffer.append_int64(0x0102030405060708);
  buffer.end_field(field);
  CHECK(buffer.view() == bytes({0xAA, 0,    0,    0,    20, 1, 'x', 'y', 'z', 1, 2, 0xC0, 0,
                                0xFF, 0xFF, 0xFF, 0xFE, 1,  2, 3,   4,   5,   6, 7, 8}));
  char* space = buffer.append_uninitialized(2);
  space[0] = 'o';
  space[1] = 'k';
  CHECK(buffer.view().substr(buffer.size() - 2) == "ok");
}

TEST_CASE("CopyBuffer: mark, rollback and clear", "[encode][copy]") {
  CopyBuffer buffer;
  buffer.put_bytes("keep");
  const std::size_t mark = buffer.mark();
  CHECK(mark == 8);
  buffer.put_bytes("drop me");
  buffer.rollback(mark);
  CHECK(buffer.size() == 8);
  CHECK(buffer.view() == bytes({0, 0, 0, 4, 'k', 'e', 'e', 'p'}));
  buffer.rollback(100); // a mark beyond the end changes nothing
  CHECK(buffer.size() == 8);
  const std::size_t capacity = buffer.capacity();
  buffer.clear();
  CHECK(buffer.empty());
  CHECK(buffer.capacity() == capacity);
}

TEST_CASE("CopyBuffer: erase takes bytes out of the middle, moving the rest down",
          "[encode][copy]") {
  CopyBuffer buffer;
  buffer.append("first");
  const std::size_t begin = buffer.mark();
  buffer.append("second");
  const std::size_t end = buffer.mark();
  buffer.append("third");
  buffer.erase(begin, end);
  CHECK(buffer.view() == "firstthird");
  buffer.erase(5, 5);   // nothing
  buffer.erase(3, 100); // beyond the end: nothing
  CHECK(buffer.view() == "firstthird");
  buffer.erase(5, 10); // the tail
  CHECK(buffer.view() == "first");
}

TEST_CASE("CopyBuffer: growth keeps the content", "[encode][copy]") {
  CopyBuffer buffer;
  std::string expected;
  for (int i = 0; i < 50000; ++i) {
    buffer.put_int32(i);
    expected += bytes({0, 0, 0, 4, (i >> 24) & 0xFF, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF});
  }
  CHECK(buffer.size() == 400000);
  CHECK(buffer.capacity() >= 400000);
  CHECK(buffer.view() == expected);
  const std::size_t capacity = buffer.capacity();
  buffer.clear();
  buffer.put_bytes(std::string(1000, 'x'));
  CHECK(buffer.capacity() == capacity);
  CopyBuffer moved = std::move(buffer);
  CHECK(moved.size() == 1004);
  CHECK(moved.capacity() == capacity);
}

TEST_CASE("CopyBuffer: a moved-from buffer is empty and usable", "[encode][copy]") {
  CopyBuffer source;
  source.put_bytes("abc");
  CopyBuffer target;
  target.put_bool(true);
  target = std::move(source);
  CHECK(target.view() == bytes({0, 0, 0, 3, 'a', 'b', 'c'}));
  CHECK(source.size() == 0);     // NOLINT(bugprone-use-after-move): the documented state
  CHECK(source.capacity() == 0); // NOLINT(bugprone-use-after-move)
  source.put_int16(7);
  CHECK(source.view() == bytes({0, 0, 0, 2, 0, 7}));
}

TEST_CASE("CopyBuffer: clear() gives back the memory of a huge record", "[encode][copy]") {
  CopyBuffer buffer;
  buffer.put_bytes(std::string(CopyBuffer::kMaxKeptCapacity, 'x'));
  CHECK(buffer.capacity() > CopyBuffer::kMaxKeptCapacity);
  CHECK(buffer.view().substr(buffer.size() - 3) == "xxx");
  buffer.clear();
  CHECK(buffer.empty());
  CHECK(buffer.capacity() == 0);
  buffer.put_bytes("ab");
  CHECK(buffer.view() == bytes({0, 0, 0, 2, 'a', 'b'}));
}
