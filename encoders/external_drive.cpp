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

void PoissonDrive::apply(Step step, NeuronIndex begin, NeuronIndex end, float* input) const {
  // Each (neuron, step) owns the 2^16 Philox counters from step * 2^16: more than a draw uses.
  const std::uint64_t counter = step << 16;
  if (cumulative_.empty()) {
    for (NeuronIndex i = begin; i < end; ++i) {
      RandomSequence draws(random_, i, counter);
      input[i] += weight_ * static_cast<float>(draws.poisson(mean_per_step_));
    }
    return;
  }
  // With the table a count takes one uniform, so one Philox block (at index i / 4) serves four
  // neighbouring neurons; the rare count beyond the table continues at counter + 1.
  PhiloxBlock block{};
  for (NeuronIndex i = begin; i < end; ++i) {
    if (i == begin || i % 4 == 0) block = random_.block(i / 4, counter);
    const double u = uniform_open_double(block.v[i % 4]);
    std::uint32_t count = 0;
    while (count < cumulative_.size() && u > cumulative_[count])
      ++count;
    if (count == cumulative_.size()) {
      RandomSequence tail(random_, i, counter + 1);
      count = tail.poisson(mean_per_step_);
    }
    input[i] += weight_ * static_cast<float>(count);
  }
}

SpikeTimesDrive::SpikeTimesDrive(std::size_t population, int receptor, std::vector<Step> steps,
                                 float weight)
    : ExternalDrive(population, receptor), steps_(std::move(steps)), weight_(weight) {
  std::sort(steps_.begin(), steps_.end());
}

void SpikeTimesDrive::apply(Step step, NeuronIndex begin, NeuronIndex end, float* input) const {
  const auto [first, last] = std::equal_range(steps_.begin(), steps_.end(), step);
  const float total = weight_ * static_cast<float>(last - first);
  if (total == 0.0f) return;
  for (NeuronIndex i = begin; i < end; ++i)
    input[i] += total;
}

CurrentDrive::CurrentDrive(std::size_t population, std::vector<Step> change_steps,
                           std::vector<float> amplitudes)
    : ExternalDrive(population, kCurrent),
      change_steps_(std::move(change_steps)),
      amplitudes_(std::move(amplitudes)) {}

void CurrentDrive::apply(Step step, NeuronIndex begin, NeuronIndex end, float* input) const {
  const auto after = std::upper_bound(change_steps_.begin(), change_steps_.end(), step);
  if (after == change_steps_.begin()) return;
  const float amplitude = amplitudes_[after - change_steps_.begin() - 1];
  for (NeuronIndex i = begin; i < end; ++i)
    input[i] += amplitude;
}

}  // namespace snnsim
