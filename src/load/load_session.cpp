// The load session: connections, tables, loaders, lanes; buffering, commit fan-out, finishing.
#include "pgdest/load/load_session.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pgdest/load/dedup_loader.hpp"
#include "pgdest/load/lanes.hpp"
#include "pgdest/load/rejected_values.hpp"
#include "pgdest/load/table_preparer.hpp"
#include "pgdest/postgres/connector.hpp"
#include "pgdest/postgres/pooler.hpp"

namespace pgdest::load {
namespace {

// Seeds the jitter of each lane's retries differently, so that lanes that failed together do not
// retry in lockstep.
constexpr std::uint64_t kJitterSeed = 0x9e3779b97f4a7c15u;

// history_mode does nothing for a stream that is not a typed append_dedup stream: one line says
// for which.
void warn_where_history_does_nothing(const config::DestinationConfig& config,
                                     const std::vector<catalog::StreamPlan>& plans) {
  if (!config.history_mode)
    return;
  if (config.raw_tables_only) {
    spdlog::warn("history_mode does nothing in raw tables mode (disable_type_dedupe): no stream "
                 "gets a history table.");
    return;
  }
  std::string without;
  for (const auto& plan : plans)
    if (plan.history_table.empty())
      without += fmt::format("{}{} ({})", without.empty() ? "" : ", ", plan.descriptor.display(),
                             catalog::to_wire(plan.mode));
  if (!without.empty())
    spdlog::warn("history_mode keeps the history of append_dedup streams only; it does nothing "
                 "for {}.",
                 without);
}

} // namespace

LoadSession::LoadSession(const config::DestinationConfig& config,
                         const std::vector<catalog::StreamPlan>& plans, LoadLimits limits)
    : limits_(limits) {
  for (const auto& warning : config.warnings)
    spdlog::warn("{}", warning);
  warn_where_history_does_nothing(config, plans);
  auto connector = std::make_shared<const postgres::Connector>(config);
  postgres::log_connection_settings(connector->options());
  // No session settings: each transaction sets its own (CopyPipeline), which also holds through a
  // transaction pooler. Runs on the lanes' threads too, when they reconnect: each call opens a
  // connection (through a tunnel of its own, with tunnel_method) and shares nothing else.
  CopyPipeline::ConnectionFactory connect = [connector]() -> std::unique_ptr<postgres::Connection> {
    return connector->connect();
  };
  connect_ = connect;
  const RetryPolicy retry;
  auto connection = retry_transient(retry, kJitterSeed, connect);

  bool any_empty_dedup_target = false;
  std::vector<StreamTables> tables;
  for (const auto& plan : plans) {
    tables.push_back(prepare_stream_tables(*connection, plan));
    if (plan.mode == catalog::DestinationSyncMode::append_dedup)
      any_empty_dedup_target = any_empty_dedup_target || !tables.back().load_target_had_rows;
  }
  choose_internal_schema(*connection, config, tables);
  std::optional<postgres::TableRef> rejected_values;
  if (config.keep_rejected_values && internal_schema_)
    rejected_values = prepare_rejected_values_table(*connection, internal_schema_->schema);
  open_sync_log(*connection, plans, tables);
  std::vector<std::string> pooler_signs;
  if (auto sign = postgres::pooler_address_sign(config.host, config.port))
    pooler_signs.push_back(*sign);
  // Every mode loads over several connections (lanes), each a server backend of its own: append
  // rows chunk by chunk to whichever lane has the least to do, dedup rows by key.
  const auto max_connections = static_cast<std::size_t>(config.max_connections);
  const std::size_t wanted = lanes_for_catalog(plans, max_connections);
  auto lane_connections = open_lane_connections(std::move(connection), wanted, connect, retry,
                                                kJitterSeed, std::move(pooler_signs));
  const std::size_t connections = lane_connections.size();
  spdlog::info("Loading through {} connection{} at once (the streams can use {}; "
               "max_connections: {}).",
               connections, connections == 1 ? "" : "s", wanted, max_connections);
  if (any_empty_dedup_target)
    seen_keys_ = std::make_unique<SeenKeys>();
  const DedupContext dedup{config.cdc_deletion_mode, connections, seen_keys_.get()};

  for (std::size_t i = 0; i < plans.size(); ++i) {
    const auto& plan = plans[i];
    Stream stream;
    stream.loader = make_stream_loader(plan, std::move(tables[i]), i, dedup, rejected_values);
    const auto& stream_tables = stream.loader->tables();
    if (plan.mode != plan.requested_mode)
      spdlog::warn("Stream {} asks for {}, which raw tables do not support (they have no key "
                   "columns): its records are appended, as Airbyte's connector does.",
                   plan.descriptor.display(), catalog::to_wire(plan.requested_mode));
    spdlog::info("Stream {} ({}{}) → {}{}", plan.descriptor.display(), catalog::to_wire(plan.mode),
                 stream_tables.staging ? ", replacing old rows when complete" : "",
                 stream_tables.final_table.quoted(),
                 stream_tables.staging ? " via " + stream_tables.staging->quoted() : "");
    if (const auto* dedup_loader = dynamic_cast<const DedupLoader*>(stream.loader.get()))
      spdlog::info("Stream {}: {}.", plan.descriptor.display(),
                   dedup_loader->looks_up_repeats_only()
                       ? "the table is empty, so only keys that repeat within this sync are "
                         "looked up"
                       : "every key is looked up in the table's key index at each commit");
    if (stream_tables.history)
      spdlog::info("Stream {}: every version of every key is kept in {}{}.",
                   plan.descriptor.display(), stream_tables.history->quoted(),
                   stream_tables.staging_history
                       ? ", started anew from " + stream_tables.staging_history->quoted() +
                             " when the refresh completes"
                       : "");
    // A stream's lanes share its chunk size, so that spreading it over connections costs no
    // memory.
    stream.chunk_bytes = limits_.stream_chunk_bytes / stream.loader->lane_count();
    for (std::size_t lane = 0; lane < connections; ++lane)
      stream.uncommitted.push_back({i, lane, 0, 0, 0});
    stream.buffered.resize(stream.loader->lane_count());
    streams_.push_back(std::move(stream));
  }

  PipelineOptions pipeline_options;
  pipeline_options.max_queued_bytes = limits_.queued_bytes_limit / connections;
  std::vector<std::unique_ptr<CopyPipeline>> pipelines;
  for (std::size_t lane = 0; lane < connections; ++lane) {
    pipeline_options.jitter_seed = kJitterSeed + lane;
    pipelines.push_back(std::make_unique<CopyPipeline>(std::move(lane_connections[lane]), connect,
                                                       pipeline_options));
  }
  lanes_ = std::make_unique<LaneSet>(std::move(pipelines));
  // Every lane can take every stream's rows.
  for (auto& stream : streams_) {
    const auto targets = stream.loader->copy_targets();
    stream.targets.resize(connections);
    for (std::size_t lane = 0; lane < connections; ++lane)
      for (const auto& target : targets)
        stream.targets[lane].push_back(
            (*lanes_)[lane].add_target(target.copy_sql, target.description, target.prepare_sql));
  }
}

void LoadSession::choose_internal_schema(postgres::Connection& connection,
                                         const config::DestinationConfig& config,
                                         const std::vector<StreamTables>& tables) {
  std::vector<postgres::Identifier> stream_schemas;
  for (const auto& stream_tables : tables)
    stream_schemas.push_back(stream_tables.final_table.schema);
  const auto candidates = postgres::internal_schema_candidates(config, stream_schemas);
  try {
    internal_schema_ = postgres::choose_internal_schema(connection, candidates);
  } catch (const Error& error) {
    // Never a reason to fail a sync that would run without the connector's own tables.
    spdlog::warn("Could not settle where the connector's own tables go ({}).", error.what());
  }
  postgres::log_internal_schema(internal_schema_, candidates);
}

void LoadSession::open_sync_log(postgres::Connection& connection,
                                const std::vector<catalog::StreamPlan>& plans,
                                const std::vector<StreamTables>& tables) {
  ledger_ = std::make_unique<CommitLedger>(plans.size());
  if (!internal_schema_)
    return; // log_internal_schema has said that there is no log
  std::vector<postgres::sql::SyncLogStream> streams;
  std::vector<postgres::TableRef> stream_tables;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    const auto& plan = plans[i];
    streams.push_back({plan.descriptor.stream_namespace, plan.descriptor.name, plan.sync_id,
                       plan.generation_id, tables[i].load_target()});
    stream_tables.push_back(tables[i].final_table);
    if (tables[i].staging)
      stream_tables.push_back(*tables[i].staging);
  }
  sync_log_ =
      SyncLog::open(connection, internal_schema_->schema, std::move(streams), stream_tables);
}

