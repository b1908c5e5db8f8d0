#pragma once
// Fixed-point export for Loihi-2-class targets: quantises a population network to Lava's
// bit-accurate LIF (sim/models/loihi2_lif.h) and 8-bit weights with a per-projection exponent,
// and measures how far the quantised network's spikes are from the float network's.
//
// The arithmetic follows lava-nc/lava: src/lava/proc/lif/models.py (PyLifModelBitAcc: 12-bit
// decays du, dv; 24-bit u, v; 17-bit threshold shifted by 6), src/lava/proc/dense/models.py
// (PyDenseModelBitAcc: 8-bit weights, accumulated sum shifted by weight_exp) and
// src/lava/utils/weightutils.py (weight ranges per sign mode). docs/export.md has the mapping.
#include <cstdint>
#include <string>
#include <vector>

#include "networks/network_spec.h"
#include "sim/models/loihi2_lif.h"

namespace snnsim::hardware {

/// Lava's shifts and ranges the quantiser needs besides the model's (sim/models/loihi2_lif.h).
inline constexpr int kThresholdShift = Loihi2Lif::kThresholdShift;  ///< threshold vth << 6
inline constexpr int kActivationShift = 6;  ///< synaptic input << 6 before it is added to u
inline constexpr int kBiasExponentMax = 7;  ///< 3-bit unsigned exponent
/// The threshold mantissa the quantiser aims for: 2^14, so that the threshold is 2^20 and the
/// 24-bit voltage has 8 threshold distances of room on either side of the reset (0).
inline constexpr std::int64_t kTargetThresholdMantissa = std::int64_t{1} << 14;

/// The 12-bit decay constant of a time constant before rounding: 4096 (1 - exp(-dt / tau)); 0 for
/// an infinite tau.
double decay_constant(double tau_ms, double dt_ms);

/// How one weight set (a projection or an input drive) was quantised.
struct WeightQuantisation {
  std::string element;  ///< "projection E->I:ex" or "input input:0:E"
  int exponent = 0;     ///< Lava's weight_exp (>= 0 here)
  int mantissa_limit = 255;
  double max_abs_error = 0.0;  ///< |quantised - scaled float|, in activation units
  double max_relative_error = 0.0;
  double lsb = 0.0;         ///< 2^(exponent + 6): one mantissa step in activation units
  std::size_t clipped = 0;  ///< weights beyond the mantissa range, clipped
  std::size_t zeroed = 0;   ///< nonzero weights rounded to 0
  std::size_t weights = 0;  ///< distinct weight values quantised (1 for a constant)
};

/// The quantised network and what the quantisation approximated.
struct Loihi2Export {
  NetworkSpec network;      ///< loihi2_lif populations, integer weights, same names and seed
  double mv_per_lsb = 0.0;  ///< the voltage scale; 0 when no population was mapped
  std::vector<WeightQuantisation> weights;
  std::vector<std::string> notes;  ///< one line each: "E: t_ref 5 ms dropped (...)"
};

/// The float network's operating point, for what is linearised around it: per population, the
/// mean rate (Hz) and the mean membrane potential (mV, over neurons and time, NaN where the model
/// has no v), from a float run (measure_operating_point). Empty: no linearisation.
struct OperatingPoint {
  std::vector<double> rates_hz;
  std::vector<double> mean_v_mv;
};

struct Loihi2Options {
  OperatingPoint operating_point;
  /// false: the same mapping without rounding anything, as loihi2_lif populations with
  /// arithmetic = float and unrounded weights: the mapped network in float arithmetic, which
  /// separates the mapping's error from the quantisation's.
  bool quantise = true;
};

/// Whether quantising `spec` linearises around an operating point (it has conductance synapses).
bool needs_operating_point(const NetworkSpec& spec);

/// The operating point of a float run of `spec` on the CPU: rates, and v sampled every
/// millisecond in every neuron of the populations whose model has one.
OperatingPoint measure_operating_point(const NetworkSpec& spec, int threads);

/// Quantises a validated population network; loihi2_lif populations, already in fixed point, are
/// copied with what feeds them. Throws NetworkFileError (naming the file and JSON pointer) for
/// what cannot be mapped: models without a fixed-point counterpart, drawn weights (uniform or
/// normal; only constants and lists are quantised per value), step currents.
Loihi2Export quantise_for_loihi2(const NetworkSpec& spec, const Loihi2Options& options = {});

/// Lava's weight quantisation of scaled weights `x` (integer activation units): the smallest
/// exponent e >= 0 with every |x| / 2^(e+6) within the mantissa range (255 for one sign, 127 /
/// -128 for mixed signs, as weightutils.py's _determine_weight_exp), and each weight rounded to
/// the nearest multiple of 2^(e+6). Returns the statistics; `x` is replaced by the quantised
/// values.
WeightQuantisation quantise_weights(std::vector<double>& x);

/// The quantised network as a network file (JSON text) that `snnsim run` reads.
std::string network_file_text(const NetworkSpec& spec, const std::string& description);

/// Spike statistics of one population in a run against a reference run of the same populations.
struct PopulationDeviation {
  std::string name;
  NeuronIndex size = 0;
  std::uint64_t reference_spikes = 0, spikes = 0;
  double reference_rate_hz = 0.0, rate_hz = 0.0;
  double relative_difference = 0.0;      ///< (spikes - reference) / reference; 0 when both are 0
  double matched_within_one_step = 0.0;  ///< fraction of the spikes with a reference spike of the
                                         ///< same neuron within +-1 step (0: none)
  std::int64_t first_divergence_step = -1;  ///< first step whose spike sets differ; -1: never
};

/// The two errors of an export, population by population: the mapping (the float network
/// against the mapped network in float arithmetic) and the quantisation (the mapped float
/// network against the fixed-point network).
struct Loihi2Deviation {
  std::vector<PopulationDeviation> mapping, quantisation;
};

/// Runs the three networks (same populations in the same order) on the CPU with `threads`
/// threads and compares their spikes.
Loihi2Deviation compare_runs(const NetworkSpec& float_network, const NetworkSpec& mapped_network,
                             const NetworkSpec& fixed_network, int threads);

}  // namespace snnsim::hardware
