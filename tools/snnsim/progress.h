#pragma once
// Progress of a long run on stderr: a redrawn bar on a terminal, a plain line every 10% otherwise
// (logs, CI), nothing when quiet.
#include <chrono>
#include <cstdint>

namespace snnsim::cli {

class ProgressReporter {
 public:
  ProgressReporter(double dt_ms, bool enabled);
  /// After each step: `done` of `total` steps.
  void update(std::uint64_t done, std::uint64_t total);
  /// Ends the bar's line.
  void finish();

 private:
  double dt_ms_;
  bool enabled_;
  bool terminal_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

}  // namespace snnsim::cli
