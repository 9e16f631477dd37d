// Catch2 entry point of the integration tests (they need a running server: see scripts/pg-sandbox).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
