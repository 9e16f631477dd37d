// The `encode` command: the write path's reading and encoding with the rows thrown away (or, with
// --parse-only, the reading and a full parse of every value, without encoding).
#include "pgdest/write/encode_run.hpp"

#include <chrono>
#include <memory>

#include <fmt/format.h>

#include "pgdest/catalog/stream_index.hpp"
#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/json_writer.hpp"
#include "pgdest/encode/row_encoder.hpp"
#include "pgdest/error.hpp"
#include "pgdest/load/stream_loader.hpp"
#include "pgdest/protocol/message_reader.hpp"

namespace pgdest::write {
namespace {

namespace ondemand = simdjson::ondemand;

[[noreturn]] void throw_parse_error(simdjson::error_code error) {
  throw SystemError(std::string("Record data is not valid JSON: ") +
                    simdjson::error_message(error));
}

// Valid JSON that simdjson will not unescape, which the encoder stores as a NULLed value.
bool lone_surrogate(simdjson::error_code error, std::string_view written) {
  return error == simdjson::STRING_ERROR &&
         encode::check_escapes(written) == encode::EscapeCheck::lone_surrogate;
}

void parse_value(ondemand::value value, int depth);

// Visits every key and value: strings unescaped, numbers converted.
void parse_object(ondemand::object object, int depth) {
  for (auto field_result : object) {
    ondemand::field field;
    if (auto error = std::move(field_result).get(field))
      throw_parse_error(error);
    std::string_view key;
    const auto raw = field.key(); // unescaped_key() forgets it
    if (auto error = field.unescaped_key().get(key);
        error && !lone_surrogate(error, encode::written_key(raw)))
      throw_parse_error(error);
    parse_value(field.value(), depth + 1);
  }
}

void parse_value(ondemand::value value, int depth) {
  if (depth > encode::kMaxJsonDepth) // as deep as the encoder reads; deeper would exhaust the stack
    throw_parse_error(simdjson::DEPTH_ERROR);
  ondemand::json_type type;
  if (auto error = value.type().get(type))
    throw_parse_error(error);
  simdjson::error_code error = simdjson::SUCCESS;
  switch (type) {
  case ondemand::json_type::object: {
    ondemand::object object;
    if (!(error = value.get_object().get(object)))
      parse_object(object, depth);
    break;
  }
  case ondemand::json_type::array: {
    ondemand::array array;
    if ((error = value.get_array().get(array)))
      break;
    for (auto element : array) {
      ondemand::value child;
      if ((error = element.get(child)))
        break;
      parse_value(child, depth + 1);
    }
    break;
  }
  case ondemand::json_type::string: {
    error = value.get_string().error();
    if (error) {
      const std::string_view token = value.raw_json_token(); // still this string's
      const std::size_t end = token.find_last_of('"');
      if (end != std::string_view::npos && end > 0 &&
          lone_surrogate(error, token.substr(1, end - 1)))
        error = simdjson::SUCCESS;
    }
    break;
  }
  case ondemand::json_type::number:
    error = value.get_number().error();
    break;
  case ondemand::json_type::boolean:
    error = value.get_bool().error();
    break;
  case ondemand::json_type::null:
    error = value.is_null().error();
    break;
  }
  if (error)
    throw_parse_error(error);
}

class Encoder : public protocol::MessageHandler {
public:
  Encoder(const std::vector<catalog::StreamPlan>& plans, bool parse_only)
      : plans_(plans), streams_(plans), parse_only_(parse_only) {
    for (const auto& plan : plans) {
      encoders_.push_back(load::make_row_encoder(plan, plan.columns));
    }
  }

  std::string_view record_begin(std::optional<std::string_view> stream_namespace,
                                std::string_view name, bool namespace_known) override {
    auto found = streams_.find(stream_namespace, name, namespace_known);
    if (!found)
      throw SystemError(
          fmt::format("A record for stream \"{}\", which is not in the catalog.", name));
    current_ = *found;
    const auto& selected = plans_[current_].descriptor.stream_namespace;
    return selected ? std::string_view(*selected) : std::string_view();
  }

  void record_data(simdjson::ondemand::object data) override {
    if (parse_only_)
      parse_object(data, 0);
    else
      encoders_[current_]->fill(data);
  }
  void record_end(std::int64_t emitted_at_ms, std::string_view source_changes) override {
    ++records_;
    if (parse_only_)
      return;
    encoders_[current_]->finish({emitted_at_ms, source_changes}, rows_);
    if (rows_.size() >= (4u << 20)) {
      bytes_ += rows_.size();
      rows_.clear();
    }
  }
  void state(protocol::StateMessage) override { ++states_; }
  void stream_status(const protocol::StreamDescriptor&, protocol::StreamStatus) override {}

  std::uint64_t records() const { return records_; }
  std::uint64_t states() const { return states_; }
  std::uint64_t bytes() const { return bytes_ + rows_.size(); }

private:
  std::vector<std::unique_ptr<encode::RowEncoder>> encoders_;
  const std::vector<catalog::StreamPlan>& plans_;
  catalog::StreamIndex streams_;
  bool parse_only_;
  encode::CopyBuffer rows_;
  std::size_t current_ = 0;
  std::uint64_t records_ = 0;
  std::uint64_t states_ = 0;
  std::uint64_t bytes_ = 0;
};

} // namespace

void encode_only(const std::vector<catalog::StreamPlan>& plans, int input_fd,
                 protocol::MessageWriter& out, bool parse_only) {
  auto started = std::chrono::steady_clock::now();
  Encoder encoder(plans, parse_only);
  protocol::LineReader lines(input_fd);
  protocol::MessageReader reader(lines, encoder);
  while (reader.read_next(std::chrono::milliseconds(1000)) != protocol::ReadResult::end_of_input) {
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (parse_only) {
    out.log(protocol::LogLevel::INFO,
            fmt::format("Parsed {} records and {} states from {:.1f} MB of input in {:.3f} s.",
                        encoder.records(), encoder.states(),
                        static_cast<double>(lines.bytes_read()) / 1e6, seconds));
    return;
  }
  out.log(protocol::LogLevel::INFO,
          fmt::format("Encoded {} records and read {} states from {:.1f} MB of input into {:.1f} "
                      "MB of rows in {:.3f} s.",
                      encoder.records(), encoder.states(),
                      static_cast<double>(lines.bytes_read()) / 1e6,
                      static_cast<double>(encoder.bytes()) / 1e6, seconds));
}

} // namespace pgdest::write