LoadSession::~LoadSession() {
  if (lanes_)
    lanes_->abandon("the sync stopped before this batch was committed");
}

void LoadSession::add_record(std::size_t index, const encode::RecordEnvelope& envelope) {
  Stream& stream = streams_[index];
  const auto added = stream.loader->add_record(envelope);
  Buffered& buffered = stream.buffered[added.lane];
  ++buffered.records;
  // A withdrawn row was buffered with these: the sums never go below zero.
  buffered.rows = buffered.rows + 1 - (added.withdrawn_bytes > 0 ? 1 : 0);
  buffered.bytes = buffered.bytes + added.bytes - added.withdrawn_bytes;
  buffered_bytes_ = buffered_bytes_ + added.bytes - added.withdrawn_bytes;
  encoded_bytes_ += added.bytes;
  for (std::size_t target = 0; target < stream.targets[added.lane].size(); ++target)
    if ((added.grown_targets >> target & 1u) != 0 &&
        stream.loader->buffer(added.lane, target).size() >= stream.chunk_bytes) {
      send(stream, added.lane);
      break;
    }
  if (buffered_bytes_ >= limits_.buffered_bytes_limit)
    send_largest();
}

void LoadSession::send(Stream& stream, std::size_t buffer_lane) {
  Buffered& buffered = stream.buffered[buffer_lane];
  if (buffered.records == 0)
    return;
  // Every target's rows of these records go to one lane, so that a record's row, keys and
  // rejected values commit together, and the sync log's part of that lane counts them.
  const std::size_t lane = stream.loader->rows_follow_keys() ? buffer_lane : lanes_->least_loaded();
  auto& pipeline = (*lanes_)[lane];
  for (std::size_t target = 0; target < stream.targets[lane].size(); ++target) {
    auto& rows = stream.loader->buffer(buffer_lane, target);
    if (rows.empty())
      continue;
    const std::size_t bytes = rows.size();
    buffered_bytes_ -= bytes;
    uncommitted_bytes_ += bytes;
    pipeline.send(stream.targets[lane][target], std::exchange(rows, pipeline.take_buffer()));
  }
  CommitPart& part = stream.uncommitted[lane];
  part.records += buffered.records;
  part.rows += buffered.rows;
  part.bytes += buffered.bytes;
  buffered = {};
}

