#pragma once
// Comparing two traces (`snnsim trace compare`): are two runs alike in their statistics, or
// identical spike for spike? Used to check the CPU and CUDA backends against each other, runs
// with different seeds, and snnsim against another simulator's spikes written as a trace.
//
// Statistical mode, per population matched by name (docs/trace-analysis.md, "compare"):
// - population traces: the distributions over neurons of the firing rate and of the CV of
//   inter-spike intervals, and over pairs of sampled neurons of the correlation of binned spike
//   counts (definitions as in analysis/spike_statistics.h);
// - layer-graph traces: the layer's firing rate per timestep and the distribution over elements of
//   their firing rates.
// Means must agree within a relative tolerance; distributions within a Kolmogorov–Smirnov
// distance. Exact mode: the same spikes (steps, neurons, samples and values) in the same order.
//
// Both modes stream: memory is O(neurons) per population, never O(spikes).
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "analysis/trace_selection.h"
#include "sim/trace_reader.h"

namespace snnsim::analysis {

/// Two-sample Kolmogorov–Smirnov statistic.
struct KsResult {
  /// D = sup_x |F_a(x) − F_b(x)| over the two empirical distribution functions: 0 for identical
  /// samples, 1 for samples that do not overlap.
  double distance = 0;
  /// Asymptotic p-value of D under "same distribution", Q_KS(λ) with
  /// λ = (√n_e + 0.12 + 0.11/√n_e)·D and n_e = n_a·n_b/(n_a + n_b) (Stephens 1970; Numerical
  /// Recipes §14.3), Q_KS(λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}. Good for n_e ≳ 4; conservative
  /// (too large) when the values have ties, as counts and rates of short runs do.
  double p_value = 1;
};

/// D of two samples sorted ascending. Ties are handled as equal values (both functions step
/// together). An empty sample against a non-empty one gives 1; two empty samples 0.
double ks_distance(std::span<const double> sorted_a, std::span<const double> sorted_b);
/// Q_KS as above, for D between samples of n_a and n_b values; 1 when either is empty.
double ks_p_value(double distance, std::size_t n_a, std::size_t n_b);
/// Sorts copies of the samples; D and its p-value.
KsResult ks_test(std::vector<double> a, std::vector<double> b);

/// |a − b| / max(|a|, |b|): symmetric, in [0, 1] for values of the same sign; 0 when both are 0.
double relative_difference(double a, double b);

struct CompareOptions {
  double tolerance = 0.1;     ///< largest relative difference of means accepted
  double ks_threshold = 0.2;  ///< largest KS distance accepted
  double bin_s = 0.005;       ///< bin of the counts behind correlations (population traces)
  std::vector<std::string> populations;  ///< to compare; empty: every population of either trace
  std::string from, to;                  ///< --from / --to text, applied to each trace
  /// Called as spikes are read: (spikes read so far, spikes to read in all). May be empty.
  std::function<void(std::uint64_t, std::uint64_t)> progress;
};

/// Distributions with fewer values than this on either side are shown but not judged by their
/// KS distance: a handful of values differ by chance (D ≥ 0.2 is likely for n < 20).
inline constexpr std::size_t kKsMinimumValues = 20;

/// One quantity of a population in both traces.
struct Measure {
  std::string name;  ///< "rate", "cv", "correlation", "timestep rate", "element rate"
  std::string unit;  ///< "Hz", "" (dimensionless) or "spikes/step"
  std::size_t count_a = 0, count_b = 0;  ///< values behind each mean (neurons, pairs, ...)
  double mean_a = 0, mean_b = 0;
  /// The difference judged against the tolerance: relative_difference of the means, or for
  /// timestep rates the largest difference of a timestep's rate over the larger mean rate.
  std::optional<double> difference;
  std::optional<KsResult> ks;  ///< for distributions
  bool ks_judged = false;      ///< false when a side has fewer than kKsMinimumValues values
  bool alike = true;
};

struct PopulationComparison {
  std::string name;
  bool in_a = false, in_b = false;
  NeuronIndex size_a = 0, size_b = 0;
  std::uint64_t spikes_a = 0, spikes_b = 0;  ///< in the window
  std::vector<Measure> measures;             ///< statistical mode
  /// What differs, one sentence each ("mean rate differs by 25.0 % (19.3 Hz vs 24.1 Hz) ...");
  /// empty when the population is alike.
  std::vector<std::string> differences;
};

struct Comparison {
  bool exact = false;
  TraceInfo a, b;
  std::vector<PopulationComparison> populations;
  /// Differences of the traces as a whole (kind, time step in exact mode), then every
  /// population's, prefixed with its name.
  std::vector<std::string> differences;
  bool alike() const { return differences.empty(); }
};

/// Statistical comparison. Throws std::runtime_error (one line naming the file) for an unreadable
/// trace, a bad window, or populations named in options that neither trace has.
Comparison compare_statistics(const TraceReader& a, const TraceReader& b,
                              const CompareOptions& options);

/// Exact comparison: the same kind, time step, populations, sizes and spikes. Both traces are
/// read block by block in lockstep; the first differing spike of each population is reported.
Comparison compare_exact(const TraceReader& a, const TraceReader& b, const CompareOptions& options);

}  // namespace snnsim::analysis
