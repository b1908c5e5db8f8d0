#include "sim/simulation.h"

#include <chrono>
#include <cmath>
#include <memory>

#include "sim/trace_writer.h"

namespace snnsim {

std::uint64_t RunSummary::spikes() const {
  std::uint64_t total = 0;
  for (const PopulationSummary& p : populations)
    total += p.spikes;
  return total;
}

namespace {

/// Per-neuron running statistics of inter-spike intervals, for the CV of ISI without storing
/// spikes: CV = s / mean with s the sample standard deviation (1/(n - 1)), as `snnsim trace
/// summary` defines it (analysis/spike_statistics.h), from Welford's running mean and sum of
/// squared deviations (exact for regular trains, unlike sums of squares).
struct IntervalStatistics {
  std::vector<std::int64_t> last_spike;
  std::vector<std::uint32_t> intervals;
  std::vector<double> mean, squared_deviations;

  explicit IntervalStatistics(NeuronIndex size)
      : last_spike(size, -1), intervals(size, 0), mean(size, 0.0), squared_deviations(size, 0.0) {}

  void add(NeuronIndex neuron, Step step) {
    if (last_spike[neuron] >= 0) {
      const double isi = static_cast<double>(static_cast<std::int64_t>(step) - last_spike[neuron]);
      ++intervals[neuron];
      const double delta = isi - mean[neuron];
      mean[neuron] += delta / intervals[neuron];
      squared_deviations[neuron] += delta * (isi - mean[neuron]);
    }
    last_spike[neuron] = static_cast<std::int64_t>(step);
  }

  double mean_cv() const {
    double total = 0.0;
    std::size_t counted = 0;
    for (std::size_t i = 0; i < intervals.size(); ++i) {
      if (intervals[i] < 2) continue;
      total += std::sqrt(squared_deviations[i] / (intervals[i] - 1)) / mean[i];
      ++counted;
    }
    return counted > 0 ? total / counted : 0.0;
  }
};

class RunRecorder final : public RunObserver {
 public:
  RunRecorder(const Network& network, const RunOptions& options, TraceWriter* trace)
      : network_(network),
        options_(options),
        trace_(trace),
        spikes_(network.populations.size(), 0) {
    for (const Population& p : network.populations)
      intervals_.emplace_back(p.total);
    // Map each probe to its (population, probe within population) slot in the trace.
    std::vector<std::size_t> per_population(network.populations.size(), 0);
    for (const StateProbe& probe : network.probes) {
      probe_slots_.push_back(per_population[probe.population]++);
    }
  }

  void on_step(Step step, std::span<const std::span<const NeuronIndex>> spikes) override {
    // Before this step's spikes, when the steps before it are in the trace whole.
    if (trace_ && flush_due(step)) {
      trace_->flush(step);
      last_flush_ = std::chrono::steady_clock::now();
      flushed_ = true;
    }
    for (std::size_t p = 0; p < spikes.size(); ++p) {
      spikes_[p] += spikes[p].size();
      for (NeuronIndex neuron : spikes[p])
        intervals_[p].add(neuron, step);
      if (trace_ && network_.record_spikes[p] && !spikes[p].empty()) {
        trace_->append_spikes(p, step, spikes[p]);
      }
    }
    if (options_.progress) options_.progress(step + 1, network_.steps());
  }

  void on_state(Step step, std::size_t probe, std::span<const float> values) override {
    if (trace_)
      trace_->append_state(network_.probes[probe].population, probe_slots_[probe], step, values);
  }

  bool stop_requested() override {
    return options_.stop != nullptr && options_.stop->load(std::memory_order_relaxed);
  }

  std::vector<PopulationSummary> summaries(Step steps) const {
    std::vector<PopulationSummary> out;
    const double seconds = static_cast<double>(steps) * network_.dt_ms * 1e-3;
    for (std::size_t p = 0; p < network_.populations.size(); ++p) {
      const Population& population = network_.populations[p];
      out.push_back(
          {population.name, population.total, spikes_[p],
           seconds > 0 ? static_cast<double>(spikes_[p]) / population.total / seconds : 0.0,
           intervals_[p].mean_cv()});
    }
    return out;
  }

 private:
  const Network& network_;
  const RunOptions& options_;
  TraceWriter* trace_;
  std::vector<std::uint64_t> spikes_;
  std::vector<IntervalStatistics> intervals_;
  std::vector<std::size_t> probe_slots_;
  /// Whether to flush the trace before step `step`, so that a killed run leaves a `.partial`
  /// file that holds it up to the last flush (docs/trace-format.md): first once 100 ms are
  /// simulated or 2 s of wall time have passed, whichever comes first, then every 10 s of wall
  /// time. Reading the clock costs tens of nanoseconds, nothing beside a step.
  bool flush_due(Step step) const {
    const auto waited = std::chrono::steady_clock::now() - last_flush_;
    if (flushed_) return waited >= kFlushInterval;
    return static_cast<double>(step) * network_.dt_ms >= kFirstFlushSimulatedMs ||
           waited >= kFirstFlushWall;
  }

