// The fake server and connection behind the load path's unit tests.
#include "fake_connection.hpp"

#include <cstring>

#include "pgdest/postgres/error_classifier.hpp"

namespace pgdest::testing {
namespace {

class FakeConnection final : public postgres::Connection {
public:
  FakeConnection(FakeServer& server, int process) : server_(server), process_(process) {}

  void execute(const std::string& sql, std::string_view context) override {
    const std::lock_guard<std::recursive_mutex> lock(server_.mutex);
    ensure_healthy(context);
    if (sql.rfind("BEGIN", 0) == 0) {
      hit(Step::begin, context);
      server_.log.push_back("BEGIN");
      server_.begin_statements.push_back(sql);
      txid_ = server_.next_txid();
      in_transaction_ = true;
      pending_.clear();
      return;
    }
    if (sql == "COMMIT") {
      server_.log.push_back("COMMIT");
      auto fault = server_.fault_for(Step::commit);
      if (fault == Fault::commit_landed_answer_lost) {
        land();
        lose(context);
      }
      if (fault)
        fail(*fault, context);
      land();
      return;
    }
    if (sql == "ROLLBACK") {
      server_.log.push_back("ROLLBACK");
      abort_transaction();
      return;
    }
    hit(Step::statement, context);
    server_.log.push_back(sql);
  }

  bool execute_within(const std::string& sql, std::chrono::milliseconds,
                      std::string_view context) override {
    execute(sql, context);
    return true;
  }

  std::vector<postgres::Row> query(const std::string& sql, const std::vector<std::string>& params,
                                   std::string_view context) override {
    const std::lock_guard<std::recursive_mutex> lock(server_.mutex);
    ensure_healthy(context);
    if (sql.find("txid_current") != std::string::npos) {
      // Behind a transaction pooler, every transaction may run in another server process.
      const int process = server_.pooled ? static_cast<int>(txid_) : process_;
      return {{std::to_string(txid_), std::to_string(process)}};
    }
    if (sql.find("pg_backend_pid") != std::string::npos)
      return {{std::to_string(process_)}};
    if (sql.find("txid_status") != std::string::npos) {
      server_.log.push_back("txid_status");
      if (server_.txid_status_in_progress > 0) {
        --server_.txid_status_in_progress;
        return {{"in progress"}};
      }
      auto found = server_.txid_status.find(std::stoull(params.at(0)));
      return {{found == server_.txid_status.end() ? "aborted" : found->second}};
    }
    return {};
  }

  void copy_start(const std::string& sql, std::string_view context) override {
    const std::lock_guard<std::recursive_mutex> lock(server_.mutex);
    ensure_healthy(context);
    hit(Step::copy_start, context);
    // Statements sent in the same message before the COPY (e.g. creating the table it fills).
    const auto copy = sql.rfind("COPY");
    if (copy != std::string::npos && copy > 0)
      server_.log.push_back(sql.substr(0, sql.rfind(';', copy)));
    server_.log.push_back("COPY");
    in_copy_ = true;
  }

  void copy_send(std::string_view bytes) override {
    {
      const std::lock_guard<std::recursive_mutex> lock(server_.mutex);
      ensure_healthy("sending rows");
      if (bytes == encode::CopyBuffer::header() || bytes == encode::CopyBuffer::trailer())
        return;
      hit(Step::copy_send, "sending rows");
    }
    if (server_.on_copy_send) // may block: without the lock, so the other lanes go on
      server_.on_copy_send();
    copy_payload_.append(bytes);
  }

  void copy_finish() override {
    const std::lock_guard<std::recursive_mutex> lock(server_.mutex);
    ensure_healthy("ending a COPY");
    hit(Step::copy_finish, "ending a COPY");
    in_copy_ = false;
    pending_ += copy_payload_;
    copy_payload_.clear();
  }

