// libFuzzer target: the input bytes are a config.json file. Anything but a valid config must end
// in a pgdest::Error (a ConfigError naming the field), never in another exception or a crash.
#include <cstdint>

#include "memory_file.hpp"
#include "pgdest/config/config_reader.hpp"
#include "pgdest/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static pgdest::fuzz::MemoryFile input;
  input.assign(data, size);
  try {
    auto config = pgdest::config::load_config_file(input.path());
    (void)config;
  } catch (const pgdest::Error&) {
  }
  return 0;
}