  static constexpr double kFirstFlushSimulatedMs = 100;
  static constexpr std::chrono::seconds kFirstFlushWall{2};
  static constexpr std::chrono::seconds kFlushInterval{10};
  /// When the trace was opened (it is flushed then), then when it was last flushed.
  std::chrono::steady_clock::time_point last_flush_ = std::chrono::steady_clock::now();
  bool flushed_ = false;
};

std::unique_ptr<TraceWriter> open_trace(const Network& network, const std::filesystem::path& path,
                                        const Backend& backend) {
  TraceMetadata metadata;
  metadata.dt_s = network.dt_ms * 1e-3;
  metadata.duration_s = network.duration_ms * 1e-3;
  metadata.seed = network.seed;
  metadata.network_json = network.source_text;
  metadata.network_path = network.source_path;
  metadata.backend = std::string(backend.name());
  metadata.threads = backend.threads();
  std::vector<TracePopulationSpec> populations;
  for (std::size_t p = 0; p < network.populations.size(); ++p) {
    TracePopulationSpec& spec = populations.emplace_back();
    spec.name = network.populations[p].name;
    spec.size = network.populations[p].total;
    spec.record_spikes = network.record_spikes[p];
  }
  for (const StateProbe& probe : network.probes) {
    const StateSpec& state = network.populations[probe.population].model->state[probe.variable];
    populations[probe.population].probes.push_back({std::string(state.name),
                                                    std::string(canonical_unit(state.dimension)),
                                                    probe.neurons, probe.interval_steps});
  }
  return std::make_unique<TraceWriter>(path, metadata, std::move(populations));
}

}  // namespace

struct PreparedRun::State {
  State(Network& network, const RunOptions& options)
      : network(network),
        options(options),
        backend(make_backend(options.backend, network, options.threads, options.exchange)) {
    const bool writes_trace =
        options.exchange == nullptr || options.exchange->partition().rank == 0;
    if (options.trace_path && writes_trace) {
      trace = open_trace(network, *options.trace_path, *backend);
    }
  }

  Network& network;
  const RunOptions& options;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<TraceWriter> trace;
};

PreparedRun::PreparedRun(Network& network, const RunOptions& options)
    : state_(std::make_unique<State>(network, options)) {}

PreparedRun::~PreparedRun() = default;

RunSummary PreparedRun::run() {
  Network& network = state_->network;
  const RunOptions& options = state_->options;
  Backend& backend = *state_->backend;
  TraceWriter* trace = state_->trace.get();
  RunRecorder recorder(network, options, trace);
  if (options.announce) options.announce(backend);

  const Step steps = network.steps();
  const auto start = std::chrono::steady_clock::now();
  const Step completed = backend.run(0, steps, recorder);
  const auto stop = std::chrono::steady_clock::now();

  RunSummary summary;
  summary.backend = std::string(backend.name());
  summary.threads = backend.threads();
  summary.steps_requested = steps;
  summary.steps_completed = completed;
  summary.simulated_ms = static_cast<double>(completed) * network.dt_ms;
  summary.wall_s = std::chrono::duration<double>(stop - start).count();
  summary.counters = backend.counters();
  summary.populations = recorder.summaries(completed);
  summary.complete = completed == steps;
  if (SpikeExchange* exchange = options.exchange) {
    summary.counters.neuron_updates = exchange->sum_over_ranks(summary.counters.neuron_updates);
    summary.counters.synaptic_events = exchange->sum_over_ranks(summary.counters.synaptic_events);
    const ExchangeTimes times = exchange->times();
    summary.exchanges = times.exchanges;
    summary.distribution = backend.description();
    const std::vector<double> waiting = exchange->gather_values(times.waiting_s);
    const std::vector<double> communication = exchange->gather_values(times.communication_s);
    const std::vector<double> bytes = exchange->gather_values(static_cast<double>(times.bytes));
    const std::vector<double> wall = exchange->gather_values(summary.wall_s);
    for (std::size_t r = 0; r < wall.size(); ++r) {
      summary.ranks.push_back({wall[r] - waiting[r] - communication[r], waiting[r],
                               communication[r], static_cast<std::uint64_t>(bytes[r])});
    }
  }
  if (trace) trace->finish(summary.complete, completed);
  return summary;
}

RunSummary run_network(Network& network, const RunOptions& options) {
  return PreparedRun(network, options).run();
}

}  // namespace snnsim
