#pragma once
// External drives of population networks: input that does not come from a population.
//
// - PoissonDrive: every target neuron receives its own Poisson train of `rate` (the count per
//   step is Poisson-distributed with mean rate * dt), each event adding `weight` to a receptor.
//   This is NEST's poisson_generator connected to a population: statistically independent input
//   per neuron without a population of generators and their synapses.
// - SpikeTimesDrive: every target neuron receives `weight` at the given steps (NEST's
//   spike_generator connected all-to-all).
// - CurrentDrive: a piecewise-constant current (NEST's dc_generator and step_current_generator).
#include <vector>

#include "kernels/external_input.h"
#include "sim/network.h"
#include "sim/random.h"

namespace snnsim {

class PoissonDrive final : public ExternalDrive {
 public:
  PoissonDrive(std::size_t population, int receptor, double rate_hz, float weight, double dt_ms,
               RandomStream random);
  void apply(Step step, NeuronIndex begin, NeuronIndex end, NeuronIndex first,
             float* input) const override;
  /// The kernel body's view of this drive (its table in host memory).
  PoissonInput input() const {
    return {mean_per_step_, cumulative_.data(), static_cast<std::uint32_t>(cumulative_.size()),
            weight_, random_};
  }

 private:
  double mean_per_step_;
  /// P(count <= k), k = 0, 1, ... up to 1 - 1e-15, for means up to 100: counts by inversion
  /// against it are exact and need neither exp() nor divisions per draw. Empty for larger means.
  std::vector<double> cumulative_;
  float weight_;
  RandomStream random_;
};

/// A drive that gives every target neuron the same input at a step.
class UniformDrive : public ExternalDrive {
 public:
  using ExternalDrive::ExternalDrive;
  /// The input every target neuron receives at `step`.
  virtual float value(Step step) const = 0;
  void apply(Step step, NeuronIndex begin, NeuronIndex end, NeuronIndex first,
             float* input) const override;
};

class SpikeTimesDrive final : public UniformDrive {
 public:
  SpikeTimesDrive(std::size_t population, int receptor, std::vector<Step> steps, float weight);
  float value(Step step) const override;

 private:
  std::vector<Step> steps_;  ///< sorted; a step listed twice delivers twice
  float weight_;
};

class CurrentDrive final : public UniformDrive {
 public:
  /// The current is amplitudes[k] (pA) from step change_steps[k] until the next change; zero
  /// before the first. change_steps ascending.
  CurrentDrive(std::size_t population, std::vector<Step> change_steps,
               std::vector<float> amplitudes);
  float value(Step step) const override;

 private:
  std::vector<Step> change_steps_;
  std::vector<float> amplitudes_;
};

}  // namespace snnsim
