#pragma once
// Signs that the connector reaches PostgreSQL through a pooler (PgBouncer, Supabase's Supavisor,
// Neon's pooler); in transaction mode each transaction may run on another server connection. For
// the log only: the connector keeps everything it relies on inside its transactions, so it works
// through one as it does directly, and a sign is never a reason to fail.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "pgdest/postgres/connection.hpp"

namespace pgdest::postgres {

// What the server's address says, e.g. "port 6543 is where Supabase's transaction pooler
// listens", or nothing.
std::optional<std::string> pooler_address_sign(const std::string& host, int port);

struct ConcurrencyProbe {
  // How many of the connections, in order, held a transaction open at the same time.
  std::size_t concurrent = 0;
  // Two of them ran their statements in one server process, one after the other: only a pooler
  // does that.
  bool shared_server_process = false;
};

// Asks each connection for its server process; then opens a transaction on each in turn, keeping
// the earlier ones open, until one gets no answer within `wait` (behind a pooler whose pool is
// smaller, it would wait for another connection's transaction to end, which may never come while
// the sync waits for it in turn); then rolls back. The first connection waits as long as any
// statement does; the one that gave up waiting is closed, and those after it are not tried.
// Throws what a statement throws, with no transaction of its own left open.
ConcurrencyProbe probe_concurrent_transactions(const std::vector<Connection*>& connections,
                                               std::chrono::milliseconds wait);

} // namespace pgdest::postgres
