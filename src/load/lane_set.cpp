// The lanes of a load commit together and count as committed what all of them have.
#include "pgdest/load/lane_set.hpp"

#include <algorithm>
#include <exception>

namespace pgdest::load {

LaneSet::LaneSet(std::vector<std::unique_ptr<CopyPipeline>> pipelines)
    : pipelines_(std::move(pipelines)) {}

std::size_t least_loaded_lane(const std::vector<std::size_t>& backlogs, std::size_t start) {
  std::size_t chosen = start % backlogs.size();
  for (std::size_t step = 1; step < backlogs.size(); ++step) {
    const std::size_t lane = (start + step) % backlogs.size();
    if (backlogs[lane] < backlogs[chosen])
      chosen = lane;
  }
  return chosen;
}

std::size_t LaneSet::least_loaded() {
  std::vector<std::size_t> backlogs;
  backlogs.reserve(pipelines_.size());
  for (const auto& pipeline : pipelines_)
    backlogs.push_back(pipeline->backlog_bytes());
  const std::size_t lane = least_loaded_lane(backlogs, next_turn_);
  next_turn_ = lane + 1;
  return lane;
}

void LaneSet::commit(std::uint64_t records, std::vector<std::vector<std::string>> statements) {
  statements.resize(pipelines_.size());
  for (std::size_t lane = 0; lane < pipelines_.size(); ++lane)
    pipelines_[lane]->commit(records, std::move(statements[lane]));
}

std::uint64_t LaneSet::committed_records() const {
  if (pipelines_.empty())
    return 0;
  std::uint64_t committed = pipelines_.front()->committed_records();
  for (const auto& pipeline : pipelines_)
    committed = std::min(committed, pipeline->committed_records());
  return committed;
}

void LaneSet::check() const {
  for (const auto& pipeline : pipelines_)
    pipeline->check();
}

void LaneSet::drain() {
  // Every lane finishes what it was given before the first failure is reported, so the outcome
  // does not depend on which lane is asked first.
  std::exception_ptr first_failure;
  for (auto& pipeline : pipelines_) {
    try {
      pipeline->drain();
    } catch (const std::exception&) {
      if (!first_failure)
        first_failure = std::current_exception();
    }
  }
  if (first_failure)
    std::rethrow_exception(first_failure);
}

void LaneSet::abandon(std::string_view reason) noexcept {
  // Every lane stops before any is waited for: no lane may start a COMMIT while another winds up.
  for (auto& pipeline : pipelines_)
    pipeline->stop(reason);
  for (auto& pipeline : pipelines_)
    pipeline->abandon(reason);
}

} // namespace pgdest::load
