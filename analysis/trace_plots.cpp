#include "analysis/trace_plots.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>
#include <stdexcept>

#include "analysis/trace_selection.h"
#include "networks/quantity.h"

namespace snnsim::analysis {

namespace {

using plot::Figure;
using plot::Series;

/// Per-timestep spike counts and histograms hold at most this many bins (8 MB).
constexpr std::uint64_t kMaxBins = 1'000'000;
/// Exact ISI counts are kept per step up to this ISI (8 MB); longer ones are only counted.
constexpr std::uint64_t kMaxIsiSteps = 1 << 20;
/// Layer-graph ISIs keep a last spike per sample and element: at most this many (128 MB).
constexpr std::uint64_t kMaxIsiKeys = std::uint64_t{1} << 25;
/// Spikes read per block: about 20 MB of buffers with steps, indices, samples and values.
constexpr std::size_t kBlockSpikes = std::size_t{1} << 20;
constexpr std::size_t kDefaultStateNeurons = 3;

/// 1234567 -> "1,234,567".
std::string with_commas(std::uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

/// 2 -> "2nd", 11 -> "11th".
std::string ordinal(std::uint64_t n) {
  const char* suffix = "th";
  if (n % 100 < 11 || n % 100 > 13) {
    if (n % 10 == 1) suffix = "st";
    if (n % 10 == 2) suffix = "nd";
    if (n % 10 == 3) suffix = "rd";
  }
  return std::to_string(n) + suffix;
}

std::string number(double value, const char* format = "%.3g") {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

/// The smallest 1, 2 or 5 × 10^k at least `x` (x > 0): bins of round widths.
double nice_at_least(double x) {
  const double decade = std::pow(10.0, std::floor(std::log10(x)));
  for (double mantissa : {1.0, 2.0, 5.0, 10.0}) {
    if (mantissa * decade >= x * (1 - 1e-9)) return mantissa * decade;
  }
  return 10 * decade;
}

/// A duration in the unit that reads best, e.g. "5 ms", "0.2 ms", "2 s".
std::string duration_text(double seconds) {
  return seconds >= 1 ? number(seconds, "%.4g") + " s" : number(seconds * 1e3, "%.4g") + " ms";
}

std::string name_list(const std::vector<PopulationInfo>& populations) {
  std::string names;
  for (const PopulationInfo& p : populations)
    names += (names.empty() ? "" : ", ") + p.name;
  return names;
}

/// Keeps a line drawable: groups of consecutive points become their minimum and maximum, in the
/// order they occur, so that the drawn envelope is that of all the points.
class LineReducer {
 public:
  LineReducer(std::uint64_t points, Series& series)
      : group_(points <= kMaxLinePoints ? 1 : (2 * points + kMaxLinePoints - 1) / kMaxLinePoints),
        series_(series) {}

  std::uint64_t group() const { return group_; }

  void add(double x, double y) {
    if (group_ == 1) {
      series_.x.push_back(x);
      series_.y.push_back(y);
      return;
    }
    if (in_group_ == 0 || y < low_y_) low_x_ = x, low_y_ = y;
    if (in_group_ == 0 || y > high_y_) high_x_ = x, high_y_ = y;
    if (++in_group_ == group_) finish();
  }

  void finish() {
    if (in_group_ == 0) return;
    const bool low_first = low_x_ <= high_x_;
    series_.x.push_back(low_first ? low_x_ : high_x_);
    series_.y.push_back(low_first ? low_y_ : high_y_);
    series_.x.push_back(low_first ? high_x_ : low_x_);
    series_.y.push_back(low_first ? high_y_ : low_y_);
    in_group_ = 0;
  }

 private:
  std::uint64_t group_;
  Series& series_;
  std::uint64_t in_group_ = 0;
  double low_x_ = 0, low_y_ = 0, high_x_ = 0, high_y_ = 0;
};

/// What every plot needs: the trace's metadata, the window, and how steps map to the x axis.
struct Context {
  const TraceReader& reader;
  const PlotRequest& request;
  TraceInfo info;
  StepWindow window;
  bool layers = false;     ///< a layer-graph trace: steps are timesteps
  double x_per_step = 1;   ///< time axis: x of a step (ms, s, or timesteps)
  std::string time_label;  ///< "time (ms)", "time (s)" or "timestep"
  std::string network;     ///< the network file's stem, for titles

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(info.path + ": " + what);
  }
  double window_s() const { return static_cast<double>(window.steps()) * info.dt_s; }
  /// An empty figure of the requested size, titled --title or "NETWORK: what".
  Figure new_figure(const std::string& what) const {
    Figure figure;
    figure.width = request.width;
    figure.height = request.height;
    figure.title = !request.title.empty() ? request.title
                   : network.empty()      ? what
                                          : network + ": " + what;
    return figure;
  }
  void set_time_axis(Figure& figure) const {
    figure.x_label = time_label;
    const double shift = layers ? 0.5 : 0;  // timesteps are centred on their number
    figure.x_min = (static_cast<double>(window.first) - shift) * x_per_step;
    figure.x_max = (static_cast<double>(window.last) - shift) * x_per_step;
  }
};

Context make_context(const TraceReader& reader, const PlotRequest& request) {
  Context c{reader, request, read_trace_info(reader), {}, false, 1, {}, {}};
  c.window = window_from_options(c.info, request.from, request.to);
  c.layers = c.info.kind == TraceKind::layer_graph;
  if (c.layers) {
    c.time_label = "timestep";
  } else if (c.window_s() < 1) {
    c.x_per_step = c.info.dt_s * 1e3;
    c.time_label = "time (ms)";
  } else {
    c.x_per_step = c.info.dt_s;
    c.time_label = "time (s)";
  }
  if (reader.has_attribute("network_path")) {
    c.network = std::filesystem::path(reader.attribute_string("network_path")).stem().string();
  }
  if (!request.bin.empty() && c.layers && request.kind != PlotKind::hist) {
    c.fail("--bin does not apply to a layer-graph trace: its rates and ISIs are per timestep");
  }
  return c;
}

/// --bin in seconds (rate, isi), Hz (hist) or, for a layer graph's hist, a plain number; absent
/// when not given. Throws (one line) for text that is not a positive value of that kind.
std::optional<double> bin_of(const Context& c) {
  const std::string& text = c.request.bin;
  if (text.empty()) return std::nullopt;
  const Dimension dimension = c.layers                           ? Dimension::dimensionless
                              : c.request.kind == PlotKind::hist ? Dimension::frequency
                                                                 : Dimension::time;
  // "5ms" as well as "5 ms", as the other options taking quantities accept.
  static const std::regex number_then_unit(R"(^\s*([-+0-9.eE]+)\s*([A-Za-zµ]+)\s*$)");
  std::smatch match;
  const std::string spaced = std::regex_match(text, match, number_then_unit)
                                 ? match[1].str() + " " + match[2].str()
                                 : text;
  double value = 0;
  try {
    value = parse_quantity(nlohmann::json(spaced), dimension, {});
  } catch (const QuantityError& error) {
    c.fail("--bin " + text + ": " + error.what());
  }
  if (!(value > 0)) c.fail("--bin " + text + ": must be positive");
  return dimension == Dimension::time ? value * 1e-3 : value;  // ms -> s
}

/// The populations whose spikes are plotted: those named (each must have recorded spikes), or
/// every one with spikes recorded (layer graphs: with at least one spike).
std::vector<PopulationInfo> spiking_populations(const Context& c) {
  std::vector<PopulationInfo> chosen;
  for (PopulationInfo& p : select_populations(c.reader, c.request.populations)) {
    if (!c.request.populations.empty() && !p.has_spikes) {
      c.fail("population '" + p.name + "' has no recorded spikes");
    }
    if (p.has_spikes && (!c.layers || p.spikes > 0 || !c.request.populations.empty())) {
      chosen.push_back(std::move(p));
    }
  }
  if (chosen.empty()) c.fail("no population has recorded spikes");
  return chosen;
}

/// Streams the window's spikes of each population: visit(population number, step, index,
/// sample) for each spike inside the window, with progress reported per block.
template <class Visit>
void stream_spikes(const Context& c, const std::vector<PopulationInfo>& populations,
                   Visit&& visit) {
  std::vector<SpikeRange> ranges;
  std::uint64_t total = 0, done = 0;
  for (const PopulationInfo& p : populations) {
    ranges.push_back(spike_range(c.reader, c.info, p, c.window));
    total += ranges.back().last - ranges.back().first;
  }
  for (std::size_t n = 0; n < populations.size(); ++n) {
    if (ranges[n].last <= ranges[n].first) continue;
    c.reader.for_each_spike_block(
        populations[n].name,
        [&](const SpikeBlock& block) {
          for (std::size_t i = 0; i < block.steps.size(); ++i) {
            const Step step = block.steps[i];
            if (step < c.window.first || step >= c.window.last) continue;
            visit(n, step, block.indices[i], block.samples.empty() ? 0 : block.samples[i]);
          }
          done += block.steps.size();
          if (c.request.progress) c.request.progress(done, total);
        },
        kBlockSpikes, ranges[n].first, ranges[n].last);
  }
}

/// The spikes the window can hold: exact for population traces, all of them for layer graphs.
std::uint64_t spikes_in_window(const Context& c, const PopulationInfo& p) {
  const SpikeRange range = spike_range(c.reader, c.info, p, c.window);
  return range.last - range.first;
}

// --- raster --------------------------------------------------------------------------------

Plot raster(const Context& c) {
  const std::vector<PopulationInfo> populations = spiking_populations(c);
  Figure figure = c.new_figure("spike raster");
  c.set_time_axis(figure);

  // One neuron per pixel row of the plot area at most, then at most max_marks spikes.
  std::uint64_t neurons = 0, spikes = 0;
  for (const PopulationInfo& p : populations) {
    neurons += p.size;
    spikes += spikes_in_window(c, p);
  }
  const double rows = std::max(100, c.request.height - 110);
  const std::uint64_t neuron_stride =
      std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(neurons / rows)));
  const std::uint64_t samples = c.layers ? std::max<std::uint64_t>(c.info.samples, 1) : 1;
  const std::uint64_t expected = spikes / neuron_stride / samples;
  std::uint64_t spike_stride =
      std::max<std::uint64_t>(1, (expected + c.request.max_marks - 1) / c.request.max_marks);

