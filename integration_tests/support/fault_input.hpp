#pragma once
// Input and checks shared by the fault tests: a `users` stream of numbered records with a STATE
// after every batch, and the two promises checked after any failure — no committed record lost,
// no STATE for a record that was not committed.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgdest::testing {

// The configured catalog of a `users` stream: id (the primary key of a dedup stream), seq (its
// cursor) and pad. Overwrite streams are truncate refreshes of generation `generation`.
nlohmann::ordered_json users_catalog(const std::string& destination_sync_mode, long generation = 0);

// Records `first`..`last` of the `users` stream: seq is the record's number, id is seq folded
// into `keys` distinct keys (seq itself when `keys` is 0), pad is `pad_bytes` of filler.
std::string user_records(long first, long last, long keys = 0, std::size_t pad_bytes = 0);

// A STREAM state of `users` whose cursor is the seq of the last record before it.
std::string user_state(long cursor);

// Records `first`..`last` in batches of `batch`, each batch followed by its state.
std::string user_batches(long first, long last, long batch, long keys = 0,
                         std::size_t pad_bytes = 0);

// Checks the states a run emitted after it was fed batches of `batch` records from seq `first`:
// the cursors come in order, one per batch; each recordCount is `batch`; every record up to the
// last emitted cursor is in `table` (its seq, or a later seq of the same key when `keys` is
// set). Returns the last emitted cursor (`first` - 1 when none).
long check_states_committed(const std::vector<nlohmann::ordered_json>& emitted, long first,
                            long batch, const std::string& table, long keys = 0);

} // namespace pgdest::testing
