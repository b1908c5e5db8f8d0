#pragma once
// A small figure library on cairo: one set of axes with linear scales, "nice" ticks, and a few
// series types, drawn in a plain paper style (thin dark axes on the left and bottom, no grid, a
// colour-blind-safe palette). It knows nothing of traces: a Figure is data, render() turns it
// into an SVG or PNG file with the same drawing code for both.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace snnsim::plot {

struct Color {
  double r = 0, g = 0, b = 0;
};

/// The i-th colour of the Okabe-Ito palette (blue, vermillion, green, orange, ...), which stays
/// distinguishable with the common colour-vision deficiencies; it cycles after eight.
Color series_color(std::size_t i);

/// Tick positions covering [min, max]: multiples of a 1, 2 or 5 × 10^k step chosen so that there
/// are at most `most` of them; when that would leave one, the next finer step (two or more).
struct Ticks {
  std::vector<double> values;
  double step = 1;
};
Ticks nice_ticks(double min, double max, int most = 7);

/// A tick's text: as many decimals as the step needs ("0.25" needs 2 only if the step is 0.05),
/// a true minus sign, and a k or M suffix for values of a million and more.
std::string tick_label(double value, double step);

struct Series {
  enum class Kind {
    points,  ///< a small square at each (x, y): rasters
    line,    ///< a polyline through (x, y), optionally with a dot at each point
    steps,   ///< a histogram: x holds n + 1 bin edges, y the n bar heights
  };
  Kind kind = Kind::line;
  std::string label;  ///< in the legend; unlabelled series are left out of it
  Color color;
  std::vector<double> x, y;
  double size = 1.5;     ///< points: the side of a mark; line: the stroke width (pixels)
  bool markers = false;  ///< line: also draw a dot at each point
};

struct Figure {
  int width = 800, height = 500;  ///< pixels (SVG: points at 96 dpi, the same numbers)
  std::string title;
  std::string x_label, y_label;  ///< with the unit, e.g. "time (ms)"
  /// Fixed ends of the axes; an absent end follows the data with a small margin.
  std::optional<double> x_min, x_max, y_min, y_max;
  std::vector<Series> series;
  /// A line of small grey text above the plot area: what was left out or how it was reduced.
  std::string note;
};

enum class ImageFormat { svg, png };

/// The format an output path asks for by its extension (.svg or .png, any case); throws a
/// one-line std::runtime_error naming the path otherwise.
ImageFormat image_format_of(const std::filesystem::path& path);

/// Draws the figure to `path` (format by extension). Written under a temporary name next to it
/// and renamed when complete, so a failure leaves no file; throws a one-line std::runtime_error.
void render(const Figure& figure, const std::filesystem::path& path);

}  // namespace snnsim::plot
