#include "analysis/trace_compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "analysis/spike_statistics.h"

namespace snnsim::analysis {

namespace {

/// Spikes read per block: about 20 MB of buffers per stream (step, index, sample, value).
constexpr std::size_t kBlockSpikes = std::size_t{1} << 20;
/// Neurons sampled for the correlation distribution: M(M − 1)/2 = 4,950 pairs, enough for a KS
/// distance resolved to about 0.03 (the summary's 50 neurons give 1,225 pairs).
constexpr std::size_t kCorrelationSample = 100;

std::string format(const char* pattern, auto... values) {
  char text[256];
  std::snprintf(text, sizeof text, pattern, values...);
  return text;
}

/// 61,721: spike counts in messages.
std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

double mean_of(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values)
    sum += v;
  return values.empty() ? 0.0 : sum / static_cast<double>(values.size());
}

// --- statistical mode -----------------------------------------------------------------------

/// The values behind the compared distributions of one population in one trace.
struct PopulationValues {
  std::uint64_t spikes = 0;
  std::vector<double> rates;           ///< per neuron, Hz (layers: spikes per element per step)
  std::vector<double> cvs;             ///< per neuron with >= 3 spikes
  std::vector<double> correlations;    ///< per sampled pair whose counts both vary
  double firing_rate = 0;              ///< layers: spikes / (elements · timesteps · samples)
  std::vector<double> timestep_rates;  ///< layers
};

/// A trace opened for comparison: its metadata, window and populations.
struct Side {
  const TraceReader* reader = nullptr;
  TraceInfo info;
  StepWindow window;
  std::vector<std::string> names;  ///< every population of the trace

