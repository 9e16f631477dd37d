#pragma once
// The connections (lanes) of a load, each with its CopyPipeline. They commit together: every
// lane commits up to the same record, so a record counts as committed once every lane has.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pgdest/load/copy_pipeline.hpp"

namespace pgdest::load {

class LaneSet {
public:
  explicit LaneSet(std::vector<std::unique_ptr<CopyPipeline>> pipelines);

  std::size_t size() const { return pipelines_.size(); }
  CopyPipeline& operator[](std::size_t lane) { return *pipelines_[lane]; }
  CopyPipeline& first() { return *pipelines_.front(); }

  // The lane for a chunk of rows that may go to any lane: the one with the fewest bytes waiting
  // to be sent, the lanes taking turns when several have as few.
  std::size_t least_loaded();

  // Every lane runs its `statements` (one list per lane) and commits up to record `records`.
  void commit(std::uint64_t records, std::vector<std::vector<std::string>> statements);
  // The records (in read order) that every lane has committed.
  std::uint64_t committed_records() const;
  // Rethrows the first lane's error, if any.
  void check() const;
  // Waits until every lane has done all it was given; then rethrows the first lane's error.
  void drain();
  // Drops every lane's queued work and rolls back what is open; nothing more is committed.
  void abandon(std::string_view reason) noexcept;

private:
  std::vector<std::unique_ptr<CopyPipeline>> pipelines_;
  std::size_t next_turn_ = 0; // where least_loaded() starts looking
};

// The index of the smallest of `backlogs` (not empty), the first found looking from `start` on
// and wrapping around.
std::size_t least_loaded_lane(const std::vector<std::size_t>& backlogs, std::size_t start);

} // namespace pgdest::load
