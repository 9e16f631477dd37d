// Numbered `users` records, their states, and the check that emitted states cover committed rows.
#include "fault_input.hpp"

#include <catch2/catch.hpp>

#include "harness.hpp"

namespace pgdest::testing {

nlohmann::ordered_json users_catalog(const std::string& destination_sync_mode, long generation) {
  nlohmann::ordered_json schema = {{"type", "object"},
                                   {"properties",
                                    {{"id", {{"type", "integer"}}},
                                     {"seq", {{"type", "integer"}}},
                                     {"pad", {{"type", "string"}}}}}};
  bool refresh = destination_sync_mode == "overwrite";
  auto catalog = configure_catalog({{"streams", {{{"name", "users"}, {"json_schema", schema}}}}},
                                   destination_sync_mode, generation, refresh ? generation : 0);
  if (destination_sync_mode == "append_dedup") {
    catalog["streams"][0]["primary_key"] = {{"id"}};
    catalog["streams"][0]["cursor_field"] = {"seq"};
  }
  return catalog;
}

std::string user_records(long first, long last, long keys, std::size_t pad_bytes) {
  std::string pad(pad_bytes, 'x');
  std::string text;
  for (long seq = first; seq <= last; ++seq) {
    long id = keys > 0 ? (seq - 1) % keys + 1 : seq;
    text +=
        R"({"type":"RECORD","record":{"stream":"users","emitted_at":1700000000000,"data":{"id":)" +
        std::to_string(id) + R"(,"seq":)" + std::to_string(seq) + R"(,"pad":")" + pad + "\"}}}\n";
  }
  return text;
}

std::string user_state(long cursor) {
  return R"({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},)"
         R"("stream_state":{"cursor":)" +
         std::to_string(cursor) + "}}}}\n";
}

std::string user_batches(long first, long last, long batch, long keys, std::size_t pad_bytes) {
  std::string text;
  for (long start = first; start <= last; start += batch) {
    long end = std::min(last, start + batch - 1);
    text += user_records(start, end, keys, pad_bytes) + user_state(end);
  }
  return text;
}

long check_states_committed(const std::vector<nlohmann::ordered_json>& emitted, long first,
                            long batch, const std::string& table, long keys) {
  long cursor = first - 1;
  for (const auto& state : emitted) {
    INFO(state.dump());
    CHECK(state["stream"]["stream_state"]["cursor"] == cursor + batch);
    CHECK(state["destinationStats"]["recordCount"] == static_cast<double>(batch));
    cursor = state["stream"]["stream_state"]["cursor"].get<long>();
  }
  if (cursor < 1)
    return cursor;
  // Every record up to the cursor is committed: its seq is there, or with keys folded, each key
  // seen so far has a row no older than its last version up to the cursor.
  std::string c = std::to_string(cursor);
  std::string sql =
      keys > 0
          ? "SELECT count(DISTINCT id) = least(" + c + ", " + std::to_string(keys) +
                ") AND count(*) FILTER (WHERE seq < id + " + std::to_string(keys) + " * ((" + c +
                " - id) / " + std::to_string(keys) + ")) = 0 FROM " + table + " WHERE id <= " + c
          : "SELECT count(DISTINCT seq) = " + c + " FROM " + table + " WHERE seq <= " + c;
  INFO("every record up to cursor " << c << " in " << table);
  CHECK(query_rows(sql) == std::vector<std::vector<std::string>>{{"t"}});
  return cursor;
}

} // namespace pgdest::testing