  std::vector<std::uint64_t> offsets, kept(populations.size(), 0);
  std::uint64_t shown_neurons = 0;
  for (std::size_t n = 0; n < populations.size(); ++n) {
    offsets.push_back(n == 0 ? 0 : offsets[n - 1] + populations[n - 1].size);
    shown_neurons += (populations[n].size + neuron_stride - 1) / neuron_stride;
    Series s;
    s.kind = Series::Kind::points;
    s.color = plot::series_color(n);
    if (populations.size() > 1) s.label = populations[n].name;
    figure.series.push_back(std::move(s));
  }
  // Marks as tall as a neuron's row when there are few, never smaller than a pixel and a half.
  for (Series& s : figure.series) {
    s.size = std::clamp(0.8 * rows / static_cast<double>(std::max<std::uint64_t>(shown_neurons, 1)),
                        1.5, 3.0);
  }
  std::size_t marks = 0;
  stream_spikes(c, populations, [&](std::size_t n, Step step, NeuronIndex index, std::uint32_t s) {
    if (s != 0 || index % neuron_stride != 0) return;
    if (kept[n]++ % spike_stride != 0) return;
    figure.series[n].x.push_back(static_cast<double>(step) * c.x_per_step);
    figure.series[n].y.push_back(static_cast<double>(offsets[n] + index) + 0.5);
    // Layer graphs estimate sample 0's share: if it holds more, thin what is kept so far.
    if (++marks > 2 * c.request.max_marks) {
      spike_stride *= 2;
      marks = 0;
      for (Series& series : figure.series) {
        std::size_t out = 0;
        for (std::size_t i = 0; i < series.x.size(); i += 2, ++out) {
          series.x[out] = series.x[i];
          series.y[out] = series.y[i];
        }
        series.x.resize(out);
        series.y.resize(out);
        marks += out;
      }
    }
  });
  figure.y_min = 0;
  figure.y_max = static_cast<double>(neurons);
  figure.y_label = c.layers                 ? "element"
                   : populations.size() > 1 ? "neuron (populations stacked)"
                                            : "neuron";

