// SQLSTATE → failure kind (the write path's retry decision rests on it).
#include <catch2/catch.hpp>

#include "pgdest/postgres/pg_connection.hpp"

using pgdest::FailureType;
using pgdest::postgres::failure_type_for_sqlstate;

TEST_CASE("connection loss, shutdowns, resources, deadlocks and serialization failures are transient", "[sqlstate]") {
  for (const char* state : {"08006", "08003", "57P01", "57P03", "53300", "53200", "40001", "40P01"})
    CHECK(failure_type_for_sqlstate(state) == FailureType::transient_error);
}

TEST_CASE("authentication, missing database and permissions are config errors", "[sqlstate]") {
  for (const char* state : {"28P01", "28000", "3D000", "42501", "3F000"})
    CHECK(failure_type_for_sqlstate(state) == FailureType::config_error);
}

TEST_CASE("anything else is a system error", "[sqlstate]") {
  for (const char* state : {"22P02", "42P01", "XX000", "", "0800"})
    CHECK(failure_type_for_sqlstate(state) == FailureType::system_error);
}
