#pragma once
// A PostgreSQL stand-in for the load path's unit tests: it keeps transactions and committed COPY
// payloads like a server would, and fails on cue in the ways a real server cannot be made to on
// demand (connection lost at a given step, a COMMIT that landed but whose answer was lost, ...).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/error.hpp"
#include "pgdest/postgres/connection.hpp"

namespace pgdest::testing {

enum class Step { connect, begin, statement, copy_start, copy_send, copy_finish, commit };

enum class Fault {
  connection_lost,           // the connection drops; the open transaction is gone
  transient,                 // e.g. a deadlock: the statement fails, the connection stays
  permanent,                 // e.g. a CHECK violation
  commit_landed_answer_lost, // COMMIT takes effect, then the connection drops before the answer
};

struct FaultAt {
  Step step;
  int occurrence; // the n-th time this step runs, counted over all connections (1-based)
  Fault fault;
};

class FakeServer {
public:
  std::vector<FaultAt> faults;
  // Every call, in order: "BEGIN", "COPY" (after what its message ran before it), "COMMIT",
  // "ABORT COPY: …".
  std::vector<std::string> log;
  std::string committed; // COPY payloads (without header and trailer) of committed work
  int connections_opened = 0;
  bool reconnect_refused_for_good = false; // every new connection after the first fails
  // When not 0: connections after this many are refused for want of a slot (the role's
  // CONNECTION LIMIT).
  int connection_slots = 0;
  int txid_status_in_progress = 0;    // txid_status answers "in progress" this many times
  std::function<void()> on_copy_send; // runs inside every copy_send of rows (may block)
  bool pooled = false;                // a pooler: each transaction has another server process
  std::vector<std::string> begin_statements; // the whole text of every statement that began one
  // Held by a connection while it works on the state above: the lanes of a sync share a server.
  // The test reads that state once its pipelines have drained.
  std::recursive_mutex mutex;

  std::unique_ptr<postgres::Connection> connect();

  // Row payload of one-column bigint rows, as the tests send them; ids() reads them back.
  static encode::CopyBuffer rows(std::int64_t first_id, int count);
  std::vector<std::int64_t> committed_ids() const;

  // Used by the fake connections.
  std::optional<Fault> fault_for(Step step);
  std::uint64_t next_txid() { return ++txid_; }
  std::map<std::uint64_t, std::string> txid_status; // "committed" / "aborted"

private:
  std::map<Step, int> counts_;
  std::uint64_t txid_ = 100;
};

} // namespace pgdest::testing
