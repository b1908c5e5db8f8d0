#pragma once
// Statistics of spike trains, accumulated block by block as a trace is streamed: memory is a few
// arrays of one number per neuron plus a fixed correlation sample, never proportional to the
// number of spikes or to the duration. The definitions (also in docs/trace-analysis.md):
//
// Population of N neurons, window of T steps of dt (duration D = T·dt), neuron i fires n_i spikes.
//
// - Rate:        r_i = n_i / D (Hz). Reported: mean, standard deviation (over the N neurons, 1/N),
//                min, max and the 5/25/50/75/95th percentiles (linear interpolation between
//                order statistics, as numpy.percentile), and the silent fraction #{n_i = 0} / N.
// - CV of ISIs:  for each neuron with n_i >= 3 spikes, its inter-spike intervals I (n_i − 1 of
//                them, in the window) give CV_i = s(I) / mean(I), with s the sample standard
//                deviation (1/(n−1)). Reported: mean and median of CV_i over those neurons.
//                Poisson trains give CV ≈ 1, regular trains 0.
// - Counts:      the window is cut into K = floor(T / B) bins of B steps (--bin); a trailing
//                partial bin is left out of the counts (its spikes still count for rates and
//                ISIs). c_i(k) is neuron i's spike count in bin k.
// - Fano factor: F_i = s²(c_i) / mean(c_i) over the K bins (sample variance, 1/(K−1)), for each
//                neuron with at least one spike in the bins; reported as the mean of F_i. Poisson
//                trains give F ≈ 1, regular trains whose period divides the bin 0.
// - Correlation: Pearson's r of c_i and c_j over the K bins, for every pair of a fixed sample of
//                M = min(50, N) neurons (chosen by kCorrelationSeed, the same for every trace of
//                the same N, so runs compare); pairs where either count is constant are left
//                out. Reported: the mean r and the number of pairs. Independent trains give r ≈ 0.
// - Synchrony:   Golomb's χ² = Var_k(A) / ((1/N) Σ_i Var_k(c_i)) with A(k) = (1/N) Σ_i c_i(k)
//                the population-averaged count (variances over bins, 1/K). χ² = 1 when all neurons
//                fire together; independent neurons give χ² ≈ 1/N.
//
// Layer graphs (LayerActivityAccumulator) have a handful of timesteps per sample, too few for
// intervals or bins: their statistics are firing rates, per timestep and per element.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "analysis/trace_selection.h"
#include "sim/types.h"

namespace snnsim::analysis {

/// Seed of the neurons sampled for correlations (a 64-bit Mersenne twister, whose output is the
/// same on every platform).
inline constexpr std::uint64_t kCorrelationSeed = 20240501;
/// Neurons sampled for correlations: M(M − 1)/2 = 1,225 pairs.
inline constexpr std::size_t kCorrelationNeurons = 50;

/// Distribution of a quantity over neurons.
struct Distribution {
  double mean = 0, sd = 0, min = 0, p5 = 0, p25 = 0, median = 0, p75 = 0, p95 = 0, max = 0;
};

/// `values` summarized; sorts them. All zero for no values.
Distribution distribution_of(std::vector<double>& values);

struct SpikeStatistics {
  NeuronIndex neurons = 0;
  std::uint64_t spikes = 0;  ///< in the window
  double duration_s = 0;     ///< of the window
  Distribution rate_hz;      ///< over all neurons, silent ones included
  double silent_fraction = 0;
  std::size_t cv_neurons = 0;  ///< neurons with >= 3 spikes
  std::optional<double> cv_mean, cv_median;
  double bin_s = 0;
  std::uint64_t bins = 0;        ///< K, whole bins in the window
  std::size_t fano_neurons = 0;  ///< neurons with a spike in the bins
  std::optional<double> fano_mean;
  std::size_t correlation_neurons = 0, correlation_pairs = 0;  ///< sampled; pairs with a value
  std::optional<double> correlation_mean;
  std::optional<double> synchrony_chi2;
};

/// Statistics of one population's spikes. Feed every spike of the window in time order (as
/// population traces store them); spikes outside the window are skipped.
/// The per-neuron values behind the summaries, for comparing distributions
/// (analysis/trace_compare.h).
struct NeuronValues {
  std::vector<double> rates_hz;      ///< per neuron, silent ones included
  std::vector<double> cvs;           ///< per neuron with >= 3 spikes
  std::vector<double> correlations;  ///< per sampled pair whose binned counts both vary
};

class SpikeStatisticsAccumulator {
 public:
  /// `correlation_neurons`: the size of the seeded sample whose pairwise correlations are taken.
  /// The memory it holds per neuron, at most: its tables and those finish fills.
  static constexpr std::uint64_t kBytesPerNeuron = 96;

