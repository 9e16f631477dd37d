// libFuzzer target: the input bytes are the connector's stdin, read and encoded as `write` does.
// Malformed input must end in a pgdest::Error; every row written must be one PostgreSQL accepts,
// and every state and change list kept for output must be valid JSON.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "copy_row_check.hpp"
#include "every_type_catalog.hpp"
#include "json_check.hpp"
#include "memory_file.hpp"
#include "pgdest/catalog/stream_index.hpp"
#include "pgdest/encode/copy_buffer.hpp"
#include "pgdest/encode/record_encoder.hpp"
#include "pgdest/error.hpp"
#include "pgdest/protocol/message_reader.hpp"

namespace {

using namespace pgdest;

[[noreturn]] void refuse(const char* what, const std::string& text) {
  std::fprintf(stderr, "%s: %s\n", what, text.substr(0, 300).c_str());
  std::abort();
}

// Receives messages as the write does: a record's data goes to its stream's encoder.
class Handler : public protocol::MessageHandler {
public:
  explicit Handler(const std::vector<catalog::StreamPlan>& plans) : plans_(plans), streams_(plans) {
    for (const auto& plan : plans)
      encoders_.emplace_back(plan.columns, plan.generation_id, plan.sync_id);
  }

  std::string_view record_begin(std::optional<std::string_view> stream_namespace,
                                std::string_view name, bool namespace_known) override {
    auto found = streams_.find(stream_namespace, name, namespace_known);
    if (!found)
      throw SystemError("A record for a stream that is not in the catalog.");
    current_ = *found;
    const auto& selected = plans_[current_].descriptor.stream_namespace;
    return selected ? std::string_view(*selected) : std::string_view();
  }
  void record_data(simdjson::ondemand::object data) override { encoders_[current_].fill(data); }
  void record_end(std::int64_t emitted_at_ms, std::string_view source_changes) override {
    std::string changes = "[" + std::string(source_changes) + "]";
    if (auto problem = fuzz::json_problem(changes, fuzz::JsonRules::rfc8259); !problem.empty())
      refuse("record meta changes kept as invalid JSON", problem + ": " + changes);
    rows_.clear();
    encoders_[current_].finish({emitted_at_ms, source_changes}, rows_);
    fuzz::check_copy_rows(rows_.view(), plans_[current_].columns);
  }
  void state(protocol::StateMessage message) override {
    std::string text = message.fields + "}";
    if (auto problem = fuzz::json_problem(text, fuzz::JsonRules::rfc8259); !problem.empty())
      refuse("state kept as invalid JSON", problem + ": " + text);
  }
  void stream_status(const protocol::StreamDescriptor&, protocol::StreamStatus) override {}

private:
  const std::vector<catalog::StreamPlan>& plans_;
  catalog::StreamIndex streams_;
  std::vector<encode::RecordEncoder> encoders_;
  encode::CopyBuffer rows_;
  std::size_t current_ = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<catalog::StreamPlan> plans = fuzz::every_type_plans();
  static fuzz::MemoryFile input;
  input.assign(data, size);
  Handler handler(plans);
  // A small first buffer, so that lines longer than it take the growing paths.
  protocol::LineReader lines(input.fd(), 64);
  protocol::MessageReader reader(lines, handler);
  try {
    while (reader.read_next(std::chrono::milliseconds(1000)) !=
           protocol::ReadResult::end_of_input) {
    }
  } catch (const Error&) {
  }
  return 0;
}
