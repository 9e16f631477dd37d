// LineReader: lines of any length read whole, with simdjson's padding readable after each.
#include "pgdest/protocol/line_reader.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

using pgdest::protocol::Line;
using pgdest::protocol::LineReader;
using pgdest::protocol::ReadResult;

namespace {

// Every line of `input`, read through a pipe with a `chunk`-byte buffer.
std::vector<std::string> read_lines(const std::string& input, std::size_t chunk) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::thread writer([&] {
    std::size_t done = 0;
    while (done < input.size()) {
      ssize_t n = write(fds[1], input.data() + done, input.size() - done);
      if (n <= 0)
        break;
      done += static_cast<std::size_t>(n);
    }
    close(fds[1]);
  });
  LineReader reader(fds[0], chunk);
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
  writer.join();
  close(fds[0]);
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
