#pragma once
// The plots of `snnsim trace raster|rate|isi|hist|state` (docs/trace-analysis.md#plots), built
// from a trace by streaming its spikes in blocks: memory stays bounded (per-neuron counters,
// histograms, at most a few hundred thousand marks) whatever the trace's size. Every reduction
// made to fit the picture is written on it (Figure::note).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/plot.h"
#include "sim/trace_reader.h"

namespace snnsim::analysis {

enum class PlotKind { raster, rate, isi, hist, state };

/// "raster" -> PlotKind::raster, ...; nullopt for an unknown name.
std::optional<PlotKind> plot_kind_of(std::string_view name);

/// At most this many marks in a raster; beyond, neurons and then spikes are thinned. SVG files
/// take fewer: cairo holds the whole document in memory, about 100 bytes per mark.
inline constexpr std::size_t kMaxRasterMarks = 200'000;
inline constexpr std::size_t kMaxSvgRasterMarks = 50'000;
/// A state plot draws at most this many neurons.
inline constexpr std::size_t kMaxStateNeurons = 10;
/// Lines (rates, state) of more points than this are drawn as min-max envelopes of groups of
/// consecutive points, which look the same at screen resolution.
inline constexpr std::size_t kMaxLinePoints = 4000;

struct PlotRequest {
  PlotKind kind = PlotKind::raster;
  std::vector<std::string> populations;  ///< empty: every population that has the data
  std::string from, to;                  ///< --from / --to as typed (empty: the whole trace)
  /// --bin as typed (empty: chosen from the data): a time for rate and isi ("5ms"), a
  /// frequency for hist ("2Hz"); for layer graphs only hist takes one, a plain number.
  std::string bin;
  std::string variable;              ///< state: the sampled variable (default v, else the first)
  std::vector<NeuronIndex> neurons;  ///< state: neurons to draw (default: the first 3 recorded)
  int width = 800, height = 500;
  std::string title;  ///< empty: one saying what is shown
  /// Raster: the most marks drawn (kMaxRasterMarks, kMaxSvgRasterMarks for SVG files).
  std::size_t max_marks = kMaxRasterMarks;
  /// Called now and then while spikes are read: `done` of `total` spikes.
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

struct Plot {
  plot::Figure figure;
  std::string description;  ///< one line: what the figure shows, e.g. "raster of E, I (...)"
};

/// Builds the plot the request asks for. Throws a one-line std::runtime_error naming the trace
/// for anything wrong (unknown population, no spikes recorded, a window outside the trace, ...).
Plot build_plot(const TraceReader& reader, const PlotRequest& request);

}  // namespace snnsim::analysis