void LoadSession::send_largest() {
  Stream* largest = nullptr;
  std::size_t largest_lane = 0;
  std::size_t largest_bytes = 0;
  for (auto& stream : streams_)
    for (std::size_t lane = 0; lane < stream.buffered.size(); ++lane)
      if (stream.buffered[lane].bytes > largest_bytes) {
        largest = &stream;
        largest_lane = lane;
        largest_bytes = stream.buffered[lane].bytes;
      }
  if (largest)
    send(*largest, largest_lane);
}

void LoadSession::send_all() {
  for (auto& stream : streams_)
    for (std::size_t lane = 0; lane < stream.buffered.size(); ++lane)
      send(stream, lane);
}

void LoadSession::commit(std::uint64_t records, const std::vector<std::uint64_t>& stream_states,
                         std::uint64_t global_states) {
  send_all();
  if (records == commit_requested_)
    return;
  commit_requested_ = records;
  ++commits_;
  const auto parts = take_commit_parts(stream_states, global_states);
  lanes_->commit(records, commit_statements(parts));
  ledger_->add(records, parts);
  ledger_->settle([this](std::size_t lane) { return (*lanes_)[lane].committed_records(); });
  uncommitted_bytes_ = 0;
}

std::vector<CommitPart>
LoadSession::take_commit_parts(const std::vector<std::uint64_t>& stream_states,
                               std::uint64_t global_states) {
  std::vector<CommitPart> parts;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    const std::size_t first = parts.size();
    for (auto& uncommitted : streams_[i].uncommitted) {
      const CommitPart part = std::exchange(uncommitted, {i, uncommitted.lane, 0, 0, 0});
      if (part.records > 0)
        parts.push_back(part);
    }
    // A stream's states go on its first part. A stream with a STREAM state and no rows gets a
    // part of its own on the first lane, so that the log shows when its state became safe; a
    // stream without rows gets none for a GLOBAL state alone (a row per idle stream per commit).
    const std::uint64_t own_states = i < stream_states.size() ? stream_states[i] : 0;
    if (parts.size() == first && own_states > 0)
      parts.push_back({i, 0, 0, 0, 0});
    if (parts.size() > first)
      parts[first].states = own_states + global_states;
  }
  return parts;
}

