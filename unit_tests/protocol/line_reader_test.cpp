// LineReader: lines of any length read whole, with simdjson's padding readable after each.
#include "pgdest/protocol/line_reader.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <cstdio>
#include <string>
#include <vector>

using pgdest::protocol::Line;
using pgdest::protocol::LineReader;
using pgdest::protocol::ReadResult;

namespace {

// Every line of `input`, read from a file with a `chunk`-byte buffer.
std::vector<std::string> read_lines(const std::string& input, std::size_t chunk) {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  REQUIRE(std::fwrite(input.data(), 1, input.size(), file) == input.size());
  REQUIRE(std::fflush(file) == 0);
  std::rewind(file);
  LineReader reader(fileno(file), chunk);
  std::vector<std::string> lines;
  Line line;
  for (;;) {
    ReadResult result = reader.next(line, std::chrono::milliseconds(1000));
    if (result == ReadResult::end_of_input)
      break;
    if (result == ReadResult::idle)
      continue;
    CHECK(line.capacity >= line.text.size() + simdjson::SIMDJSON_PADDING);
    lines.emplace_back(line.text);
  }
  std::fclose(file);
  return lines;
}

} // namespace

TEST_CASE("a huge line grows the buffer, which shrinks again for the lines after it", "[reader]") {
  // Lines of 100 000 bytes through a 64-byte buffer: the buffer grows in place many times, then
  // gives its memory back, and does the same again for the second huge line.
  const std::string huge(100000, 'h');
  const std::string other(99999, 'o');
  const std::vector<std::string> expected = {"a", huge, "b", "cc", other, "", "d"};
  std::string input;
  for (const auto& line : expected)
    input += line + "\n";
  CHECK(read_lines(input, 64) == expected);
  input.pop_back(); // the last line without its newline
  CHECK(read_lines(input, 64) == expected);
}