  SpikeStatisticsAccumulator(NeuronIndex neurons, StepWindow window, double dt_s, Step bin_steps,
                             std::size_t correlation_neurons = kCorrelationNeurons);
  /// Spikes as TraceReader gives them: neurons in range, in time order (it checks both).
  void add(std::span<const Step> steps, std::span<const NeuronIndex> indices);
  /// The statistics, and with `values` the per-neuron values they summarise; call once, after
  /// the last add.
  SpikeStatistics finish(NeuronValues* values = nullptr);

 private:
  void close_bin();

  NeuronIndex neurons_;
  StepWindow window_;
  double dt_s_;
  Step bin_steps_;
  std::uint64_t bins_;  ///< whole bins in the window
  std::uint64_t spikes_ = 0;
  // Per neuron: spike count, last spike step, and Welford's running mean and sum of squared
  // deviations of the inter-spike intervals (exact for regular trains, unlike sums of squares).
  std::vector<std::uint64_t> count_;
  std::vector<Step> last_step_;
  std::vector<double> isi_mean_, isi_m2_;
  // Binned counts. Bins without a neuron's spike add 0 to its sums, so only the neurons that fired
  // in the open bin (touched_) are visited when it closes: the cost follows the spikes, not N × K.
  std::uint64_t open_bin_ = 0;
  std::vector<std::uint32_t> bin_count_;
  std::vector<NeuronIndex> touched_;
  std::vector<std::uint64_t> bin_sum_, bin_sum_squares_;
  std::uint64_t population_bin_sum_ = 0;
  double population_bin_sum_squares_ = 0;
  // The correlation sample: slot of each neuron (-1 when not sampled), and Σc, Σc² (diagonal) and
  // Σ c_a c_b over bins for each pair of slots, row-major M × M.
  std::vector<int> slot_of_;
  std::size_t sampled_ = 0;
  std::vector<std::uint64_t> co_moment_;
};

/// A layer's activity in a layer-graph trace: T timesteps, S samples, E elements per sample.
struct LayerActivity {
  std::uint64_t spikes = 0;  ///< in the window
  /// Spikes per element per timestep: spikes / (E · T_window · S).
  double firing_rate = 0;
  /// firing rate of each timestep of the window: spikes at t / (E · S).
  std::vector<double> timestep_rates;
  /// Elements that never fired, in any sample or timestep of the window, over E.
  double silent_fraction = 0;
};

class LayerActivityAccumulator {
 public:
  LayerActivityAccumulator(NeuronIndex elements, std::uint64_t samples, StepWindow window);
  /// Spikes in any order, neurons in range (TraceReader checks them); those outside the window
  /// are skipped.
  void add(std::span<const Step> steps, std::span<const NeuronIndex> indices);
  LayerActivity finish() const;

 private:
  NeuronIndex elements_;
  std::uint64_t samples_;
  StepWindow window_;
  std::vector<std::uint64_t> timestep_spikes_;
  std::vector<bool> fired_;
};

}  // namespace snnsim::analysis
