#include "analysis/plot.h"

#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "sim/atomic_write.h"

namespace snnsim::plot {

namespace {

constexpr const char* kFont = "DejaVu Sans";
constexpr double kTitleSize = 15, kLabelSize = 13, kTickSize = 11, kNoteSize = 11;
constexpr double kTickLength = 4;
constexpr Color kInk{0.13, 0.13, 0.13}, kGrey{0.38, 0.38, 0.38}, kPaper{1, 1, 1};

/// Points whose path is filled in one go: cairo's path memory stays small for huge rasters.
constexpr std::size_t kMarksPerFill = 8192;

void set_color(cairo_t* cr, Color c, double alpha = 1) {
  cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

void set_font(cairo_t* cr, double size) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double text_width(cairo_t* cr, const std::string& text) {
  cairo_text_extents_t extents;
  cairo_text_extents(cr, text.c_str(), &extents);
  return extents.x_advance;
}

/// Draws `text` with its baseline at y, aligned at x by `anchor` (0 left, 0.5 centre, 1 right).
void draw_text(cairo_t* cr, const std::string& text, double x, double y, double anchor) {
  cairo_move_to(cr, x - anchor * text_width(cr, text), y);
  cairo_show_text(cr, text.c_str());
}

/// The data range of one axis: the fixed ends, the others from the data plus a 4 % margin.
struct Range {
  double min = 0, max = 1;
};

Range axis_range(const Figure& figure, std::vector<double> Series::*coordinate,
                 std::optional<double> fixed_min, std::optional<double> fixed_max) {
  double lo = HUGE_VAL, hi = -HUGE_VAL;
  for (const Series& s : figure.series) {
    for (double v : s.*coordinate) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (lo > hi) lo = hi = 0;  // no data
  const double margin = 0.04 * (hi - lo);
  Range range{fixed_min.value_or(lo - margin), fixed_max.value_or(hi + margin)};
  if (!(range.max > range.min)) {
    // A single value (or none): centre it in a unit-wide axis, keeping a fixed end fixed.
    const double half = std::max(0.5, 0.05 * std::abs(range.min));
    if (fixed_min) {
      range.max = range.min + 2 * half;
    } else if (fixed_max) {
      range.min = range.max - 2 * half;
    } else {
      range = {range.min - half, range.min + half};
    }
  }
  return range;
}

/// Maps data to pixels in the plot area (y grows downwards on the surface).
struct Frame {
  double left, top, right, bottom;
  Range x, y;
  double px(double v) const { return left + (v - x.min) / (x.max - x.min) * (right - left); }
  double py(double v) const { return bottom - (v - y.min) / (y.max - y.min) * (bottom - top); }
};

/// Marks are whole-pixel squares without anti-aliasing: crisp at any density, and PNGs and SVGs
/// of many marks stay small (few colours, short integer coordinates).
void draw_points(cairo_t* cr, const Frame& f, const Series& s) {
  set_color(cr, s.color);
  cairo_save(cr);
  cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
  const double side = std::max(1.0, std::round(s.size));
  const std::size_t n = std::min(s.x.size(), s.y.size());
  for (std::size_t i = 0; i < n; ++i) {
    cairo_rectangle(cr, std::round(f.px(s.x[i]) - side / 2), std::round(f.py(s.y[i]) - side / 2),
                    side, side);
    if ((i + 1) % kMarksPerFill == 0) cairo_fill(cr);
  }
  cairo_fill(cr);
  cairo_restore(cr);
}

void draw_line(cairo_t* cr, const Frame& f, const Series& s) {
  const std::size_t n = std::min(s.x.size(), s.y.size());
  set_color(cr, s.color);
  cairo_set_line_width(cr, s.size);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  for (std::size_t i = 0; i < n; ++i) {
    if (i == 0) {
      cairo_move_to(cr, f.px(s.x[i]), f.py(s.y[i]));
    } else {
      cairo_line_to(cr, f.px(s.x[i]), f.py(s.y[i]));
    }
  }
  cairo_stroke(cr);
  if (!s.markers) return;
  for (std::size_t i = 0; i < n; ++i) {
    cairo_new_sub_path(cr);
    cairo_arc(cr, f.px(s.x[i]), f.py(s.y[i]), 2 + s.size, 0, 2 * M_PI);
  }
  cairo_fill(cr);
}

/// A histogram as one outline along the bar tops, lightly filled when `filled` (alone in its
/// figure): overlaid histograms are outlines only, so that none hides another.
void draw_steps(cairo_t* cr, const Frame& f, const Series& s, bool filled) {
  const std::size_t bars = std::min(s.y.size(), s.x.size() > 0 ? s.x.size() - 1 : 0);
  if (bars == 0) return;
  const double base = f.py(std::clamp(0.0, f.y.min, f.y.max));
  cairo_move_to(cr, f.px(s.x[0]), base);
  for (std::size_t i = 0; i < bars; ++i) {
    cairo_line_to(cr, f.px(s.x[i]), f.py(s.y[i]));
    cairo_line_to(cr, f.px(s.x[i + 1]), f.py(s.y[i]));
  }
  cairo_line_to(cr, f.px(s.x[bars]), base);
  if (filled) {
    set_color(cr, s.color, 0.3);
    cairo_fill_preserve(cr);
  }
  set_color(cr, s.color);
  cairo_set_line_width(cr, s.size);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
  cairo_stroke(cr);
}

/// The legend, right-aligned on the line whose baseline is `y`: a swatch and the label per
/// labelled series. Above the plot area, so it never hides data. Returns its width; draws only
/// when `draw`, so that the layout can measure it first.
double legend(cairo_t* cr, const Figure& figure, double right, double y, bool draw) {
  constexpr double kSwatch = 16, kGap = 5, kSpacing = 16;
  set_font(cr, kNoteSize);
  double x = right;
  for (auto s = figure.series.rbegin(); s != figure.series.rend(); ++s) {
    if (s->label.empty()) continue;
    if (x < right) x -= kSpacing;
    x -= text_width(cr, s->label);
    if (draw) {
      set_color(cr, kInk);
      draw_text(cr, s->label, x, y, 0);
    }
    x -= kGap + kSwatch;
    if (!draw) continue;
    const double middle = y - kNoteSize * 0.35;
    set_color(cr, s->color);
    if (s->kind == Series::Kind::line) {
      cairo_set_line_width(cr, std::max(1.5, s->size));
      cairo_move_to(cr, x, middle);
      cairo_line_to(cr, x + kSwatch, middle);
      cairo_stroke(cr);
    } else {
      cairo_rectangle(cr, x + kSwatch / 2 - 4, middle - 4, 8, 8);
      cairo_fill(cr);
    }
  }
  return right - x;
}

void draw_figure(cairo_t* cr, const Figure& figure) {
  set_color(cr, kPaper);
  cairo_paint(cr);

  Frame f{0,
          0,
          0,
          0,
          axis_range(figure, &Series::x, figure.x_min, figure.x_max),
          axis_range(figure, &Series::y, figure.y_min, figure.y_max)};

  // Margins from what surrounds the plot area: title, note and legend above (one row, or two
  // when they do not fit side by side); tick labels and axis labels to the left and below.
  const double legend_width = legend(cr, figure, 0, 0, false);
  set_font(cr, kNoteSize);
  const double note_width = figure.note.empty() ? 0 : text_width(cr, figure.note);
  const int top_rows = legend_width == 0 && note_width == 0                  ? 0
                       : note_width + 30 + legend_width < figure.width - 110 ? 1
                       : note_width > 0 && legend_width > 0                  ? 2
                                                                             : 1;
  f.top = 12 + (figure.title.empty() ? 0 : kTitleSize + 8) + top_rows * (kNoteSize + 8) +
          (top_rows > 0 ? 2 : 4);
  f.bottom = figure.height - (kTickLength + 4 + kTickSize + 10 + kLabelSize + 10);
  const Ticks y_ticks =
      nice_ticks(f.y.min, f.y.max, std::clamp(static_cast<int>((f.bottom - f.top) / 45), 3, 10));
  set_font(cr, kTickSize);
  double widest_y_label = 0;
  for (double v : y_ticks.values) {
    widest_y_label = std::max(widest_y_label, text_width(cr, tick_label(v, y_ticks.step)));
  }
  f.left = 12 + kLabelSize + 10 + widest_y_label + 4 + kTickLength;
  f.right = figure.width - 24.0;
  const Ticks x_ticks =
      nice_ticks(f.x.min, f.x.max, std::clamp(static_cast<int>((f.right - f.left) / 90), 3, 10));

  // Data, clipped to the plot area.
  cairo_save(cr);
  cairo_rectangle(cr, f.left, f.top, f.right - f.left, f.bottom - f.top);
  cairo_clip(cr);
  for (const Series& s : figure.series) {
    switch (s.kind) {
      case Series::Kind::points:
        draw_points(cr, f, s);
        break;
      case Series::Kind::line:
        draw_line(cr, f, s);
        break;
      case Series::Kind::steps:
        draw_steps(cr, f, s, figure.series.size() == 1);
        break;
    }
  }
  cairo_restore(cr);

  // Axes: the left and bottom spines with outward ticks; lines on half pixels stay crisp.
  set_color(cr, kInk);
  cairo_set_line_width(cr, 1);
  const double spine_x = std::floor(f.left) - 0.5, spine_y = std::ceil(f.bottom) + 0.5;
  cairo_move_to(cr, spine_x, f.top);
  cairo_line_to(cr, spine_x, spine_y);
  cairo_line_to(cr, f.right, spine_y);
  set_font(cr, kTickSize);
  for (double v : x_ticks.values) {
    const double x = std::round(f.px(v)) + 0.5;
    cairo_move_to(cr, x, spine_y);
    cairo_line_to(cr, x, spine_y + kTickLength);
    draw_text(cr, tick_label(v, x_ticks.step), x, spine_y + kTickLength + 3 + kTickSize, 0.5);
  }
  for (double v : y_ticks.values) {
    const double y = std::round(f.py(v)) + 0.5;
    cairo_move_to(cr, spine_x, y);
    cairo_line_to(cr, spine_x - kTickLength, y);
    draw_text(cr, tick_label(v, y_ticks.step), spine_x - kTickLength - 4, y + kTickSize * 0.36, 1);
  }
  cairo_stroke(cr);

  // Axis labels, the title, and the row above the plot area with the note and the legend.
  set_font(cr, kLabelSize);
  draw_text(cr, figure.x_label, (f.left + f.right) / 2, figure.height - 10.0, 0.5);
  cairo_save(cr);
  cairo_translate(cr, 12 + kLabelSize, (f.top + f.bottom) / 2);
  cairo_rotate(cr, -M_PI / 2);
  draw_text(cr, figure.y_label, 0, 0, 0.5);
  cairo_restore(cr);
  if (!figure.title.empty()) {
    set_font(cr, kTitleSize);
    draw_text(cr, figure.title, (f.left + f.right) / 2, 12 + kTitleSize, 0.5);
  }
  const double last_row_y = f.top - 10;
  if (note_width > 0) {
    set_font(cr, kNoteSize);
    set_color(cr, kGrey);
    draw_text(cr, figure.note, f.left, last_row_y - (top_rows == 2 ? kNoteSize + 8 : 0), 0);
  }
  if (legend_width > 0) legend(cr, figure, f.right, last_row_y, true);
}

/// cairo's output goes through our FILE*, so that a failed write reports the system's reason.
struct Output {
  std::FILE* file = nullptr;
  int error = 0;
};

cairo_status_t write_to(void* closure, const unsigned char* data, unsigned int length) {
  auto* out = static_cast<Output*>(closure);
  if (std::fwrite(data, 1, length, out->file) != length) {
    out->error = errno != 0 ? errno : EIO;
    return CAIRO_STATUS_WRITE_ERROR;
  }
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

Color series_color(std::size_t i) {
  static constexpr Color kOkabeIto[] = {
      {0.000, 0.447, 0.698},  // blue
      {0.835, 0.369, 0.000},  // vermillion
      {0.000, 0.620, 0.451},  // bluish green
      {0.902, 0.624, 0.000},  // orange
      {0.800, 0.475, 0.655},  // reddish purple
      {0.337, 0.706, 0.914},  // sky blue
      {0.941, 0.894, 0.259},  // yellow
      {0.000, 0.000, 0.000},  // black
  };
  return kOkabeIto[i % std::size(kOkabeIto)];
}

Ticks nice_ticks(double min, double max, int most) {
  Ticks ticks;
  if (!std::isfinite(min) || !std::isfinite(max) || !(max > min)) {
    if (std::isfinite(min)) ticks.values.push_back(min);
    return ticks;
  }
  most = std::max(most, 2);
  // The smallest 1-2-5 step giving at most `most` ticks, or the one before it when that leaves a
  // single tick (a narrow range straddling no two multiples of the step). The first candidate,
  // a decade below the estimate, always gives too many, so there is always one before.
  double too_fine = 0;
  for (double decade = std::pow(10.0, std::floor(std::log10((max - min) / most)) - 1);;
       decade *= 10) {
    for (double mantissa : {1.0, 2.0, 5.0}) {
      double step = mantissa * decade;
      const double count = std::floor(max / step + 1e-9) - std::ceil(min / step - 1e-9) + 1;
      if (count > most) {
        too_fine = step;
        continue;
      }
      if (count < 2 && too_fine > 0) step = too_fine;
      ticks.step = step;
      for (double k = std::ceil(min / step - 1e-9); k <= std::floor(max / step + 1e-9); ++k) {
        ticks.values.push_back(k * step == 0 ? 0.0 : k * step);  // no "-0"
      }
      return ticks;
    }
  }
}

std::string tick_label(double value, double step) {
  std::string suffix;
  if (step >= 1e5) {
    value /= 1e6;
    step /= 1e6;
    if (value == 0) return "0";
    suffix = " M";
  }
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, std::abs(value));
  const bool negative = value < 0 && std::strtod(text, nullptr) != 0;
  return (negative ? "\u2212" : "") + std::string(text) + suffix;
}

ImageFormat image_format_of(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (extension == ".svg") return ImageFormat::svg;
  if (extension == ".png") return ImageFormat::png;
  throw std::runtime_error(path.string() +
                           ": unknown picture format; the name must end in .svg or .png");
}

void render(const Figure& figure, const std::filesystem::path& path) {
  const ImageFormat format = image_format_of(path);
  if (figure.width < 200 || figure.height < 150 || figure.width > 20000 || figure.height > 20000) {
    throw std::runtime_error(path.string() + ": a plot must be 200 to 20000 pixels wide and 150 " +
                             "to 20000 high (asked " + std::to_string(figure.width) + "x" +
                             std::to_string(figure.height) + ")");
  }
  write_atomically(path, [&](const std::filesystem::path& partial) {
    Output out{std::fopen(partial.c_str(), "wb")};
    if (out.file == nullptr) {
      throw std::runtime_error("cannot create '" + partial.string() + "': " + std::strerror(errno));
    }
    std::unique_ptr<cairo_surface_t, void (*)(cairo_surface_t*)> surface(
        format == ImageFormat::svg
            ? cairo_svg_surface_create_for_stream(write_to, &out, figure.width, figure.height)
            : cairo_image_surface_create(CAIRO_FORMAT_RGB24, figure.width, figure.height),
        cairo_surface_destroy);
    if (format == ImageFormat::svg) {
      cairo_svg_surface_set_document_unit(surface.get(), CAIRO_SVG_UNIT_PX);
    }
    cairo_t* cr = cairo_create(surface.get());
    draw_figure(cr, figure);
    cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    if (status == CAIRO_STATUS_SUCCESS && format == ImageFormat::png) {
      status = cairo_surface_write_to_png_stream(surface.get(), write_to, &out);
    }
    cairo_surface_finish(surface.get());
    if (status == CAIRO_STATUS_SUCCESS) status = cairo_surface_status(surface.get());
    if (std::fclose(out.file) != 0 && out.error == 0) out.error = errno;
    if (status != CAIRO_STATUS_SUCCESS || out.error != 0) {
      const std::string reason =
          out.error != 0 ? std::strerror(out.error) : cairo_status_to_string(status);
      throw std::runtime_error("cannot write '" + path.string() + "': " + reason);
    }
  });
}

}  // namespace snnsim::plot
