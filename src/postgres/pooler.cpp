// Signs of a transaction pooler in the server's address and in how connections are served.
#include "pgdest/postgres/pooler.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "pgdest/error.hpp"

namespace pgdest::postgres {
namespace {

void roll_back_quietly(Connection& connection) noexcept {
  try {
    if (connection.healthy())
      connection.execute("ROLLBACK", "ending the transaction that counted connections");
  } catch (const Error&) { // the connection's next statement will meet the same trouble
  }
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

std::optional<std::string> pooler_address_sign(const std::string& host, int port) {
  std::string name = host;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // Supabase's shared pooler serves transaction mode on 6543 (so does its dedicated PgBouncer)
  // and session mode, a server connection per client, on 5432.
  if (port == 6543)
    return std::string("port 6543 is where Supabase's transaction pooler listens");
  if (name.find("-pooler.") != std::string::npos)
    return std::string("a \"-pooler\" host name is Neon's pooler, which works in transaction mode");
  if (port == 6432)
    return std::string("port 6432 is PgBouncer's usual port");
  if (ends_with(name, ".pooler.supabase.com"))
    return "a pooler.supabase.com host is Supabase's pooler (in session mode on port " +
           std::to_string(port) + ")";
  return std::nullopt;
}

ConcurrencyProbe probe_concurrent_transactions(const std::vector<Connection*>& connections,
                                               std::chrono::milliseconds wait) {
  ConcurrencyProbe probe;
  std::set<std::string> processes;
  for (Connection* connection : connections) {
    auto rows = connection->query("SELECT pg_backend_pid()::text", {},
                                  "asking which server process serves the connection");
    std::string process = rows.empty() || rows[0].empty() ? "" : rows[0][0].value_or("");
    if (!processes.insert(process).second)
      probe.shared_server_process = true;
  }
  if (connections.empty())
    return probe;
  const std::string_view context = "opening a transaction to see how many can be open at once";
  std::size_t open = 0;
  try {
    connections.front()->execute("BEGIN", context);
    open = 1;
    while (open < connections.size() && connections[open]->execute_within("BEGIN", wait, context))
      ++open;
  } catch (const Error&) {
    // No transaction of the probe may stay open on a connection that goes on to load.
    for (std::size_t i = 0; i < open; ++i)
      roll_back_quietly(*connections[i]);
    throw;
  }
  probe.concurrent = open;
  for (std::size_t i = 0; i < open; ++i)
    connections[i]->execute("ROLLBACK", "ending the transaction that counted connections");
  return probe;
}

} // namespace pgdest::postgres
