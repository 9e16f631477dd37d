#pragma once
// Turns input lines into protocol events: records (parsed in place, data handed over as a
// simdjson On-Demand object), states and stream statuses. Every line is checked in full; anything
// malformed is an error that names the line.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "pgdest/protocol/line_reader.hpp"
#include "pgdest/protocol/state_message.hpp"
#include "pgdest/protocol/stream_descriptor.hpp"

namespace pgdest::protocol {

enum class StreamStatus { STARTED, RUNNING, COMPLETE, INCOMPLETE };

// Receives what the reader finds. A record arrives as begin → data → end, all within one line;
// end, a state and a status arrive only once their whole line is known to be valid.
class MessageHandler {
public:
  virtual ~MessageHandler() = default;
  // Selects the record's stream and returns the selected stream's namespace; throws for a
  // stream that is not in the catalog. `namespace_known` is false when the record's namespace
  // field may still follow its data: the handler then guesses by name, and the reader re-reads
  // the line if the guess turns out wrong.
  virtual std::string_view record_begin(std::optional<std::string_view> stream_namespace,
                                        std::string_view name, bool namespace_known) = 0;
  // The record's `data`; may be called again for the same record if the line has to be re-read.
  virtual void record_data(simdjson::ondemand::object data) = 0;
  // `source_changes`: the record's own meta.changes items as compact JSON, comma separated.
  virtual void record_end(std::int64_t emitted_at_ms, std::string_view source_changes) = 0;
  virtual void state(StateMessage message) = 0;
  virtual void stream_status(const StreamDescriptor& stream, StreamStatus status) = 0;
};

class MessageReader {
public:
  MessageReader(LineReader& lines, MessageHandler& handler);

  // Reads and dispatches one line; `idle` when no input arrived within `wait`.
  ReadResult read_next(std::chrono::milliseconds wait);

  std::size_t line_number() const { return line_number_; }
  std::size_t records_read() const { return records_read_; }

private:
  // What the line read so far holds, handed to the handler once the whole line is valid.
  enum class Pending { nothing, record, record_reread, state, status };

  void dispatch(const Line& line);
  [[nodiscard]] bool read_message(simdjson::ondemand::document& document, const Line& line,
                                  std::optional<std::string>& known_type);
  void read_body(std::string_view type, simdjson::ondemand::value body, const Line& line);
  void read_record(simdjson::ondemand::object record);
  void reread_record_data(const Line& line);
  void read_meta_changes(simdjson::ondemand::value meta);
  void read_state(simdjson::ondemand::value state, const Line& line);
  std::string checked_state_field(std::string_view key, std::string_view json);
  void read_trace(simdjson::ondemand::object trace);
  void read_stream_status(simdjson::ondemand::value stream_status);
  void validate(simdjson::ondemand::value value, std::string_view parent, std::string_view key);

  LineReader& lines_;
  MessageHandler& handler_;
  simdjson::ondemand::parser parser_;
  simdjson::ondemand::parser state_parser_; // for the shape checks of a STATE's parts
  std::string changes_;
  std::string scratch_;
  std::size_t line_number_ = 0;
  std::size_t records_read_ = 0;

  Pending pending_ = Pending::nothing;
  std::int64_t emitted_at_ = 0;
  std::string reread_name_;
  std::optional<std::string> reread_namespace_;
  StateMessage state_;
  StreamDescriptor status_stream_;
  StreamStatus status_ = StreamStatus::STARTED;
};

} // namespace pgdest::protocol
