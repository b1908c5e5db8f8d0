#include "analysis/spike_statistics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace snnsim::analysis {

namespace {

using Wide = unsigned __int128;

/// K Σx² − (Σx)² for integer samples: K² times their variance (1/K), exact.
double scaled_variance(std::uint64_t bins, std::uint64_t sum, Wide sum_squares) {
  const Wide scaled = static_cast<Wide>(bins) * sum_squares;
  const Wide square = static_cast<Wide>(sum) * sum;
  return scaled > square ? static_cast<double>(scaled - square) : 0.0;
}

/// The p-th percentile of sorted values, interpolated linearly between order statistics.
double percentile(const std::vector<double>& sorted, double p) {
  const double position = p / 100 * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (position - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

}  // namespace

Distribution distribution_of(std::vector<double>& values) {
  Distribution d;
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  const double n = static_cast<double>(values.size());
  d.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double squares = 0;
  for (double v : values)
    squares += (v - d.mean) * (v - d.mean);
  d.sd = std::sqrt(squares / n);
  d.min = values.front();
  d.max = values.back();
  d.p5 = percentile(values, 5);
  d.p25 = percentile(values, 25);
  d.median = percentile(values, 50);
  d.p75 = percentile(values, 75);
  d.p95 = percentile(values, 95);
  return d;
}

SpikeStatisticsAccumulator::SpikeStatisticsAccumulator(NeuronIndex neurons, StepWindow window,
                                                       double dt_s, Step bin_steps,
                                                       std::size_t correlation_neurons)
    : neurons_(neurons),
      window_(window),
      dt_s_(dt_s),
      bin_steps_(std::max<Step>(bin_steps, 1)),
      bins_(window.steps() / bin_steps_),
      count_(neurons, 0),
      last_step_(neurons, 0),
      isi_mean_(neurons, 0.0),
      isi_m2_(neurons, 0.0),
      bin_count_(neurons, 0),
      bin_sum_(neurons, 0),
      bin_sum_squares_(neurons, 0),
      slot_of_(neurons, -1) {
  // A partial Fisher-Yates shuffle of 0..N-1 draws the correlation sample; the generator's output
  // (unlike std::uniform_int_distribution's) is specified, so every platform draws the same one.
  sampled_ = std::min<std::size_t>(correlation_neurons, neurons);
  std::vector<NeuronIndex> order(neurons);
  std::iota(order.begin(), order.end(), NeuronIndex{0});
  std::mt19937_64 generator(kCorrelationSeed);
  for (std::size_t i = 0; i < sampled_; ++i) {
    const std::size_t j = i + generator() % (neurons - i);
    std::swap(order[i], order[j]);
    slot_of_[order[i]] = static_cast<int>(i);
  }
  co_moment_.assign(sampled_ * sampled_, 0);
}

void SpikeStatisticsAccumulator::close_bin() {
  std::uint64_t population = 0;
  for (NeuronIndex n : touched_) {
    const std::uint64_t c = bin_count_[n];
    population += c;
    bin_sum_[n] += c;
    bin_sum_squares_[n] += c * c;
    const int a = slot_of_[n];
    if (a < 0) continue;
    for (NeuronIndex m : touched_) {
      const int b = slot_of_[m];
      if (b >= a) co_moment_[static_cast<std::size_t>(a) * sampled_ + b] += c * bin_count_[m];
    }
  }
  for (NeuronIndex n : touched_)
    bin_count_[n] = 0;
  touched_.clear();
  population_bin_sum_ += population;
  population_bin_sum_squares_ += static_cast<double>(population) * static_cast<double>(population);
}

void SpikeStatisticsAccumulator::add(std::span<const Step> steps,
                                     std::span<const NeuronIndex> indices) {
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const Step step = steps[s];
    if (step < window_.first || step >= window_.last) continue;
    const NeuronIndex n = indices[s];
    ++spikes_;
    if (count_[n] > 0) {
      // Welford's update of the interval mean and squared deviations.
      const double interval = static_cast<double>(step - last_step_[n]);
      const double intervals = static_cast<double>(count_[n]);
      const double delta = interval - isi_mean_[n];
      isi_mean_[n] += delta / intervals;
      isi_m2_[n] += delta * (interval - isi_mean_[n]);
    }
    ++count_[n];
    last_step_[n] = step;

    const std::uint64_t bin = (step - window_.first) / bin_steps_;
    if (bin >= bins_) continue;  // the trailing partial bin
    if (bin != open_bin_) {
      close_bin();
      open_bin_ = bin;
    }
    if (bin_count_[n]++ == 0) touched_.push_back(n);
  }
}

SpikeStatistics SpikeStatisticsAccumulator::finish(NeuronValues* neuron_values) {
  close_bin();
  SpikeStatistics s;
  s.neurons = neurons_;
  s.spikes = spikes_;
  s.duration_s = static_cast<double>(window_.steps()) * dt_s_;
  s.bin_s = static_cast<double>(bin_steps_) * dt_s_;
  s.bins = bins_;

  std::vector<double> values(neurons_);
  std::size_t silent = 0;
  for (NeuronIndex n = 0; n < neurons_; ++n) {
    values[n] = static_cast<double>(count_[n]) / s.duration_s;
    silent += count_[n] == 0;
  }
  if (neuron_values) neuron_values->rates_hz = values;
  s.rate_hz = distribution_of(values);
  s.silent_fraction = neurons_ > 0 ? static_cast<double>(silent) / neurons_ : 0.0;

  values.clear();
  for (NeuronIndex n = 0; n < neurons_; ++n) {
    if (count_[n] < 3 || isi_mean_[n] <= 0) continue;
    const double intervals = static_cast<double>(count_[n] - 1);
    values.push_back(std::sqrt(isi_m2_[n] / (intervals - 1)) / isi_mean_[n]);
  }
  s.cv_neurons = values.size();
  if (neuron_values) neuron_values->cvs = values;
  if (!values.empty()) {
    const Distribution cv = distribution_of(values);
    s.cv_mean = cv.mean;
    s.cv_median = cv.median;
  }

  if (bins_ >= 2 && neurons_ > 0) {
    const double k = static_cast<double>(bins_);
    // Fano: s²/mean with s² = (KΣc² − (Σc)²) / (K(K−1)) and mean = Σc / K.
    double fano_sum = 0, variance_sum = 0;
    for (NeuronIndex n = 0; n < neurons_; ++n) {
      const double scaled = scaled_variance(bins_, bin_sum_[n], bin_sum_squares_[n]);
      variance_sum += scaled / (k * k);
      if (bin_sum_[n] == 0) continue;
      fano_sum += scaled / (k * (k - 1)) / (static_cast<double>(bin_sum_[n]) / k);
      ++s.fano_neurons;
    }
    if (s.fano_neurons > 0) s.fano_mean = fano_sum / static_cast<double>(s.fano_neurons);

    // χ²: the population average A = S / N has variance Var(S) / N².
    const double mean_population = static_cast<double>(population_bin_sum_) / k;
    const double population_variance =
        std::max(0.0, population_bin_sum_squares_ / k - mean_population * mean_population) /
        (static_cast<double>(neurons_) * neurons_);
    const double mean_variance = variance_sum / neurons_;
    if (mean_variance > 0) s.synchrony_chi2 = population_variance / mean_variance;

    // Pearson's r = (KΣab − ΣaΣb) / sqrt((KΣa² − (Σa)²)(KΣb² − (Σb)²)).
    std::vector<NeuronIndex> neuron_of(sampled_);
    for (NeuronIndex n = 0; n < neurons_; ++n)
      if (slot_of_[n] >= 0) neuron_of[slot_of_[n]] = n;
    double r_sum = 0;
    for (std::size_t a = 0; a < sampled_; ++a) {
      const NeuronIndex i = neuron_of[a];
      const double var_a = scaled_variance(bins_, bin_sum_[i], co_moment_[a * sampled_ + a]);
      for (std::size_t b = a + 1; b < sampled_; ++b) {
        const NeuronIndex j = neuron_of[b];
        const double var_b = scaled_variance(bins_, bin_sum_[j], co_moment_[b * sampled_ + b]);
        if (var_a <= 0 || var_b <= 0) continue;
        const double covariance = k * static_cast<double>(co_moment_[a * sampled_ + b]) -
                                  static_cast<double>(bin_sum_[i]) * bin_sum_[j];
        const double r = covariance / std::sqrt(var_a * var_b);
        r_sum += r;
        if (neuron_values) neuron_values->correlations.push_back(r);
        ++s.correlation_pairs;
      }
    }
    s.correlation_neurons = sampled_;
    if (s.correlation_pairs > 0) s.correlation_mean = r_sum / s.correlation_pairs;
  }
  return s;
}

LayerActivityAccumulator::LayerActivityAccumulator(NeuronIndex elements, std::uint64_t samples,
                                                   StepWindow window)
    : elements_(elements),
      samples_(samples),
      window_(window),
      timestep_spikes_(window.steps(), 0),
      fired_(elements, false) {}

void LayerActivityAccumulator::add(std::span<const Step> steps,
                                   std::span<const NeuronIndex> indices) {
  for (std::size_t s = 0; s < steps.size(); ++s) {
    if (steps[s] < window_.first || steps[s] >= window_.last) continue;
    ++timestep_spikes_[steps[s] - window_.first];
    fired_[indices[s]] = true;
  }
}

LayerActivity LayerActivityAccumulator::finish() const {
  LayerActivity a;
  const double per_timestep = static_cast<double>(elements_) * static_cast<double>(samples_);
  for (std::uint64_t spikes : timestep_spikes_) {
    a.spikes += spikes;
    a.timestep_rates.push_back(per_timestep > 0 ? static_cast<double>(spikes) / per_timestep : 0);
  }
  const double slots = per_timestep * static_cast<double>(timestep_spikes_.size());
  a.firing_rate = slots > 0 ? static_cast<double>(a.spikes) / slots : 0;
  const auto silent = std::count(fired_.begin(), fired_.end(), false);
  a.silent_fraction = elements_ > 0 ? static_cast<double>(silent) / elements_ : 0;
  return a;
}

}  // namespace snnsim::analysis