  std::vector<std::string> parts;
  if (c.layers) parts.push_back("sample 0 of " + with_commas(samples));
  if (neuron_stride > 1) {
    parts.push_back("showing " + with_commas(shown_neurons) + " of " + with_commas(neurons) +
                    " neurons (every " + ordinal(neuron_stride) + ")");
  }
  if (spike_stride > 1) parts.push_back("1 in " + with_commas(spike_stride) + " spikes");
  for (const std::string& part : parts)
    figure.note += (figure.note.empty() ? "" : "; ") + part;

  std::uint64_t drawn = 0;
  for (const Series& s : figure.series)
    drawn += s.x.size();
  return {figure, "raster of " + name_list(populations) + ": " + with_commas(drawn) +
                      " spikes of " + with_commas(shown_neurons) + " neurons drawn"};
}

// --- rate ----------------------------------------------------------------------------------

/// Layer graphs: the share of each layer's elements that spiked, per timestep, over all samples.
Plot layer_rates(const Context& c, const std::vector<PopulationInfo>& layers) {
  Figure figure = c.new_figure("firing rate per layer");
  c.set_time_axis(figure);
  std::vector<std::vector<std::uint64_t>> counts(layers.size(),
                                                 std::vector<std::uint64_t>(c.window.steps()));
  stream_spikes(c, layers, [&](std::size_t n, Step step, NeuronIndex, std::uint32_t) {
    ++counts[n][step - c.window.first];
  });
  const double samples = static_cast<double>(std::max<std::uint64_t>(c.info.samples, 1));
  for (std::size_t n = 0; n < layers.size(); ++n) {
    Series s;
    s.color = plot::series_color(n);
    s.label = layers[n].name;
    s.markers = true;
    for (std::uint64_t t = 0; t < c.window.steps(); ++t) {
      s.x.push_back(static_cast<double>(c.window.first + t));
      s.y.push_back(100 * static_cast<double>(counts[n][t]) /
                    (std::max<double>(layers[n].size, 1) * samples));
    }
    figure.series.push_back(std::move(s));
  }
  figure.y_min = 0;
  figure.y_label = "firing rate (% of elements)";
  figure.note = "mean over " + with_commas(c.info.samples) + " samples";
  return {figure, "firing rate per timestep of " + name_list(layers)};
}

Plot rate(const Context& c) {
  const std::vector<PopulationInfo> populations = spiking_populations(c);
  if (c.layers) return layer_rates(c, populations);
  const double dt = c.info.dt_s;
  const std::optional<double> asked = bin_of(c);
  const double bin_s = asked.value_or(nice_at_least(c.window_s() / 200));
  if (asked && *asked < dt * (1 - 1e-9)) {
    c.fail("--bin " + duration_text(*asked) + " is shorter than the time step (" +
           duration_text(dt) + ")");
  }
  const Step bin_steps = std::max<Step>(1, static_cast<Step>(std::llround(bin_s / dt)));
  const std::uint64_t bins = (c.window.steps() + bin_steps - 1) / bin_steps;
  if (bins > kMaxBins) {
    c.fail("--bin " + duration_text(bin_s) + " gives " + with_commas(bins) + " bins; at most " +
           with_commas(kMaxBins) + ": take a larger bin or a shorter window (--from, --to)");
  }
  std::vector<std::vector<std::uint64_t>> counts(populations.size(),
                                                 std::vector<std::uint64_t>(bins));
  stream_spikes(c, populations, [&](std::size_t n, Step step, NeuronIndex, std::uint32_t) {
    ++counts[n][(step - c.window.first) / bin_steps];
  });

  Figure figure = c.new_figure("population rate");
  c.set_time_axis(figure);
  std::uint64_t group = 1;
  for (std::size_t n = 0; n < populations.size(); ++n) {
    Series s;
    s.color = plot::series_color(n);
    if (populations.size() > 1) s.label = populations[n].name;
    LineReducer line(bins, s);
    group = line.group();
    for (std::uint64_t b = 0; b < bins; ++b) {
      const Step start = c.window.first + b * bin_steps;
      const Step length = std::min(bin_steps, c.window.last - start);
      const double seconds = static_cast<double>(length) * dt;
      line.add(
          (static_cast<double>(start) + 0.5 * static_cast<double>(length)) * c.x_per_step,
          static_cast<double>(counts[n][b]) / (std::max<double>(populations[n].size, 1) * seconds));
    }
    line.finish();
    figure.series.push_back(std::move(s));
  }
  counts = {};
  figure.y_min = 0;
  figure.y_label = "rate (Hz)";
  const std::string bin_text = duration_text(static_cast<double>(bin_steps) * dt);
  figure.note = "spikes per neuron in bins of " + bin_text;
  if (group > 1) {
    figure.note += "; min and max of every " + with_commas(group) + " bins drawn";
  }
  return {figure, "rate of " + name_list(populations) + " in " + with_commas(bins) + " bins of " +
                      bin_text};
}

// --- isi -----------------------------------------------------------------------------------

/// The ISIs of one population, in steps, with memory bounded by the neurons (or, for layer
/// graphs, samples × elements) and kMaxIsiSteps.
struct IsiCounts {
  std::vector<std::uint32_t> last;     ///< per neuron: step of its last spike - window start + 1
  std::vector<std::uint64_t> by_step;  ///< by_step[k]: ISIs of k steps (k < kMaxIsiSteps)
  std::uint64_t longer = 0;            ///< ISIs of kMaxIsiSteps or more
  std::uint64_t total = 0;

