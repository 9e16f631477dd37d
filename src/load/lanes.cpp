// How many lanes a sync loads through, and opening their connections.
#include "pgdest/load/lanes.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "pgdest/postgres/error_classifier.hpp"
#include "pgdest/postgres/pooler.hpp"

namespace pgdest::load {
namespace {

// Server backends one encoding thread keeps busy. Measured for typed rows: this process spends
// about 1.7 s of CPU per million records, a backend about 3.5 s storing them (append) and 7 s with
// the dedup DELETEs; so about two backends keep up with it for append, four for dedup. Raw
// tables are like dedup: the server parses each record's JSON into jsonb, this process only
// copies the text. One lane more than the ratio covers the time a backend spends committing.
constexpr std::size_t kAppendLanes = 3;
constexpr std::size_t kServerHeavyLanes = 4;

// How long a lane's connection may wait for a transaction of its own while the lanes before it
// hold theirs, before the sync does without it.
constexpr std::chrono::seconds kLaneWait{5};

bool server_heavy(const catalog::StreamPlan& plan) {
  return plan.mode == catalog::DestinationSyncMode::append_dedup ||
         plan.layout == schema::TableLayout::raw;
}

// Keeps the connections that can each hold a transaction while the ones before them hold theirs.
void keep_concurrent(std::vector<std::unique_ptr<postgres::Connection>>& connections,
                     std::vector<std::string>& pooler_signs) {
  std::vector<postgres::Connection*> probed;
  for (auto& connection : connections)
    probed.push_back(connection.get());
  const std::size_t opened = connections.size();
  try {
    const auto probe = postgres::probe_concurrent_transactions(probed, kLaneWait);
    if (probe.shared_server_process)
      pooler_signs.push_back("two of its connections were served by one server process");
    if (probe.concurrent < opened) {
      spdlog::info("Only {} of {} connections could each hold a transaction at the same time "
                   "(a pooler with a smaller pool, or one busy with other clients): this sync "
                   "loads through {}.",
                   probe.concurrent, opened, probe.concurrent);
      connections.resize(probe.concurrent);
    }
  } catch (const Error& error) {
    // A connection that failed here is replaced by its lane, as after any failure.
    spdlog::warn("Could not see how many connections can hold a transaction at once ({}); "
                 "loading through {}.",
                 error.what(), opened);
  }
}

// One more connection, or none when the server refuses it for want of a slot: that is an answer,
// not a failure to retry, since waiting for a slot would only delay the lanes already open.
std::unique_ptr<postgres::Connection>
connect_if_slot(const CopyPipeline::ConnectionFactory& connect, std::size_t opened,
                std::size_t wanted) {
  try {
    return connect();
  } catch (const Error& error) {
    if (!postgres::is_out_of_connection_slots(error))
      throw;
    spdlog::warn("The server refused connection {} of {}, so this sync loads through {}: {}",
                 opened + 1, wanted, opened, error.what());
    return nullptr;
  }
}

} // namespace

std::size_t lanes_for_catalog(const std::vector<catalog::StreamPlan>& plans,
                              std::size_t max_connections) {
  if (plans.empty())
    return 1;
  const bool any_server_heavy = std::any_of(plans.begin(), plans.end(), server_heavy);
  const std::size_t useful = any_server_heavy ? kServerHeavyLanes : kAppendLanes;
  return std::max<std::size_t>(1, std::min(useful, max_connections));
}

std::vector<std::unique_ptr<postgres::Connection>>
open_lane_connections(std::unique_ptr<postgres::Connection> first, std::size_t wanted,
                      const CopyPipeline::ConnectionFactory& connect, const RetryPolicy& retry,
                      std::uint64_t jitter_seed, std::vector<std::string> pooler_signs) {
  std::vector<std::unique_ptr<postgres::Connection>> connections;
  connections.push_back(std::move(first));
  while (connections.size() < wanted) {
    const std::size_t opened = connections.size();
    auto connection = retry_transient(retry, jitter_seed + opened,
                                      [&] { return connect_if_slot(connect, opened, wanted); });
    if (!connection)
      break;
    connections.push_back(std::move(connection));
  }
  if (connections.size() > 1)
    keep_concurrent(connections, pooler_signs);
  if (!pooler_signs.empty()) {
    std::string signs;
    for (const auto& sign : pooler_signs)
      signs += (signs.empty() ? "" : "; ") + sign;
    spdlog::info("The server seems to be reached through a pooler ({}). Every setting and helper "
                 "table of the load lives inside one transaction, so it runs as it would on a "
                 "direct connection; it holds {} of the pool's server connections while it loads.",
                 signs, connections.size());
  }
  return connections;
}

} // namespace pgdest::load