  bool has(const std::string& name) const {
    return std::find(names.begin(), names.end(), name) != names.end();
  }
};

Side open_side(const TraceReader& reader, const CompareOptions& options) {
  Side side;
  side.reader = &reader;
  side.info = read_trace_info(reader);
  side.window = window_from_options(side.info, options.from, options.to);
  side.names = reader.population_names();
  return side;
}

/// The populations compared: those asked for, or every population of either trace (A's order,
/// then those only in B). A name that neither trace has is an error.
std::vector<std::string> compared_names(const Side& a, const Side& b,
                                        const CompareOptions& options) {
  std::vector<std::string> names;
  for (const std::string& name : options.populations) {
    if (!a.has(name) && !b.has(name)) {
      throw std::runtime_error("no population '" + name + "' in " + a.info.path + " or " +
                               b.info.path);
    }
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  if (!options.populations.empty()) return names;
  names = a.names;
  for (const std::string& name : b.names)
    if (!a.has(name)) names.push_back(name);
  return names;
}

/// The population's spikes in the side's window, read once.
PopulationValues collect(const Side& side, const PopulationInfo& population, Step bin_steps,
                         ProgressCounter& progress) {
  const SpikeRange range = spike_range(*side.reader, side.info, population, side.window);
  if (side.info.kind == TraceKind::population) {
    // The summary's accumulator, asked for the per-neuron values behind its summaries.
    check_table_memory(side.info, population.size, SpikeStatisticsAccumulator::kBytesPerNeuron,
                       "the statistics of population '" + population.name + "'");
    SpikeStatisticsAccumulator statistics(population.size, side.window, side.info.dt_s, bin_steps,
                                          kCorrelationSample);
    if (range.last > range.first) {
      side.reader->for_each_spike_block(
          population.name,
          [&](const SpikeBlock& block) {
            statistics.add(block.steps, block.indices);
            progress.add(block.steps.size());
          },
          kBlockSpikes, range.first, range.last);
    }
    NeuronValues neurons;
    PopulationValues values;
    values.spikes = statistics.finish(&neurons).spikes;
    values.rates = std::move(neurons.rates_hz);
    values.cvs = std::move(neurons.cvs);
    values.correlations = std::move(neurons.correlations);
    return values;
  }
  // Layer graphs: rates per timestep from the summary's accumulator, per element counted here.
  LayerActivityAccumulator activity(population.size, side.info.samples, side.window);
  check_table_memory(side.info, population.size, sizeof(std::uint64_t),
                     "the spike counts of layer '" + population.name + "'");
  std::vector<std::uint64_t> element_spikes(population.size, 0);
  if (range.last > range.first) {
    side.reader->for_each_spike_block(
        population.name,
        [&](const SpikeBlock& block) {
          activity.add(block.steps, block.indices);
          for (std::size_t k = 0; k < block.steps.size(); ++k) {
            if (block.steps[k] >= side.window.first && block.steps[k] < side.window.last) {
              ++element_spikes[block.indices[k]];  // in range: the reader checked
            }
          }
          progress.add(block.steps.size());
        },
        kBlockSpikes, range.first, range.last);
  }
  const LayerActivity layer = activity.finish();
  PopulationValues values;
  values.spikes = layer.spikes;
  values.firing_rate = layer.firing_rate;
  values.timestep_rates = layer.timestep_rates;
  const double slots =
      static_cast<double>(side.window.steps()) * static_cast<double>(side.info.samples);
  values.rates.reserve(population.size);
  for (std::uint64_t n : element_spikes)
    values.rates.push_back(slots > 0 ? static_cast<double>(n) / slots : 0.0);
  return values;
}

/// A measure of means (judged against the tolerance) and, when `distribution`, of KS distance.
Measure judge(const std::string& name, const std::string& unit, const std::vector<double>& a,
              const std::vector<double>& b, bool judge_means, const CompareOptions& options,
              std::vector<std::string>& differences) {
  Measure m;
  m.name = name;
  m.unit = unit;
  m.count_a = a.size();
  m.count_b = b.size();
  m.mean_a = mean_of(a);
  m.mean_b = mean_of(b);
  const std::string unit_suffix = unit.empty() ? "" : " " + unit;
  if (a.empty() != b.empty()) {
    m.alike = false;
    differences.push_back(format("%s: values only in %s (%zu vs %zu)", name.c_str(),
                                 a.empty() ? "B" : "A", a.size(), b.size()));
    return m;
  }
  if (a.empty()) return m;
  if (judge_means) {
    m.difference = relative_difference(m.mean_a, m.mean_b);
    if (*m.difference > options.tolerance) {
      m.alike = false;
      differences.push_back(
          format("mean %s differs by %.1f %% (%.4g%s vs %.4g%s; tolerance %.1f %%)", name.c_str(),
                 100 * *m.difference, m.mean_a, unit_suffix.c_str(), m.mean_b, unit_suffix.c_str(),
                 100 * options.tolerance));
    }
  }
  m.ks = ks_test(a, b);
  m.ks_judged = a.size() >= kKsMinimumValues && b.size() >= kKsMinimumValues;
  if (m.ks_judged && m.ks->distance > options.ks_threshold) {
    m.alike = false;
    differences.push_back(format("%s distributions differ: KS distance %.3f > %.3f (p = %.2g)",
                                 name.c_str(), m.ks->distance, options.ks_threshold,
                                 m.ks->p_value));
  }
  return m;
}

/// Layer graphs: the largest difference of a timestep's rate, relative to the larger mean rate.
Measure judge_timesteps(const PopulationValues& a, const PopulationValues& b,
                        const CompareOptions& options, std::vector<std::string>& differences) {
  Measure m;
  m.name = "timestep rate";
  m.unit = "spikes/step";
  m.count_a = a.timestep_rates.size();
  m.count_b = b.timestep_rates.size();
  m.mean_a = a.firing_rate;
  m.mean_b = b.firing_rate;
  if (a.timestep_rates.size() != b.timestep_rates.size()) {
    m.alike = false;
    differences.push_back(
        format("timesteps differ: %zu vs %zu", a.timestep_rates.size(), b.timestep_rates.size()));
    return m;
  }
  const double scale = std::max(a.firing_rate, b.firing_rate);
  double largest = 0;
  std::size_t at = 0;
  for (std::size_t t = 0; t < a.timestep_rates.size(); ++t) {
    const double d = scale > 0 ? std::abs(a.timestep_rates[t] - b.timestep_rates[t]) / scale : 0;
    if (d > largest) largest = d, at = t;
  }
  m.difference = largest;
  if (largest > options.tolerance) {
    m.alike = false;
    differences.push_back(format(
        "firing rate of timestep %zu differs by %.1f %% of the mean rate (%.4g vs %.4g; "
        "tolerance %.1f %%)",
        at, 100 * largest, a.timestep_rates[at], b.timestep_rates[at], 100 * options.tolerance));
  }
  return m;
}

/// Fills `p`'s presence and sizes; false (with a difference) when it cannot be compared further.
bool match_population(const Side& a, const Side& b, PopulationComparison& p, PopulationInfo& info_a,
                      PopulationInfo& info_b) {
  p.in_a = a.has(p.name);
  p.in_b = b.has(p.name);
  if (!p.in_a || !p.in_b) {
    const Side& missing = p.in_a ? b : a;
    p.differences.push_back(format("only in %s (%s has no population '%s')", p.in_a ? "A" : "B",
                                   missing.info.path.c_str(), p.name.c_str()));
    return false;
  }
  info_a = select_populations(*a.reader, {p.name}).front();
  info_b = select_populations(*b.reader, {p.name}).front();
  p.size_a = info_a.size;
  p.size_b = info_b.size;
  if (info_a.has_spikes != info_b.has_spikes) {
    p.differences.push_back(format("spikes recorded only in %s", info_a.has_spikes ? "A" : "B"));
    return false;
  }
  return info_a.has_spikes;
}

std::uint64_t spikes_to_read(const Side& side, const std::vector<std::string>& names) {
  std::uint64_t total = 0;
  for (const std::string& name : names) {
    if (!side.has(name)) continue;
    for (const PopulationInfo& p : select_populations(*side.reader, {name})) {
      const SpikeRange range = spike_range(*side.reader, side.info, p, side.window);
      total += range.last - range.first;
    }
  }
  return total;
}

/// Moves every population's differences to the comparison's, prefixed with the name.
void gather_differences(Comparison& c) {
  for (const PopulationComparison& p : c.populations) {
    for (const std::string& d : p.differences)
      c.differences.push_back(p.name + ": " + d);
  }
}

// --- exact mode -----------------------------------------------------------------------------

/// One population's spikes in a window, read a block at a time: the two traces of an exact
/// comparison advance through their buffers in lockstep, so memory is two blocks whatever the
/// traces' sizes. Layer-graph spikes outside the window are dropped as blocks arrive.
class SpikeCursor {
 public:
  SpikeCursor(const Side& side, const PopulationInfo& population)
      : reader_(*side.reader),
        name_(population.name),
        window_(side.window),
        range_(spike_range(*side.reader, side.info, population, side.window)),
        next_(range_.first) {}

  /// Spikes in the population's range: those of the window for population traces.
  std::uint64_t total() const { return range_.last - range_.first; }
  /// Spikes buffered and not yet consumed; reads the next block when none are. 0 at the end.
  std::size_t available(ProgressCounter& progress) {
    while (position_ == steps_.size() && next_ < range_.last)
      read_block(progress);
    return steps_.size() - position_;
  }
  void consume(std::size_t n) { position_ += n; }
  Step step(std::size_t k) const { return steps_[position_ + k]; }
  NeuronIndex index(std::size_t k) const { return indices_[position_ + k]; }
  std::uint32_t sample(std::size_t k) const {
    return samples_.empty() ? 0 : samples_[position_ + k];
  }
  /// An absent value is a binary spike's, 1.
  float value(std::size_t k) const { return values_.empty() ? 1.0f : values_[position_ + k]; }

 private:
  void read_block(ProgressCounter& progress) {
    steps_.clear();
    indices_.clear();
    samples_.clear();
    values_.clear();
    position_ = 0;
    const std::uint64_t last = std::min<std::uint64_t>(range_.last, next_ + kBlockSpikes);
    reader_.for_each_spike_block(
        name_,
        [&](const SpikeBlock& block) {
          for (std::size_t k = 0; k < block.steps.size(); ++k) {
            if (block.steps[k] < window_.first || block.steps[k] >= window_.last) continue;
            steps_.push_back(block.steps[k]);
            indices_.push_back(block.indices[k]);
            if (!block.samples.empty()) samples_.push_back(block.samples[k]);
            if (!block.values.empty()) values_.push_back(block.values[k]);
          }
          progress.add(block.steps.size());
        },
        kBlockSpikes, next_, last);
    next_ = last;
  }

  const TraceReader& reader_;
  std::string name_;
  StepWindow window_;
  SpikeRange range_;
  std::uint64_t next_;
  std::size_t position_ = 0;
  std::vector<Step> steps_;
  std::vector<NeuronIndex> indices_;
  std::vector<std::uint32_t> samples_;
  std::vector<float> values_;
};

std::string describe_spike(const SpikeCursor& c, std::size_t k, const TraceInfo& info) {
  if (info.kind == TraceKind::layer_graph) {
    return format("sample %u timestep %llu element %u value %g", c.sample(k),
                  static_cast<unsigned long long>(c.step(k)), c.index(k),
                  static_cast<double>(c.value(k)));
  }
  return format("step %llu (%.6g ms) neuron %u", static_cast<unsigned long long>(c.step(k)),
                static_cast<double>(c.step(k)) * info.dt_s * 1e3, c.index(k));
}

/// Compares the population's spikes one by one; the first difference goes to `p`.
void compare_spikes(const Side& a, const Side& b, const PopulationInfo& info_a,
                    const PopulationInfo& info_b, PopulationComparison& p,
                    ProgressCounter& progress) {
  SpikeCursor ca(a, info_a), cb(b, info_b);
  p.spikes_a = ca.total();
  p.spikes_b = cb.total();
  const bool counts_differ = p.spikes_a != p.spikes_b;
  if (counts_differ) {
    p.differences.push_back("spike counts differ: " + grouped(p.spikes_a) + " vs " +
                            grouped(p.spikes_b));
  }
  std::uint64_t compared = 0;
  for (;;) {
    const std::size_t na = ca.available(progress), nb = cb.available(progress);
    if (na == 0 || nb == 0) {
      if (na != nb && !counts_differ) {
        p.differences.push_back(format("%s has more spikes: %s ends after %s spikes",
                                       na > 0 ? "A" : "B", na > 0 ? "B" : "A",
                                       grouped(compared).c_str()));
      }
      break;
    }
    const std::size_t n = std::min(na, nb);
    for (std::size_t k = 0; k < n; ++k) {
      if (ca.step(k) != cb.step(k) || ca.index(k) != cb.index(k) || ca.sample(k) != cb.sample(k) ||
          ca.value(k) != cb.value(k)) {
        // Layer-graph spikes are stored batch by batch: runs with different --batch hold each
        // sample's spikes in the same order but interleave the samples differently.
        const bool order = a.info.kind == TraceKind::layer_graph && ca.sample(k) != cb.sample(k);
        p.differences.push_back("spike " + grouped(compared + k) + " differs: A " +
                                describe_spike(ca, k, a.info) + ", B " +
                                describe_spike(cb, k, b.info) +
                                (order ? " (samples interleave differently: run with different "
                                         "--batch?)"
                                       : ""));
        return;
      }
    }
    ca.consume(n);
    cb.consume(n);
    compared += n;
  }
}

/// Records both traces' descriptions in `c`; false (with the difference noted) when one is a
/// population trace and the other a layer-graph trace, which cannot be compared further.
bool record_sides(Comparison& c, const Side& a, const Side& b) {
  c.a = a.info;
  c.b = b.info;
  if (a.info.kind == b.info.kind) return true;
  c.differences.push_back(format("A is a %s trace, B a %s trace", trace_kind_name(a.info.kind),
                                 trace_kind_name(b.info.kind)));
  return false;
}

}  // namespace

double ks_distance(std::span<const double> a, std::span<const double> b) {
  if (a.empty() || b.empty()) return a.empty() && b.empty() ? 0.0 : 1.0;
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  std::size_t i = 0, j = 0;
  double distance = 0;
  // Step both empirical functions past the next smallest value (and all its ties) together:
  // comparing them between tied values would count a difference that is not there.
  while (i < a.size() && j < b.size()) {
    const double x = std::min(a[i], b[j]);
    while (i < a.size() && a[i] <= x)
      ++i;
    while (j < b.size() && b[j] <= x)
      ++j;
    distance =
        std::max(distance, std::abs(static_cast<double>(i) / na - static_cast<double>(j) / nb));
  }
  return distance;
}

double ks_p_value(double distance, std::size_t n_a, std::size_t n_b) {
  if (n_a == 0 || n_b == 0) return 1.0;
  const double ne =
      static_cast<double>(n_a) * static_cast<double>(n_b) / static_cast<double>(n_a + n_b);
  const double root = std::sqrt(ne);
  const double lambda = (root + 0.12 + 0.11 / root) * distance;
  // The series alternates and its terms fall as e^{−2k²λ²}; below λ = 0.2 it is 1 to 1e-16 but
  // converges too slowly to sum.
  if (lambda < 0.2) return 1.0;
  double sum = 0, sign = 1;
  for (int k = 1; k <= 100; ++k) {
    const double term = sign * std::exp(-2.0 * k * k * lambda * lambda);
    sum += term;
    if (std::abs(term) <= 1e-12 * std::abs(sum)) break;
    sign = -sign;
  }
  return std::clamp(2.0 * sum, 0.0, 1.0);
}

KsResult ks_test(std::vector<double> a, std::vector<double> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  const double d = ks_distance(a, b);
  return {d, ks_p_value(d, a.size(), b.size())};
}

double relative_difference(double a, double b) {
  const double scale = std::max(std::abs(a), std::abs(b));
  return scale > 0 ? std::abs(a - b) / scale : 0.0;
}

Comparison compare_statistics(const TraceReader& reader_a, const TraceReader& reader_b,
                              const CompareOptions& options) {
  Comparison c;
  const Side a = open_side(reader_a, options), b = open_side(reader_b, options);
  if (!record_sides(c, a, b)) return c;
  const std::vector<std::string> names = compared_names(a, b, options);
  ProgressCounter progress(options.progress, spikes_to_read(a, names) + spikes_to_read(b, names));
  // The correlation bin in steps of each trace: their time steps may differ (another simulator).
  const auto bin_steps = [&](const Side& side) {
    return std::max<Step>(1, static_cast<Step>(std::llround(options.bin_s / side.info.dt_s)));
  };
  for (const std::string& name : names) {
    PopulationComparison& p = c.populations.emplace_back();
    p.name = name;
    PopulationInfo info_a, info_b;
    if (!match_population(a, b, p, info_a, info_b)) continue;
    const PopulationValues va = collect(a, info_a, bin_steps(a), progress);
    const PopulationValues vb = collect(b, info_b, bin_steps(b), progress);
    p.spikes_a = va.spikes;
    p.spikes_b = vb.spikes;
    if (a.info.kind == TraceKind::population) {
      p.measures.push_back(judge("rate", "Hz", va.rates, vb.rates, true, options, p.differences));
      p.measures.push_back(judge("cv", "", va.cvs, vb.cvs, true, options, p.differences));
      // Correlations are near 0, where relative differences of means mean nothing: KS only.
      p.measures.push_back(judge("correlation", "", va.correlations, vb.correlations, false,
                                 options, p.differences));
    } else {
      p.measures.push_back(
          judge("rate", "spikes/step", va.rates, vb.rates, true, options, p.differences));
      p.measures.push_back(judge_timesteps(va, vb, options, p.differences));
    }
  }
  gather_differences(c);
  return c;
}

/// Compares the population's sampled state variables, sample for sample and bit for bit, in
/// blocks of rows; the first difference of each variable goes to `p`.
void compare_states(const Side& a, const Side& b, PopulationComparison& p) {
  const std::vector<std::string> variables_a = a.reader->state_variables(p.name);
  const std::vector<std::string> variables_b = b.reader->state_variables(p.name);
  if (variables_a != variables_b) {
    p.differences.push_back("the sampled state variables differ");
    return;
  }
  constexpr std::uint64_t kRowsPerBlock = 4096;
  for (const std::string& variable : variables_a) {
    const TraceState header_a = a.reader->read_state_header(p.name, variable);
    const TraceState header_b = b.reader->read_state_header(p.name, variable);
    if (header_a.neurons != header_b.neurons ||
        header_a.interval_steps != header_b.interval_steps ||
        header_a.first_step != header_b.first_step || header_a.samples != header_b.samples) {
      p.differences.push_back("state '" + variable +
                              "': sampled neurons, interval or number of samples differ");
      continue;
    }
    std::vector<std::uint64_t> columns(header_a.neurons.size());
    std::iota(columns.begin(), columns.end(), 0);
    std::vector<float> rows_a, rows_b;
    for (std::uint64_t first = 0; first < header_a.samples; first += kRowsPerBlock) {
      const std::uint64_t count = std::min<std::uint64_t>(kRowsPerBlock, header_a.samples - first);
      a.reader->read_state_rows(p.name, variable, first, count, columns, rows_a);
      b.reader->read_state_rows(p.name, variable, first, count, columns, rows_b);
      const auto [at_a, at_b] =
          std::mismatch(rows_a.begin(), rows_a.end(), rows_b.begin(),
                        [](float x, float y) { return std::memcmp(&x, &y, sizeof x) == 0; });
      if (at_a == rows_a.end()) continue;
      const std::size_t k = at_a - rows_a.begin();
      const std::uint64_t row = first + k / columns.size();
      p.differences.push_back(format(
          "state '%s' differs: sample %llu (step %llu) neuron %u: %.9g vs %.9g", variable.c_str(),
          static_cast<unsigned long long>(row),
          static_cast<unsigned long long>(header_a.first_step + row * header_a.interval_steps),
          header_a.neurons[k % columns.size()], *at_a, *at_b));
      break;
    }
  }
}

Comparison compare_exact(const TraceReader& reader_a, const TraceReader& reader_b,
                         const CompareOptions& options) {
  Comparison c;
  c.exact = true;
  const Side a = open_side(reader_a, options), b = open_side(reader_b, options);
  if (!record_sides(c, a, b)) return c;
  if (a.info.dt_s != b.info.dt_s) {
    c.differences.push_back(
        format("time steps differ: %.6g ms vs %.6g ms", a.info.dt_s * 1e3, b.info.dt_s * 1e3));
    return c;
  }
  if (a.info.samples != b.info.samples) {
    c.differences.push_back(format("samples differ: %llu vs %llu",
                                   static_cast<unsigned long long>(a.info.samples),
                                   static_cast<unsigned long long>(b.info.samples)));
  }
  if (a.window.first != b.window.first || a.window.last != b.window.last) {
    c.differences.push_back(format("the traces cover different steps: [%llu, %llu) vs [%llu, %llu)",
                                   static_cast<unsigned long long>(a.window.first),
                                   static_cast<unsigned long long>(a.window.last),
                                   static_cast<unsigned long long>(b.window.first),
                                   static_cast<unsigned long long>(b.window.last)));
  }
  const std::vector<std::string> names = compared_names(a, b, options);
  ProgressCounter progress(options.progress, spikes_to_read(a, names) + spikes_to_read(b, names));
  for (const std::string& name : names) {
    PopulationComparison& p = c.populations.emplace_back();
    p.name = name;
    PopulationInfo info_a, info_b;
    if (!match_population(a, b, p, info_a, info_b)) continue;
    if (info_a.size != info_b.size) {
      p.differences.push_back(format("sizes differ: %u vs %u", info_a.size, info_b.size));
    }
    compare_spikes(a, b, info_a, info_b, p, progress);
    compare_states(a, b, p);
  }
  gather_differences(c);
  return c;
}

}  // namespace snnsim::analysis