  void add(std::uint64_t key, Step relative_step) {
    const auto now = static_cast<std::uint32_t>(relative_step + 1);
    if (last[key] != 0) {
      const std::uint64_t isi = now - last[key];
      ++total;
      if (isi >= kMaxIsiSteps) {
        ++longer;
      } else {
        if (isi >= by_step.size())
          by_step.resize(std::max<std::size_t>(isi + 1, 2 * by_step.size()));
        ++by_step[isi];
      }
    }
    last[key] = now;
  }

  /// The ISI (steps) below which `fraction` of them lie; kMaxIsiSteps when beyond the counts.
  std::uint64_t quantile(double fraction) const {
    const double wanted = fraction * static_cast<double>(total);
    double below = 0;
    for (std::size_t k = 0; k < by_step.size(); ++k) {
      below += static_cast<double>(by_step[k]);
      if (below >= wanted) return k;
    }
    return kMaxIsiSteps;
  }
};

/// Population n's histogram, in its colour, labelled when several populations share the plot.
Series histogram_series(const std::vector<PopulationInfo>& populations, std::size_t n) {
  Series s;
  s.kind = Series::Kind::steps;
  s.color = plot::series_color(n);
  if (populations.size() > 1) s.label = populations[n].name;
  return s;
}

Plot isi(const Context& c) {
  const std::vector<PopulationInfo> populations = spiking_populations(c);
  if (c.window.steps() >= 0xffffffffu) {
    c.fail("the window spans more than 2^32 steps: choose one with --from and --to");
  }
  const std::uint64_t samples = c.layers ? std::max<std::uint64_t>(c.info.samples, 1) : 1;
  std::vector<IsiCounts> counts(populations.size());
  std::uint64_t all_keys = 0;
  for (std::size_t n = 0; n < populations.size(); ++n) {
    const std::uint64_t keys = populations[n].size * samples;
    if (keys > kMaxIsiKeys) {
      c.fail("layer '" + populations[n].name + "' has " + with_commas(keys) +
             " elements over all samples; ISIs are drawn for at most " + with_commas(kMaxIsiKeys));
    }
    all_keys += keys;
    check_table_memory(c.info, all_keys, sizeof(std::uint32_t), "the last spike of each neuron");
    counts[n].last.assign(keys, 0);
  }
  stream_spikes(c, populations,
                [&](std::size_t n, Step step, NeuronIndex index, std::uint32_t sample) {
                  counts[n].add(static_cast<std::uint64_t>(sample) * populations[n].size + index,
                                step - c.window.first);
                });
  for (IsiCounts& n : counts)
    n.last = {};

  // The axis ends past the 95th percentile of the ISIs of every population, so that the bulk of
  // a long-tailed distribution stays readable (the share left out is written on the plot).
  const double dt = c.info.dt_s;
  std::uint64_t end_steps = 1, total = 0;
  for (const IsiCounts& n : counts) {
    end_steps = std::max(end_steps, n.quantile(0.95) + 1);
    total += n.total;
  }
  if (total == 0) c.fail("no neuron of " + name_list(populations) + " spiked twice in the window");
  Step bin_steps = 1;
  if (const std::optional<double> asked = bin_of(c)) {
    if (*asked < dt * (1 - 1e-9)) {
      c.fail("--bin " + duration_text(*asked) + " is shorter than the time step (" +
             duration_text(dt) + ")");
    }
    bin_steps = std::max<Step>(1, std::llround(*asked / dt));
  } else if (!c.layers) {
    bin_steps = std::max<Step>(
        1, std::llround(nice_at_least(static_cast<double>(end_steps) * dt / 80) / dt));
  }
  const std::uint64_t bins = (end_steps + bin_steps - 1) / bin_steps;
  end_steps = bins * bin_steps;
  const bool seconds = !c.layers && static_cast<double>(end_steps) * dt >= 10;
  const double x_per_step = c.layers ? 1 : seconds ? dt : dt * 1e3;
  const double shift = c.layers ? 0.5 : 0;  // timesteps: bars centred on whole numbers

  Figure figure = c.new_figure("inter-spike intervals");
  std::uint64_t beyond = 0;
  for (std::size_t n = 0; n < populations.size(); ++n) {
    Series s = histogram_series(populations, n);
    std::vector<std::uint64_t> in_bin(bins, 0);
    for (std::size_t k = 0; k < counts[n].by_step.size(); ++k) {
      if (k < end_steps) in_bin[k / bin_steps] += counts[n].by_step[k];
    }
    std::uint64_t drawn = 0;
    for (std::uint64_t b = 0; b <= bins; ++b) {
      s.x.push_back((static_cast<double>(b * bin_steps) - shift) * x_per_step);
      if (b == bins) break;
      drawn += in_bin[b];
      // A probability density, so populations of different sizes compare.
      s.y.push_back(counts[n].total == 0
                        ? 0
                        : static_cast<double>(in_bin[b]) / static_cast<double>(counts[n].total) /
                              (static_cast<double>(bin_steps) * x_per_step));
    }
    beyond += counts[n].total - drawn;
    figure.series.push_back(std::move(s));
  }
  figure.x_min = -shift * x_per_step;
  figure.x_max = (static_cast<double>(end_steps) - shift) * x_per_step;
  figure.y_min = 0;
  const std::string unit = c.layers ? "timesteps" : seconds ? "s" : "ms";
  figure.x_label =
      c.layers ? "inter-spike interval (timesteps)" : "inter-spike interval (" + unit + ")";
  figure.y_label = c.layers ? "fraction of ISIs" : "probability density (1/" + unit + ")";
  figure.note = with_commas(total) + " ISIs";
  if (!c.layers) figure.note += " in bins of " + duration_text(static_cast<double>(bin_steps) * dt);
  if (beyond > 0) {
    figure.note +=
        "; " + number(100.0 * static_cast<double>(beyond) / static_cast<double>(total), "%.2g") +
        " % longer than " +
        (c.layers ? std::to_string(end_steps) + " timesteps"
                  : duration_text(static_cast<double>(end_steps) * dt)) +
        " not shown";
  }
  return {figure,
          "ISI histogram of " + name_list(populations) + ": " + with_commas(total) + " intervals"};
}

// --- hist ----------------------------------------------------------------------------------

Plot hist(const Context& c) {
  const std::vector<PopulationInfo> populations = spiking_populations(c);
  std::uint64_t counted = 0;
  for (const PopulationInfo& p : populations)
    counted += p.size;
  check_table_memory(c.info, counted, sizeof(std::uint32_t), "the spike counts per neuron");
  std::vector<std::vector<std::uint32_t>> counts(populations.size());
  for (std::size_t n = 0; n < populations.size(); ++n)
    counts[n].assign(populations[n].size, 0);
  stream_spikes(c, populations, [&](std::size_t n, Step, NeuronIndex index, std::uint32_t) {
    ++counts[n][index];  // in range: the reader checked
  });
  // Rates: Hz, or for layer graphs spikes per element and timestep (over all samples).
  const double exposure = c.layers
                              ? static_cast<double>(c.window.steps()) *
                                    static_cast<double>(std::max<std::uint64_t>(c.info.samples, 1))
                              : c.window_s();
  std::uint32_t most = 0;
  for (const auto& n : counts)
    for (std::uint32_t k : n)
      most = std::max(most, k);
  const double highest = most / exposure;
  const double bin =
      bin_of(c).value_or(highest > 0 ? nice_at_least(highest / 40) : (c.layers ? 0.1 : 1));
  const auto bins = static_cast<std::uint64_t>(std::floor(highest / bin)) + 1;
  if (bins > kMaxBins) {
    c.fail("--bin " + number(bin) + " gives " + with_commas(bins) + " bins; at most " +
           with_commas(kMaxBins));
  }

  Figure figure = c.new_figure("firing rates");
  const bool fractions = populations.size() > 1;
  double mean = 0;
  std::uint64_t silent = 0, neurons = 0;
  for (std::size_t n = 0; n < populations.size(); ++n) {
    Series s = histogram_series(populations, n);
    std::vector<std::uint64_t> in_bin(bins, 0);
    for (std::uint32_t k : counts[n]) {
      const double r = k / exposure;
      mean += r;
      silent += k == 0;
      ++in_bin[std::min<std::uint64_t>(static_cast<std::uint64_t>(r / bin), bins - 1)];
    }
    neurons += counts[n].size();
    for (std::uint64_t b = 0; b <= bins; ++b) {
      s.x.push_back(static_cast<double>(b) * bin);
      if (b == bins) break;
      s.y.push_back(fractions ? static_cast<double>(in_bin[b]) /
                                    std::max<double>(static_cast<double>(counts[n].size()), 1)
                              : static_cast<double>(in_bin[b]));
    }
    figure.series.push_back(std::move(s));
  }
  figure.x_min = 0;
  figure.y_min = 0;
  figure.x_label = c.layers ? "firing rate (spikes per element and timestep)" : "firing rate (Hz)";
  figure.y_label = fractions ? "fraction of neurons" : c.layers ? "elements" : "neurons";
  mean /= std::max<double>(static_cast<double>(neurons), 1);
  const std::string unit = c.layers ? "" : " Hz";
  figure.note = with_commas(neurons) + (c.layers ? " elements" : " neurons") + " in bins of " +
                number(bin, "%.4g") + unit + "; mean " + number(mean, "%.4g") + unit + "; " +
                with_commas(silent) + " silent";
  return {figure, "firing-rate histogram of " + name_list(populations) + ": " +
                      with_commas(neurons) + " neurons, mean " + number(mean, "%.4g") + unit};
}

// --- state ---------------------------------------------------------------------------------

Plot state(const Context& c) {
  if (c.request.populations.size() > 1) {
    c.fail("a state plot shows one population; give one --population");
  }
  std::string population;
  std::vector<std::string> variables;
  for (const PopulationInfo& p : select_populations(c.reader, c.request.populations)) {
    variables = c.reader.state_variables(p.name);
    if (!variables.empty() || !c.request.populations.empty()) {
      population = p.name;
      break;
    }
  }
  if (population.empty()) c.fail("no population has sampled state");
  if (variables.empty()) c.fail("population '" + population + "' has no sampled state");
  std::string variable = c.request.variable;
  if (variable.empty()) {
    variable =
        std::find(variables.begin(), variables.end(), "v") != variables.end() ? "v" : variables[0];
  } else if (std::find(variables.begin(), variables.end(), variable) == variables.end()) {
    std::string list;
    for (const std::string& v : variables)
      list += (list.empty() ? "" : ", ") + v;
    c.fail("population '" + population + "' has no sampled '" + variable + "'; it has " + list);
  }
  const TraceState data = c.reader.read_state_header(population, variable);

  // The columns drawn: the neurons asked for, or the first few recorded.
  std::vector<std::uint32_t> wanted = c.request.neurons;
  if (wanted.empty()) {
    wanted.assign(data.neurons.begin(),
                  data.neurons.begin() + std::min(data.neurons.size(), kDefaultStateNeurons));
  }
  if (wanted.empty())
    c.fail("'" + variable + "' of '" + population + "' was sampled for no neuron");
  if (wanted.size() > kMaxStateNeurons) {
    c.fail("a state plot shows at most " + std::to_string(kMaxStateNeurons) + " neurons (asked " +
           std::to_string(wanted.size()) + ")");
  }
  std::vector<std::uint64_t> columns;
  for (std::uint32_t neuron : wanted) {
    const auto at = std::find(data.neurons.begin(), data.neurons.end(), neuron);
    if (at == data.neurons.end()) {
      std::string list;
      for (std::size_t i = 0; i < data.neurons.size() && i < 10; ++i)
        list += (i == 0 ? "" : ", ") + std::to_string(data.neurons[i]);
      if (data.neurons.size() > 10) list += ", ...";
      c.fail("neuron " + std::to_string(neuron) + " of '" + population + "' has no sampled '" +
             variable + "'; sampled: " + list);
    }
    columns.push_back(static_cast<std::uint64_t>(at - data.neurons.begin()));
  }
  std::vector<std::uint64_t> ascending = columns;
  std::sort(ascending.begin(), ascending.end());
  ascending.erase(std::unique(ascending.begin(), ascending.end()), ascending.end());

  // Rows whose step lies in the window: row r is the state after step first_step + r * interval.
  // (The reader checked the interval to be at least 1; the rounding up cannot overflow.)
  const auto row_at = [&](Step step) {
    if (step <= data.first_step) return std::uint64_t{0};
    const std::uint64_t after = step - data.first_step;
    return std::min<std::uint64_t>(
        data.samples, after / data.interval_steps + (after % data.interval_steps != 0));
  };
  const std::uint64_t first_row = row_at(c.window.first), last_row = row_at(c.window.last);

  Figure figure = c.new_figure(variable + " of " + population);
  c.set_time_axis(figure);
  figure.series.resize(ascending.size());
  std::vector<LineReducer> lines;
  lines.reserve(ascending.size());
  for (std::size_t k = 0; k < ascending.size(); ++k) {
    const std::size_t order =
        std::find(columns.begin(), columns.end(), ascending[k]) - columns.begin();
    figure.series[k].color = plot::series_color(order);
    figure.series[k].size = 1.2;
    if (ascending.size() > 1) {
      figure.series[k].label = "neuron " + std::to_string(data.neurons[ascending[k]]);
    }
    lines.emplace_back(last_row - first_row, figure.series[k]);
  }
  const std::uint64_t block_rows = std::max<std::uint64_t>(1, (1 << 18) / ascending.size());
  std::vector<float> values;
  for (std::uint64_t row = first_row; row < last_row; row += block_rows) {
    const std::uint64_t count = std::min(block_rows, last_row - row);
    c.reader.read_state_rows(population, variable, row, count, ascending, values);
    for (std::uint64_t r = 0; r < count; ++r) {
      const double x =
          static_cast<double>(data.first_step + (row + r) * data.interval_steps) * c.x_per_step;
      for (std::size_t k = 0; k < ascending.size(); ++k)
        lines[k].add(x, values[r * ascending.size() + k]);
    }
  }
  for (LineReducer& line : lines)
    line.finish();
  // Series in the order asked, so the legend reads in that order.
  std::vector<Series> ordered;
  for (const std::uint64_t column : columns) {
    const std::size_t k = std::find(ascending.begin(), ascending.end(), column) - ascending.begin();
    if (k < figure.series.size() && !figure.series[k].x.empty())
      ordered.push_back(figure.series[k]);
  }
  figure.series = std::move(ordered);
  figure.y_label = variable + (data.unit.empty() ? "" : " (" + data.unit + ")");
  figure.note =
      "sampled every " + duration_text(static_cast<double>(data.interval_steps) * c.info.dt_s);
  if (!lines.empty() && lines[0].group() > 1) {
    figure.note += "; min and max of every " + with_commas(lines[0].group()) + " samples drawn";
  }
  return {figure, variable + " of " + std::to_string(ascending.size()) + " neurons of " +
                      population + ", " + with_commas(last_row - first_row) + " samples"};
}

}  // namespace

std::optional<PlotKind> plot_kind_of(std::string_view name) {
  if (name == "raster") return PlotKind::raster;
  if (name == "rate") return PlotKind::rate;
  if (name == "isi") return PlotKind::isi;
  if (name == "hist") return PlotKind::hist;
  if (name == "state") return PlotKind::state;
  return std::nullopt;
}

Plot build_plot(const TraceReader& reader, const PlotRequest& request) {
  const Context context = make_context(reader, request);
  switch (request.kind) {
    case PlotKind::raster:
      return raster(context);
    case PlotKind::rate:
      return rate(context);
    case PlotKind::isi:
      return isi(context);
    case PlotKind::hist:
      return hist(context);
    case PlotKind::state:
      if (context.layers) context.fail("a layer-graph trace has no sampled state");
      return state(context);
  }
  return {};
}

}  // namespace snnsim::analysis
