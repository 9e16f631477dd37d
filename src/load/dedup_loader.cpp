// The append_dedup loader: rows by key over the lanes, keys to look up, the DELETE at commit.
#include "pgdest/load/dedup_loader.hpp"

#include <spdlog/spdlog.h>

#include "pgdest/load/append_loader.hpp"

namespace pgdest::load {
namespace {

// A dedup table this large gets fresh statistics on its key after the load: the next sync's
// lookups go through the key index only if the planner knows the table is large.
constexpr std::uint64_t kAnalyzeAfterRecords = 100000;

} // namespace

DedupLoader::DedupLoader(const catalog::StreamPlan& plan, StreamTables tables, std::size_t stream,
                         const DedupContext& context,
                         const std::optional<postgres::TableRef>& rejected_values)
    : plan_(&plan), tables_(std::move(tables)),
      encoder_(tables_.columns, plan.generation_id, plan.sync_id),
      spec_{tables_.load_target(),
            postgres::Identifier("_airbyte_keys_" + std::to_string(stream)),
            {},
            {},
            {}},
      rows_(context.lanes), keys_queued_(context.lanes, false), last_rows_(context.lanes) {
  const auto& columns = tables_.columns;
  std::vector<std::size_t> key_columns;
  bool comparable_bytes = true;
  for (const auto& part : plan.primary_key) {
    auto column = *schema::find_column(columns, part); // prepare_stream_tables checked it is there
    key_columns.push_back(column);
    key_columns_.push_back(columns[column]);
    spec_.key.push_back(columns[column].name);
    comparable_bytes = comparable_bytes && bytes_decide_equality(columns[column].type);
  }
  if (!plan.cursor.empty()) {
    if (auto column = schema::find_column(columns, plan.cursor.front())) {
      spec_.cursor = columns[*column].name;
      cursor_field_ = *column;
      cursor_type_ = columns[*column].type;
    } else {
      spdlog::warn("Stream {}: cursor field \"{}\" is not in the schema; rows are ordered by "
                   "extraction time only.",
                   plan.descriptor.display(), plan.cursor.front());
    }
  }
  std::optional<std::size_t> deleted_at;
  if (context.cdc_deletion_mode == config::CdcDeletionMode::hard_delete)
    deleted_at = schema::find_column(columns, "_ab_cdc_deleted_at");
  if (deleted_at)
    spec_.deleted_at = columns[*deleted_at].name;
  // In a table that was empty, only keys that repeat within the sync can have superseded rows.
  // History mode needs every key of the transaction: a key seen once is still a new version, and
  // its key is how the history statement finds the transaction's rows in the target's key index
  // (rather than a scan of the table for the rows with the transaction's xmin).
  const bool history = tables_.history_target().has_value();
  SeenKeys* seen =
      !tables_.load_target_had_rows && comparable_bytes && !history ? context.seen_keys : nullptr;
  looks_up_repeats_only_ = seen != nullptr;
  keys_.emplace(std::move(key_columns), deleted_at, seen, stream, context.lanes);
  delete_sql_ = postgres::sql::delete_superseded(spec_);
  if (rejected_values)
    rejected_.emplace(*rejected_values, plan, tables_, context.lanes);
  if (history) {
    postgres::sql::HistorySpec history_spec{spec_, *tables_.history_target(),
                                            encoder_.copy_columns()};
    history_sql_ = postgres::sql::record_history(history_spec);
  }
}

std::vector<CopyTarget> DedupLoader::copy_targets() const {
  // The keys table lives as long as the transaction that loads keys into it: a transaction
  // without keys has no DELETE to run either (commit_statements).
  std::vector<CopyTarget> targets{rows_target(tables_, encoder_),
                                  {postgres::sql::copy_binary_from_stdin(
                                       {postgres::Identifier("pg_temp"), spec_.keys}, spec_.key),
                                   "the dedup keys of " + spec_.target.quoted(),
                                   postgres::sql::create_keys_table(spec_.keys, key_columns_)}};
  if (rejected_)
    targets.push_back(rejected_->target());
  return targets;
}

AddedRecord DedupLoader::add_record(const encode::RecordEnvelope& envelope) {
  const auto queued_before = keys_->queued();
  const std::size_t lane = keys_->add(encoder_);
  bool key_queued = keys_->queued() != queued_before;
  AddedRecord added{lane, 0, 1u << kRowsTarget};
  auto& rows = rows_[lane];
  const std::size_t row_begin = rows.size();
  encoder_.finish(envelope, rows);
  ++records_;
  added.bytes += rows.size() - row_begin;
  if (history_sql_.empty()) // in history mode every version goes to the history
    key_queued = withdraw_superseded(lane, row_begin, envelope.emitted_at_ms, key_queued, added);
  if (key_queued) {
    keys_queued_[lane] = true;
    added.bytes += keys_->last_key_bytes();
    added.grown_targets |= 1u << kKeysTarget;
  }
  if (encoder_.has_rejected() && rejected_) {
    added.bytes += rejected_->add(encoder_, lane);
    added.grown_targets |= 1u << kRejectedTarget;
  }
  return added;
}

bool DedupLoader::withdraw_superseded(std::size_t lane, std::size_t row_begin,
                                      std::int64_t emitted_at_ms, bool key_queued,
                                      AddedRecord& added) {
  auto& rows = rows_[lane];
  LastRow& last = last_rows_[lane];
  keys_->read_key(encoder_, key_);
  const std::string_view cursor =
      cursor_field_ ? encoder_.field(*cursor_field_) : std::string_view();
  // The last row is still in the buffer exactly when this row follows it there: a chunk sent in
  // between leaves a fresh buffer.
  if (last.end != 0 && last.end == row_begin && last.key == key_ &&
      later_row_wins(cursor_type_, {last.cursor, last.emitted_at_ms}, {cursor, emitted_at_ms})) {
    rows.erase(last.begin, last.end);
    added.withdrawn_bytes = last.end - last.begin;
    row_begin = last.begin;
    // This row's key needs no entry of its own: the withdrawn row's entry is the same key, still
    // queued in this transaction; or, if the withdrawn row was its key's first of the sync, there
    // is no other row to find, unless this one is a CDC deletion to carry out.
    if (key_queued && (last.key_queued || !keys_->is_deletion(encoder_))) {
      keys_->forget_last(lane);
      key_queued = false;
    }
  }
  last.begin = row_begin;
  last.end = rows.size();
  last.key.swap(key_);
  last.cursor.assign(cursor);
  last.emitted_at_ms = emitted_at_ms;
  last.key_queued = key_queued;
  return key_queued;
}

encode::CopyBuffer& DedupLoader::buffer(std::size_t lane, std::size_t target) {
  switch (target) {
  case kKeysTarget:
    return keys_->rows(lane);
  case kRejectedTarget:
    return rejected_->buffer(lane);
  default:
    return rows_[lane];
  }
}

CommitStatements DedupLoader::commit_statements(std::size_t lane, const LogInsert& log) {
  if (!keys_queued_[lane])
    return {};
  keys_queued_[lane] = false;
  // In history mode, the history reads the transaction's rows before the DELETE removes the
  // superseded ones.
  std::vector<std::string> statements;
  if (!history_sql_.empty())
    statements.push_back(history_sql_);
  if (!log) {
    statements.push_back(delete_sql_);
    return {statements, false};
  }
  // The log row goes inside the DELETE's statement, which alone knows how many rows it deleted.
  statements.push_back(
      postgres::sql::delete_superseded(spec_, log(postgres::sql::kRowsDeletedVariable)));
  return {statements, true};
}

std::optional<std::string> DedupLoader::statistics_statement() const {
  if (records_ < kAnalyzeAfterRecords)
    return std::nullopt;
  return postgres::sql::analyze(spec_.target, spec_.key);
}

} // namespace pgdest::load