  void copy_abort(std::string_view reason) noexcept override {
    const std::lock_guard<std::recursive_mutex> lock(server_.mutex);
    if (!healthy_)
      return;
    server_.log.push_back("ABORT COPY: " + std::string(reason));
    in_copy_ = false;
    copy_payload_.clear();
    aborted_ = true;
  }

  bool healthy() const override { return healthy_; }

private:
  void hit(Step step, std::string_view context) {
    if (auto fault = server_.fault_for(step))
      fail(*fault, context);
  }

  [[noreturn]] void fail(Fault fault, std::string_view context) {
    switch (fault) {
    case Fault::connection_lost:
    case Fault::commit_landed_answer_lost:
      lose(context);
    case Fault::transient:
      aborted_ = true;
      throw TransientError("deadlock detected while " + std::string(context));
    case Fault::permanent:
      aborted_ = true;
      throw SystemError("check constraint violated while " + std::string(context));
    }
    throw SystemError("unknown fault");
  }

  [[noreturn]] void lose(std::string_view context) {
    healthy_ = false;
    abort_transaction();
    throw TransientError("server closed the connection while " + std::string(context));
  }

  void ensure_healthy(std::string_view context) const {
    if (!healthy_)
      throw TransientError("no connection to the server while " + std::string(context));
  }

  void land() {
    if (!aborted_) {
      server_.committed += pending_;
      server_.txid_status[txid_] = "committed";
    } else {
      server_.txid_status[txid_] = "aborted";
    }
    reset();
  }

  void abort_transaction() {
    if (in_transaction_)
      server_.txid_status[txid_] = "aborted";
    reset();
  }

  void reset() {
    in_transaction_ = false;
    in_copy_ = false;
    aborted_ = false;
    pending_.clear();
    copy_payload_.clear();
  }

  FakeServer& server_;
  int process_; // the server process this connection talks to (without a pooler)
  bool healthy_ = true;
  bool in_transaction_ = false;
  bool in_copy_ = false;
  bool aborted_ = false;
  std::uint64_t txid_ = 0;
  std::string pending_;      // payload of finished COPYs in the open transaction
  std::string copy_payload_; // payload of the COPY in progress
};

std::int64_t read_be64(const char* bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i)
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return static_cast<std::int64_t>(value);
}

} // namespace

std::unique_ptr<postgres::Connection> FakeServer::connect() {
  const std::lock_guard<std::recursive_mutex> lock(mutex);
  if (connections_opened > 0 && reconnect_refused_for_good)
    throw TransientError("Could not connect: the server is starting up.");
  if (fault_for(Step::connect))
    throw TransientError("Could not connect: connection refused.");
  if (connection_slots > 0 && connections_opened >= connection_slots) {
    postgres::FailureSubject who;
    who.endpoint = "127.0.0.1:5432";
    who.user = "airbyte";
    throw postgres::to_error(postgres::diagnosis_of(postgres::FailureCause::role_connection_limit,
                                                    "too many connections for role \"airbyte\""),
                             who, "");
  }
  ++connections_opened;
  log.push_back("CONNECT");
  return std::make_unique<FakeConnection>(*this, connections_opened);
}

std::optional<Fault> FakeServer::fault_for(Step step) {
  const int occurrence = ++counts_[step];
  for (const auto& fault : faults)
    if (fault.step == step && fault.occurrence == occurrence)
      return fault.fault;
  return std::nullopt;
}

encode::CopyBuffer FakeServer::rows(std::int64_t first_id, int count) {
  encode::CopyBuffer buffer;
  for (int i = 0; i < count; ++i) {
    buffer.begin_row(1);
    buffer.put_int64(first_id + i);
  }
  return buffer;
}

std::vector<std::int64_t> FakeServer::committed_ids() const {
  // Each row: int16 field count, int32 length, int64 value.
  std::vector<std::int64_t> ids;
  for (std::size_t at = 0; at + 14 <= committed.size(); at += 14)
    ids.push_back(read_be64(committed.data() + at + 6));
  return ids;
}

} // namespace pgdest::testing
