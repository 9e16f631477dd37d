// libFuzzer target: the input bytes are a configured catalog file. Anything but a valid catalog
// must end in a pgdest::Error, never in another exception or a crash.
#include <cstdint>

#include "memory_file.hpp"
#include "pgdest/catalog/catalog_reader.hpp"
#include "pgdest/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static pgdest::fuzz::MemoryFile input;
  input.assign(data, size);
  try {
    auto plans = pgdest::catalog::load_catalog_file(input.path(), {"public"});
    (void)plans;
  } catch (const pgdest::Error&) {
  }
  return 0;
}
