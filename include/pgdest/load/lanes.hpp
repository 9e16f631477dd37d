#pragma once
// How many connections (lanes) a sync loads through, and opening them: as many as its streams can
// keep busy and max_connections allows, then only as many as the server grants and as can each
// hold a transaction at the same time.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pgdest/catalog/stream_plan.hpp"
#include "pgdest/load/copy_pipeline.hpp"
#include "pgdest/load/retry_policy.hpp"
#include "pgdest/postgres/connection.hpp"

namespace pgdest::load {

// Lanes the catalog's streams can keep busy, at most `max_connections`: none but the first for an
// empty catalog; otherwise as many server backends as this process's one encoding thread feeds.
std::size_t lanes_for_catalog(const std::vector<catalog::StreamPlan>& plans,
                              std::size_t max_connections);

// Opens connections until there are `wanted`, the first being `first`. A connection the server
// refuses for want of a slot (too many clients, the role's CONNECTION LIMIT) ends the opening:
// the sync goes on with the lanes it has, and says so. Then keeps as many as can hold a
// transaction at the same time: behind a pooler with a smaller pool, a lane waiting for a server
// connection would wait for another lane's commit, which waits for it in turn. Logs what it sees
// of a pooler (`pooler_signs`, and what the probe adds) and what it does about it. Any other
// failure to connect is retried as `retry` says, then thrown.
std::vector<std::unique_ptr<postgres::Connection>>
open_lane_connections(std::unique_ptr<postgres::Connection> first, std::size_t wanted,
                      const CopyPipeline::ConnectionFactory& connect, const RetryPolicy& retry,
                      std::uint64_t jitter_seed, std::vector<std::string> pooler_signs);

} // namespace pgdest::load
