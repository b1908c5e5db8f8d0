#include "encoders/external_drive.h"

#include <algorithm>
#include <cmath>

namespace snnsim {

PoissonDrive::PoissonDrive(std::size_t population, int receptor, double rate_hz, float weight,
                           double dt_ms, RandomStream random)
    : ExternalDrive(population, receptor),
      mean_per_step_(rate_hz * dt_ms * 1e-3),
      weight_(weight),
      random_(random) {
  if (mean_per_step_ > 0 && mean_per_step_ <= 100) {
    double p = std::exp(-mean_per_step_), total = p;
    cumulative_.push_back(total);
    for (std::uint32_t k = 1; 1.0 - total > 1e-15 && k < 1000; ++k) {
      p *= mean_per_step_ / k;
      total += p;
      cumulative_.push_back(total);
    }
  }
}

void PoissonDrive::apply(Step step, NeuronIndex begin, NeuronIndex end, NeuronIndex first,
                         float* input) const {
  if (begin >= end) return;
  const PoissonInput poisson = this->input();
  for (NeuronIndex group = begin / 4; group <= (end - 1) / 4; ++group)
    poisson.add_group(group, begin, end, first, step, input);
}

void UniformDrive::apply(Step step, NeuronIndex begin, NeuronIndex end, NeuronIndex first,
                         float* input) const {
  const float total = value(step);
  if (total == 0.0f) return;
  for (NeuronIndex i = begin; i < end; ++i)
    input[i - first] += total;
}

SpikeTimesDrive::SpikeTimesDrive(std::size_t population, int receptor, std::vector<Step> steps,
                                 float weight)
    : UniformDrive(population, receptor), steps_(std::move(steps)), weight_(weight) {
  std::sort(steps_.begin(), steps_.end());
}

float SpikeTimesDrive::value(Step step) const {
  const auto [first, last] = std::equal_range(steps_.begin(), steps_.end(), step);
  return weight_ * static_cast<float>(last - first);
}

CurrentDrive::CurrentDrive(std::size_t population, std::vector<Step> change_steps,
                           std::vector<float> amplitudes)
    : UniformDrive(population, kCurrent),
      change_steps_(std::move(change_steps)),
      amplitudes_(std::move(amplitudes)) {}

float CurrentDrive::value(Step step) const {
  const auto after = std::upper_bound(change_steps_.begin(), change_steps_.end(), step);
  return after == change_steps_.begin() ? 0.0f : amplitudes_[after - change_steps_.begin() - 1];
}

}  // namespace snnsim
