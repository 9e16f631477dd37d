// The write run: set-up → stream records into COPY → commit in batches → release states → finish.
#include "pgdest/write/write_run.hpp"

#include <unistd.h>

#include <algorithm>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pgdest/load/table_preparer.hpp"
#include "pgdest/postgres/connection_options.hpp"

namespace pgdest::write {
namespace {

using Clock = std::chrono::steady_clock;

double mib(std::uint64_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

} // namespace

WriteRun::WriteRun(const config::DestinationConfig& config, std::vector<catalog::StreamPlan> plans,
                   protocol::MessageWriter& out, FlushPolicy policy)
    : config_(config), plans_(std::move(plans)), out_(out), policy_(policy), streams_(plans_),
      tracker_(plans_.size()) {}

WriteRun::~WriteRun() = default;

long WriteRun::stream_index(const protocol::StreamDescriptor& stream) const {
  auto found = streams_.find(stream.stream_namespace, stream.name);
  return found ? static_cast<long>(*found) : -1;
}

void WriteRun::set_up() {
  for (const auto& warning : config_.warnings)
    spdlog::warn("{}", warning);
  auto options = std::make_shared<postgres::ConnectionOptions>(config_);
  for (const auto& warning : options->warnings())
    spdlog::warn("{}", warning);
  auto connect = [options] {
    auto connection = std::make_unique<postgres::PgConnection>(options->conninfo_with_password(),
                                                               options->endpoint());
    // Conversions between dates, timestamps and text must not depend on the server's time zone.
    // Dedup keys are sorted in memory rather than spilled to disk. JIT compiling would cost more
    // than the short statements it could speed up.
    connection->execute(
        "SET TIME ZONE 'UTC'; SET work_mem = '128MB'; SET temp_buffers = '128MB'; SET jit = off",
        "setting up the session");
    return connection;
  };
  auto connection = connect_with_retry(connect);
  bool any_dedup = false;
  for (const auto& plan : plans_)
    any_dedup = any_dedup || plan.mode == catalog::DestinationSyncMode::append_dedup;
  // Dedup streams are spread over more than one connection: their DELETEs keep a server backend
  // busy as long as their COPY does, and the rows of one key always take the same connection.
  const std::size_t connections = any_dedup ? kDedupConnections : 1;
  std::vector<std::string> transaction_setup;
  for (std::size_t i = 0; i < plans_.size(); ++i) {
    const auto& plan = plans_[i];
    auto loader =
        std::make_unique<load::StreamLoader>(plan, load::prepare_stream_tables(*connection, plan));
    spdlog::info("Stream {} ({}{}) → {}{}", plan.descriptor.display(), catalog::to_wire(plan.mode),
                 plan.replaces_rows() ? ", replacing old rows when complete" : "",
                 loader->tables.final_table.quoted(),
                 loader->tables.staging ? " via " + loader->tables.staging->quoted() : "");
    if (plan.mode == catalog::DestinationSyncMode::append_dedup) {
      loader->lanes.resize(connections);
      set_up_dedup(*loader, i);
      const auto& dedup = *loader->dedup;
      transaction_setup.push_back(
          postgres::sql::create_keys_table(dedup.keys, dedup.target, dedup.key));
    }
    loaders_.push_back(std::move(loader));
  }
  load::PipelineLimits limits;
  limits.max_queued_bytes /= connections;
  pipelines_.push_back(
      std::make_unique<load::CopyPipeline>(std::move(connection), connect, limits));
  while (pipelines_.size() < connections)
    pipelines_.push_back(
        std::make_unique<load::CopyPipeline>(connect_with_retry(connect), connect, limits));
  for (auto& pipeline : pipelines_)
    pipeline->set_transaction_setup(transaction_setup);
  for (std::size_t i = 0; i < loaders_.size(); ++i) {
    auto& loader = *loaders_[i];
    const auto& target = loader.tables.load_target();
    for (std::size_t lane = 0; lane < loader.lanes.size(); ++lane) {
      auto& pipeline = *pipelines_[lane];
      loader.lanes[lane].target = pipeline.add_target(
          postgres::sql::copy_binary_from_stdin(target, loader.encoder.copy_columns()),
          target.quoted());
      if (loader.dedup)
        loader.lanes[lane].keys_target = pipeline.add_target(
            postgres::sql::copy_binary_from_stdin(
                {postgres::Identifier("pg_temp"), loader.dedup->keys}, loader.dedup->key),
            "the dedup keys of " + target.quoted());
    }
  }
}

void WriteRun::set_up_dedup(load::StreamLoader& loader, std::size_t stream) {
  // Every row goes straight into the target; the commit's DELETE removes superseded rows of the
  // keys queued in DedupKeys. In a table that was empty, only keys that repeat within the sync
  // can have superseded rows.
  const auto& plan = *loader.plan;
  const auto& columns = loader.tables.columns;
  postgres::sql::DedupSpec dedup{loader.tables.load_target(),
                                 postgres::Identifier("_airbyte_keys_" + std::to_string(stream)),
                                 {},
                                 {},
                                 {}};
  std::vector<std::size_t> key_columns;
  bool comparable_bytes = true;
  for (const auto& part : plan.primary_key) {
    auto column = *schema::find_column(columns, part); // prepare_stream_tables checked it is there
    key_columns.push_back(column);
    dedup.key.push_back(columns[column].name);
    comparable_bytes = comparable_bytes && load::bytes_decide_equality(columns[column].type);
  }
  if (!plan.cursor.empty()) {
    if (auto column = schema::find_column(columns, plan.cursor.front()))
      dedup.cursor = columns[*column].name;
    else
      spdlog::warn("Stream {}: cursor field \"{}\" is not in the schema; rows are ordered by "
                   "extraction time only.",
                   plan.descriptor.display(), plan.cursor.front());
  }
  std::optional<std::size_t> deleted_at;
  if (config_.cdc_deletion_mode == config::CdcDeletionMode::hard_delete)
    deleted_at = schema::find_column(columns, "_ab_cdc_deleted_at");
  if (deleted_at)
    dedup.deleted_at = columns[*deleted_at].name;
  load::SeenKeys* seen = nullptr;
  if (!loader.tables.load_target_had_rows && comparable_bytes) {
    if (!seen_keys_)
      seen_keys_ = std::make_unique<load::SeenKeys>();
    seen = seen_keys_.get();
  }
  spdlog::info("Stream {}: {}.", plan.descriptor.display(),
               seen ? "the table is empty, so only keys that repeat within this sync are looked up"
                    : "every key is looked up in the table's key index at each commit");
  loader.dedup_keys.emplace(std::move(key_columns), deleted_at, seen, stream, loader.lanes.size());
  loader.dedup_sql = postgres::sql::delete_superseded(dedup);
  loader.dedup = std::move(dedup);
}

std::unique_ptr<postgres::PgConnection> WriteRun::connect_with_retry(
    const std::function<std::unique_ptr<postgres::PgConnection>()>& connect) {
  for (int attempt = 1;; ++attempt) {
    try {
      return connect();
    } catch (const Error& error) {
      if (error.failure_type() != FailureType::transient_error || attempt >= 4)
        throw;
      spdlog::warn("{} Trying again in {} s.", error.what(), attempt * 2);
      std::this_thread::sleep_for(std::chrono::seconds(attempt * 2));
    }
  }
}

void WriteRun::run(int input_fd) {
  started_ = Clock::now();
  last_progress_ = started_;
  progress_on_terminal_ = isatty(STDERR_FILENO) != 0;
  set_up();
  protocol::LineReader lines(input_fd);
  protocol::MessageReader reader(lines, *this);
  reader_ = &reader;
  try {
    for (;;) {
      auto result = reader.read_next(std::chrono::milliseconds(250));
      if (result == protocol::ReadResult::end_of_input)
        break;
      if (result == protocol::ReadResult::idle)
        on_idle();
    }
    finish();
  } catch (...) {
    // States already committed may still leave; nothing else does.
    try {
      release_states();
    } catch (...) {
    }
    reader_ = nullptr;
    throw;
  }
  reader_ = nullptr;
}

std::string_view WriteRun::record_begin(std::optional<std::string_view> stream_namespace,
                                        std::string_view name, bool namespace_known) {
  // The namespace may come after the data: then a name that only one stream has will do for now.
  auto found = streams_.find(stream_namespace, name, namespace_known);
  if (!found) {
    protocol::StreamDescriptor stream{
        stream_namespace ? std::optional<std::string>(*stream_namespace) : std::nullopt,
        std::string(name)};
    throw SystemError(
        fmt::format("Input line {} has a record for stream \"{}\", which is not in the catalog.",
                    reader_->line_number(), stream.display()));
  }
  current_ = *found;
  const auto& selected = plans_[current_].descriptor.stream_namespace;
  return selected ? std::string_view(*selected) : std::string_view();
}

void WriteRun::record_data(simdjson::ondemand::object data) {
  loaders_[current_]->encoder.fill(data);
}

void WriteRun::record_end(std::int64_t emitted_at_ms, std::string_view source_changes) {
  auto& loader = *loaders_[current_];
  std::size_t lane = loader.dedup_keys ? loader.dedup_keys->add(loader.encoder) : 0;
  auto& rows = loader.lanes[lane].rows;
  std::size_t before = rows.size();
  loader.encoder.finish({emitted_at_ms, source_changes}, rows);
  std::size_t added = rows.size() - before;
  unsent_bytes_ += added;
  total_bytes_ += added;
  ++loader.records;
  tracker_.record_read(current_);
  if (tracker_.records_read() == commit_requested_ + 1)
    first_uncommitted_at_ = Clock::now();
  after_record(loader, lane);
}

void WriteRun::after_record(load::StreamLoader& loader, std::size_t lane) {
  for (const auto& field : loader.encoder.take_new_undeclared_fields())
    spdlog::info("Stream {}: field \"{}\" is not in the stream's schema and is not stored.",
                 loader.plan->descriptor.display(), field);
  // A stream's lanes share its chunk size, so that spreading it over connections costs no memory.
  const std::size_t chunk_bytes = policy_.stream_chunk_bytes / loader.lanes.size();
  if (loader.lanes[lane].rows.size() >= chunk_bytes)
    send_rows(loader, lane);
  if (loader.dedup_keys && loader.dedup_keys->rows(lane).size() >= chunk_bytes)
    send_keys(loader, lane);
  if (unsent_bytes_ >= policy_.buffered_bytes_limit)
    send_largest_rows();
  if (uncommitted_bytes_ >= policy_.commit_bytes)
    commit_all();
  if ((tracker_.records_read() & 0xF) == 0) {
    auto now = Clock::now();
    if (commit_requested_ < tracker_.records_read() &&
        now - first_uncommitted_at_ >= policy_.commit_interval)
      commit_all();
    if (now - last_progress_ >= std::chrono::seconds(progress_on_terminal_ ? 1 : 10))
      report_progress(false);
    check_pipelines();
  }
  if (tracker_.pending() > 0)
    release_states();
}

void WriteRun::send_largest_rows() {
  load::StreamLoader* largest = nullptr;
  std::size_t largest_lane = 0;
  for (auto& loader : loaders_)
    for (std::size_t lane = 0; lane < loader->lanes.size(); ++lane)
      if (!largest || loader->lanes[lane].rows.size() > largest->lanes[largest_lane].rows.size()) {
        largest = loader.get();
        largest_lane = lane;
      }
  send_rows(*largest, largest_lane);
}

void WriteRun::send_rows(load::StreamLoader& loader, std::size_t lane) {
  auto& rows = loader.lanes[lane].rows;
  if (rows.empty())
    return;
  std::size_t bytes = rows.size();
  unsent_bytes_ -= bytes;
  uncommitted_bytes_ += bytes;
  auto& pipeline = *pipelines_[lane];
  pipeline.send(loader.lanes[lane].target, std::exchange(rows, pipeline.take_buffer()));
}

void WriteRun::send_keys(load::StreamLoader& loader, std::size_t lane) {
  auto& keys = loader.dedup_keys->rows(lane);
  if (keys.empty())
    return;
  loader.lanes[lane].keys_in_transaction = true;
  auto& pipeline = *pipelines_[lane];
  pipeline.send(loader.lanes[lane].keys_target, std::exchange(keys, pipeline.take_buffer()));
}

void WriteRun::commit_all() {
  for (auto& loader : loaders_)
    for (std::size_t lane = 0; lane < loader->lanes.size(); ++lane) {
      send_rows(*loader, lane);
      if (loader->dedup_keys)
        send_keys(*loader, lane);
    }
  if (commit_requested_ == tracker_.records_read())
    return;
  commit_requested_ = tracker_.records_read();
  // Every connection commits up to the same record, so a STATE leaves once all of them have.
  for (std::size_t lane = 0; lane < pipelines_.size(); ++lane) {
    std::vector<std::string> dedups;
    for (auto& loader : loaders_) {
      if (lane < loader->lanes.size() &&
          std::exchange(loader->lanes[lane].keys_in_transaction, false))
        dedups.push_back(loader->dedup_sql);
    }
    pipelines_[lane]->commit(commit_requested_, std::move(dedups));
  }
  uncommitted_bytes_ = 0;
}

std::uint64_t WriteRun::committed_records() const {
  if (pipelines_.empty())
    return 0;
  std::uint64_t committed = pipelines_.front()->committed_records();
  for (const auto& pipeline : pipelines_)
    committed = std::min(committed, pipeline->committed_records());
  return committed;
}

void WriteRun::check_pipelines() const {
  for (const auto& pipeline : pipelines_)
    pipeline->check();
}

void WriteRun::drain_pipelines() {
  for (auto& pipeline : pipelines_)
    pipeline->drain();
}

void WriteRun::release_states() {
  for (auto& released : tracker_.release(committed_records()))
    out_.state(released.message.fields, released.record_count);
}

void WriteRun::state(protocol::StateMessage message) {
  long index = -1;
  if (message.stream)
    index = stream_index(*message.stream);
  tracker_.state_read(std::move(message), index);
  release_states();
}

void WriteRun::stream_status(const protocol::StreamDescriptor& stream,
                             protocol::StreamStatus status) {
  long index = stream_index(stream);
  if (index < 0) {
    spdlog::warn("Input line {}: status for stream \"{}\", which is not in the catalog; ignored.",
                 reader_->line_number(), stream.display());
    return;
  }
  if (status == protocol::StreamStatus::COMPLETE)
    loaders_[static_cast<std::size_t>(index)]->complete = true;
}

void WriteRun::on_idle() {
  // Quiet input: commit what was read so its states can leave now rather than later.
  if (commit_requested_ < tracker_.records_read() &&
      Clock::now() - first_uncommitted_at_ >= policy_.idle_commit)
    commit_all();
  check_pipelines();
  release_states();
}

void WriteRun::finish() {
  commit_all();
  drain_pipelines();
  release_states();
  report_progress(true);
  analyze_grown_targets();
  std::vector<std::string> incomplete;
  for (const auto& loader : loaders_) {
    if (!loader->complete) {
      incomplete.push_back("\"" + loader->plan->descriptor.display() + "\"");
      continue;
    }
    if (loader->tables.staging)
      replace_rows(*loader);
  }
  drain_pipelines();
  if (!incomplete.empty()) {
    std::string names;
    for (const auto& name : incomplete)
      names += (names.empty() ? "" : ", ") + name;
    throw SystemError(fmt::format(
        "The input ended before these streams reported COMPLETE: {}. Their committed rows "
        "are kept; the next sync carries on from the last state.",
        names));
  }
}

void WriteRun::analyze_grown_targets() {
  // The planner needs statistics on a dedup table's key to look the next sync's keys up through
  // the key index; autovacuum may take a while to gather them after a large load.
  for (const auto& loader : loaders_) {
    if (!loader->dedup || loader->records < 100000)
      continue;
    auto sql = postgres::sql::analyze(loader->dedup->target, loader->dedup->key);
    pipelines_.front()->run([&](postgres::PgConnection& connection) {
      try {
        connection.execute(sql, "updating statistics of " + loader->tables.load_target().quoted());
      } catch (const Error& error) {
        spdlog::warn("{} (the sync goes on).", error.what());
      }
    });
  }
}

void WriteRun::replace_rows(const load::StreamLoader& loader) {
  // One transaction: readers see the old rows until it commits, then the new ones. The final
  // table itself stays, and with it its views, grants, comments and owner. DELETE rather than
  // TRUNCATE: readers never wait for the swap, and a snapshot from before it (a long report,
  // pg_dump) keeps seeing the old rows instead of an empty table.
  const auto& final_table = loader.tables.final_table;
  const auto& staging = *loader.tables.staging;
  std::vector<std::string> statements = {
      postgres::sql::delete_all_rows(final_table),
      postgres::sql::insert_select(final_table, staging, loader.encoder.copy_columns()),
      postgres::sql::drop_table(staging),
  };
  spdlog::info("Stream {} is complete: replacing the rows of {} with those of {}.",
               loader.plan->descriptor.display(), final_table.quoted(), staging.quoted());
  // All connections are drained: the first one swaps.
  pipelines_.front()->commit(commit_requested_, std::move(statements));
}

void WriteRun::report_progress(bool final) {
  auto now = Clock::now();
  double seconds = std::chrono::duration<double>(now - started_).count();
  double rate = seconds > 0 ? static_cast<double>(tracker_.records_read()) / seconds : 0;
  std::string line =
      fmt::format("{} records, {:.1f} MiB encoded, {:.0f} records/s, {} committed",
                  tracker_.records_read(), mib(total_bytes_), rate, committed_records());
  if (progress_on_terminal_)
    fmt::print(stderr, "\r{}{}", line, final ? "\n" : "");
  if (final || !progress_on_terminal_)
    spdlog::info("{}{}", final ? "Done: " : "Progress: ", line);
  last_progress_ = now;
}

} // namespace pgdest::write
