// destination-postgres: an Airbyte destination for PostgreSQL.
#include <malloc.h>

#include "pgdest/cli/app.hpp"

int main(int argc, char** argv) {
  // Row buffers are megabytes each and move between threads: keep them in their own mappings, so
  // freed ones go back to the system instead of fragmenting the heap and growing the process.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  return pgdest::cli::run(argc, argv);
}