std::vector<std::vector<std::string>>
LoadSession::commit_statements(const std::vector<CommitPart>& parts) {
  std::vector<std::vector<std::string>> statements(lanes_->size());
  std::vector<std::vector<CommitPart>> log_rows(lanes_->size()); // parts logged on their own
  for (std::size_t i = 0; i < streams_.size(); ++i)
    for (std::size_t lane = 0; lane < streams_[i].targets.size(); ++lane) {
      auto part = std::find_if(parts.begin(), parts.end(), [&](const CommitPart& candidate) {
        return candidate.stream == i && candidate.lane == lane;
      });
      LogInsert log;
      if (sync_log_ && part != parts.end())
        log = [&](std::string_view rows_deleted) {
          return sync_log_->insert(commits_, parts.size(), {*part}, rows_deleted);
        };
      auto work = streams_[i].loader->commit_statements(lane, log);
      for (auto& statement : work.statements)
        statements[lane].push_back(std::move(statement));
      if (log && !work.logged)
        log_rows[lane].push_back(*part);
    }
  // The parts that deleted nothing go in one INSERT per lane: one round trip, however many
  // streams.
  for (std::size_t lane = 0; lane < log_rows.size(); ++lane)
    if (!log_rows[lane].empty())
      statements[lane].push_back(sync_log_->insert(commits_, parts.size(), log_rows[lane]));
  return statements;
}

