#pragma once
// Running a network: picks the backend, streams spikes and samples to the trace, keeps per-
// population statistics, reports progress, honours a stop request (Ctrl-C), and summarises.
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/backend.h"
#include "sim/network.h"

namespace snnsim {

struct RunOptions {
  BackendKind backend = BackendKind::cpu;
  int threads = 0;  ///< <= 0: all cores
  std::optional<std::filesystem::path> trace_path;
  /// Called once the backend is ready, before the first step (to print its description).
  std::function<void(const Backend&)> announce;
  /// Called after each step with (steps done, steps total); keep it cheap.
  std::function<void(Step, Step)> progress;
  /// When it becomes true the run stops after the current step and the trace is kept, marked
  /// incomplete.
  const std::atomic<bool>* stop = nullptr;
  /// A distributed run: the other processes (sim/spike_exchange.h), or null. Rank 0 writes the
  /// trace; every rank gets the summary.
  SpikeExchange* exchange = nullptr;
};

struct PopulationSummary {
  std::string name;
  NeuronIndex size = 0;
  std::uint64_t spikes = 0;
  double rate_hz = 0.0;  ///< mean over neurons and over the simulated time
  /// Mean over the neurons with at least 3 spikes (0 when none has) of the coefficient of
  /// variation of their inter-spike intervals, sample standard deviation over mean (as `snnsim
  /// trace summary`'s, docs/trace-analysis.md).
  double cv_isi = 0.0;
};

/// Where one process of a distributed run spent the simulation loop.
struct RankFigures {
  double update_s = 0;  ///< updating and delivering: the loop less the two below
  double waiting_s = 0;
  double communication_s = 0;
  std::uint64_t bytes_received = 0;
};

struct RunSummary {
  std::string backend;
  int threads = 1;
  Step steps_requested = 0;
  Step steps_completed = 0;
  double simulated_ms = 0.0;
  double wall_s = 0.0;  ///< the simulation loop alone
  BackendCounters counters;
  std::vector<PopulationSummary> populations;
  bool complete = true;
  /// Distributed runs, on rank 0: one entry per rank (empty otherwise).
  std::vector<RankFigures> ranks;
  std::uint64_t exchanges = 0;
  std::string distribution;  ///< how spikes travelled (the backend's description)

  std::uint64_t spikes() const;
  double real_time_factor() const { return simulated_ms > 0 ? wall_s / (simulated_ms * 1e-3) : 0; }
};

/// A run ready to start: its backend made and its trace opened, which is where a run fails
/// before its first step (a distributed run agrees on that before any rank starts).
class PreparedRun {
 public:
  /// Throws std::runtime_error (one line) when the backend cannot run or the trace cannot be
  /// created.
  PreparedRun(Network& network, const RunOptions& options);
  ~PreparedRun();
  PreparedRun(const PreparedRun&) = delete;
  PreparedRun& operator=(const PreparedRun&) = delete;
  /// Runs the network for its duration; once. Throws std::runtime_error (one line) on failure; a
  /// failed run leaves no trace file behind.
  RunSummary run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Prepares and runs `network`.
RunSummary run_network(Network& network, const RunOptions& options);

}  // namespace snnsim
