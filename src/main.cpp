// destination-postgres: an Airbyte destination for PostgreSQL.
#include "pgdest/cli/app.hpp"

int main(int argc, char** argv) { return pgdest::cli::run(argc, argv); }
