// Catch2 entry point of the unit tests.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <spdlog/spdlog.h>

int main(int argc, char* argv[]) {
  // spdlog makes its registry (and default logger) on first use, inside its shared library, which
  // ThreadSanitizer cannot see into: made first by two pipeline threads at once, it is reported as
  // a race. The connector makes it on its main thread before any other starts (its log sink); so
  // do the tests.
  spdlog::default_logger();
  return Catch::Session().run(argc, argv);
}