void LoadSession::finish_streams(const std::vector<bool>& complete) {
  drain();
  // Statistics and completions run on the first lane, after every lane has drained.
  auto& first = lanes_->first();
  for (const auto& stream : streams_) {
    auto statement = stream.loader->statistics_statement();
    if (!statement)
      continue;
    const std::string context =
        "updating statistics of " + stream.loader->tables().load_target().quoted();
    first.run([&](postgres::Connection& connection) {
      try {
        connection.execute(*statement, context);
      } catch (const Error& error) {
        spdlog::warn("{} (the sync goes on).", error.what());
      }
    });
  }
  std::vector<std::optional<StreamClosing>> ended(streams_.size());
  std::vector<std::string> closing_rows;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    const StreamTables& tables = streams_[i].loader->tables();
    std::string note;
    if (!complete[i])
      note = tables.staging
                 ? "no COMPLETE status: not swapped, the rows wait in " + tables.staging->quoted()
                 : "no COMPLETE status";
    StreamClosing& closing =
        *(ended[i] = StreamClosing{
              complete[i] ? "complete" : "incomplete", note, tables.load_target(), {}});
    auto completion = complete[i] ? streams_[i].loader->completion() : std::nullopt;
    if (!completion) {
      if (sync_log_)
        closing_rows.push_back(sync_log_->close(i, closing.table, closing.status, closing.note));
      continue;
    }
    const auto stream = streams_[i].loader->plan().descriptor.display();
    spdlog::info("Stream {} is complete: {}.", stream, completion->description);
    closing.table = tables.final_table;
    closing.note = completion->description;
    // In the swap's own transaction: the log says "complete" exactly when it happened.
    std::vector<std::string> with_completion;
    if (sync_log_)
      with_completion.push_back(sync_log_->close(i, closing.table, closing.status, closing.note));
    std::string outcome;
    // Like a batch, it survives a lost connection: run again unless its COMMIT had landed.
    first.run_transaction([&](postgres::Connection& connection) {
      outcome = completion->run(connection, with_completion);
    });
    spdlog::info("Stream {}: {}.", stream, outcome);
  }
  if (!closing_rows.empty())
    first.commit(commit_requested_, std::move(closing_rows));
  drain();
  closed_ = true;
  log_closings(std::move(ended), [&] {
    std::vector<std::optional<StreamClosing>> closings;
    first.run([&](postgres::Connection& connection) {
      try {
        closings = sync_log_->read_closings(connection);
      } catch (const Error& error) {
        spdlog::warn("{} (the sync goes on).", error.what());
      }
    });
    return closings;
  });
}

void LoadSession::close_after_failure(std::string_view reason) noexcept {
  if (closed_)
    return;
  closed_ = true;
  try {
    // The reason is the sync's error message, which never holds a record's value.
    constexpr std::size_t kNoteLimit = 500;
    std::string note = "the sync failed: " + std::string(reason.substr(0, kNoteLimit));
    std::vector<std::optional<StreamClosing>> ended(streams_.size());
    for (std::size_t i = 0; i < streams_.size(); ++i)
      ended[i] = StreamClosing{"failed", note, streams_[i].loader->tables().load_target(), {}};
    log_closings(std::move(ended), [&] {
      // The lanes' connections are abandoned: a new one, which must not keep the failing sync
      // waiting long.
      std::vector<std::optional<StreamClosing>> closings;
      try {
        auto connection = connect_();
        connection->execute(postgres::begin_transaction() +
                                "; SET LOCAL statement_timeout = '10s'; SET LOCAL "
                                "lock_timeout = '5s'",
                            "closing the sync log");
        for (std::size_t i = 0; i < streams_.size(); ++i)
          connection->execute(
              sync_log_->close(i, streams_[i].loader->tables().load_target(), "failed", note),
              "closing the sync log");
        closings = sync_log_->read_closings(*connection);
        connection->execute("COMMIT", "closing the sync log");
      } catch (const std::exception& error) {
        spdlog::warn("Could not write the sync log's closing rows after the failure: {}",
                     error.what());
        closings.clear();
      }
      return closings;
    });
  } catch (const std::exception& error) {
    spdlog::warn("Could not sum up what the failed sync committed: {}", error.what());
  }
}

void LoadSession::log_closings(
    std::vector<std::optional<StreamClosing>> ended,
    const std::function<std::vector<std::optional<StreamClosing>>()>& read_log) {
  std::vector<std::string> names;
  for (const auto& stream : streams_)
    names.push_back(stream.loader->plan().descriptor.display());
  if (sync_log_) {
    auto closings = read_log();
    if (!closings.empty()) {
      spdlog::info("{}", describe_closings(names, closings,
                                           "sync log " + sync_log_->table().quoted() +
                                               ", run_id '" + sync_log_->run_id() + "'"));
      return;
    }
  }
  ledger_->settle([this](std::size_t lane) { return (*lanes_)[lane].committed_records(); });
  for (std::size_t i = 0; i < ended.size(); ++i)
    if (ended[i])
      ended[i]->totals = ledger_->totals()[i];
  spdlog::info("{}", describe_closings(names, ended,
                                       sync_log_ ? "the sync log could not be read"
                                                 : "no sync log; deleted rows not counted"));
}

} // namespace pgdest::load
