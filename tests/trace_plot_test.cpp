// Plots of traces (`snnsim trace raster|rate|isi|hist|state`): tick generation, and pictures of
// the COBA example read back as images: the requested size, marks inside the plot area, dark
// axes along its left and bottom; well-formed SVG; one-line errors that leave no file.
#include <cairo.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>

#include "analysis/plot.h"
#include "analysis/trace_plots.h"
#include "sim/trace_reader.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

namespace fs = std::filesystem;

// --- ticks ---------------------------------------------------------------------------------

TEST(PlotTicks, NiceStepsCoverTheRange) {
  const std::array<std::pair<double, double>, 9> ranges{{{0, 1},
                                                         {0, 200},
                                                         {-62.3, -48.1},
                                                         {0.1, 0.95},
                                                         {0, 4000},
                                                         {3, 3.0001},
                                                         {-1e6, 2.5e7},
                                                         {0, 17},
                                                         {1e-4, 7e-4}}};
  for (const auto& [low, high] : ranges) {
    for (int most : {3, 5, 7, 10}) {
      SCOPED_TRACE(std::to_string(low) + " to " + std::to_string(high) + ", at most " +
                   std::to_string(most));
      const plot::Ticks ticks = plot::nice_ticks(low, high, most);
      ASSERT_GE(ticks.values.size(), 2u);
      const double mantissa = ticks.step / std::pow(10.0, std::floor(std::log10(ticks.step)));
      // At most `most`, unless the next coarser step (1 -> 2 -> 5 -> 10) leaves a single tick.
      if (ticks.values.size() > static_cast<std::size_t>(most)) {
        const double coarser = ticks.step * (std::abs(mantissa - 2) < 1e-9 ? 2.5 : 2);
        EXPECT_LT(std::floor(high / coarser) - std::ceil(low / coarser), 1);
      }
      EXPECT_TRUE(std::abs(mantissa - 1) < 1e-9 || std::abs(mantissa - 2) < 1e-9 ||
                  std::abs(mantissa - 5) < 1e-9)
          << "step " << ticks.step;
      // Inside the range, a step apart, and no more than a step from either end.
      EXPECT_GE(ticks.values.front(), low - 1e-9 * std::abs(low));
      EXPECT_LE(ticks.values.back(), high + 1e-9 * std::abs(high));
      EXPECT_LT(ticks.values.front() - low, ticks.step * (1 + 1e-9));
      EXPECT_LT(high - ticks.values.back(), ticks.step * (1 + 1e-9));
      for (std::size_t i = 1; i < ticks.values.size(); ++i) {
        EXPECT_NEAR(ticks.values[i] - ticks.values[i - 1], ticks.step, 1e-9 * ticks.step);
      }
      for (double v : ticks.values) {
        EXPECT_NEAR(std::remainder(v, ticks.step), 0, 1e-9 * ticks.step) << v;
      }
    }
  }
}

TEST(PlotTicks, EmptyOrInvertedRangeGivesAtMostOneTick) {
  EXPECT_EQ(plot::nice_ticks(5, 5).values.size(), 1u);
  EXPECT_EQ(plot::nice_ticks(5, 1).values.size(), 1u);
  EXPECT_TRUE(plot::nice_ticks(NAN, 1).values.empty());
}

TEST(PlotTicks, LabelsHaveTheDecimalsTheStepNeeds) {
  EXPECT_EQ(plot::tick_label(200, 100), "200");
  EXPECT_EQ(plot::tick_label(0.25, 0.05), "0.25");
  EXPECT_EQ(plot::tick_label(0.4, 0.2), "0.4");
  EXPECT_EQ(plot::tick_label(0, 0.5), "0.0");
  EXPECT_EQ(plot::tick_label(-50, 5), "\u221250");  // a true minus sign
  EXPECT_EQ(plot::tick_label(-1e-17, 0.1), "0.0");  // rounding noise is not negative
  EXPECT_EQ(plot::tick_label(4000, 1000), "4000");
  EXPECT_EQ(plot::tick_label(1.5e6, 5e5), "1.5 M");
  EXPECT_EQ(plot::tick_label(0, 5e5), "0");
}

TEST(PlotRender, UnknownExtensionIsOneLineNamingTheFile) {
  try {
    plot::render(plot::Figure{}, "plot.jpg");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("plot.jpg"), std::string::npos);
    EXPECT_EQ(std::string(error.what()).find('\n'), std::string::npos);
  }
  EXPECT_FALSE(fs::exists("plot.jpg"));
  EXPECT_FALSE(fs::exists("plot.jpg.partial"));
}

// --- pictures of a trace -------------------------------------------------------------------

using testing::CommandResult;
using testing::run_snnsim;

/// A PNG read back, with the questions the tests ask of it.
class Image {
 public:
  explicit Image(const fs::path& path)
      : surface_(cairo_image_surface_create_from_png(path.c_str()), cairo_surface_destroy) {}
  bool valid() const { return cairo_surface_status(surface_.get()) == CAIRO_STATUS_SUCCESS; }
  int width() const { return cairo_image_surface_get_width(surface_.get()); }
  int height() const { return cairo_image_surface_get_height(surface_.get()); }

  /// 0 (black) to 255 (white): the darkest channel of the pixel.
  int lightness(int x, int y) const {
    const auto* row =
        cairo_image_surface_get_data(surface_.get()) +
        static_cast<std::ptrdiff_t>(y) * cairo_image_surface_get_stride(surface_.get());
    const std::uint32_t pixel = reinterpret_cast<const std::uint32_t*>(row)[x];
    return std::min({(pixel >> 16) & 0xff, (pixel >> 8) & 0xff, pixel & 0xff});
  }
  bool dark(int x, int y) const { return lightness(x, y) < 80; }
  bool blank(int x, int y) const { return lightness(x, y) > 245; }

  /// The longest run of dark pixels in column x / row y.
  int dark_run_in_column(int x) const {
    int best = 0, run = 0;
    for (int y = 0; y < height(); ++y) {
      run = dark(x, y) ? run + 1 : 0;
      best = std::max(best, run);
    }
    return best;
  }
  int dark_run_in_row(int y) const {
    int best = 0, run = 0;
    for (int x = 0; x < width(); ++x) {
      run = dark(x, y) ? run + 1 : 0;
      best = std::max(best, run);
    }
    return best;
  }

 private:
  std::unique_ptr<cairo_surface_t, void (*)(cairo_surface_t*)> surface_;
};

/// Where the axes are: the y axis is a long dark vertical line in the left quarter, the x axis
/// a long dark horizontal line in the bottom third. -1 when not found.
struct AxesFound {
  int left = -1, bottom = -1;
};
AxesFound find_axes(const Image& image) {
  AxesFound found;
  for (int x = 0; x < image.width() / 4 && found.left < 0; ++x) {
    if (image.dark_run_in_column(x) > image.height() / 2) found.left = x;
  }
  for (int y = image.height() - 1; y > 2 * image.height() / 3 && found.bottom < 0; --y) {
    if (image.dark_run_in_row(y) > image.width() / 2) found.bottom = y;
  }
  return found;
}

/// Share of non-blank pixels right of the y axis and above the x axis, below the top quarter
/// (leaving out the title, legend and note).
double inked_fraction(const Image& image, const AxesFound& axes) {
  std::size_t inked = 0, all = 0;
  for (int y = image.height() / 4; y < axes.bottom - 2; ++y) {
    for (int x = axes.left + 3; x < image.width() - 30; ++x) {
      ++all;
      inked += !image.blank(x, y);
    }
  }
  return all == 0 ? 0 : static_cast<double>(inked) / static_cast<double>(all);
}

class TracePlot : public ::testing::Test {
 protected:
  /// One COBA run (200 ms) and one layer-graph inference for the whole suite: both are fast.
  static void SetUpTestSuite() {
    folder_ = new fs::path(fs::temp_directory_path() /
                           ("snnsim-trace-plot-test-" + std::to_string(::getpid())));
    fs::create_directories(*folder_);
    const std::string source = SNNSIM_SOURCE_DIR;
    run_ = new CommandResult(run_snnsim("run " + source +
                                        "/examples/coba.json --duration 200ms -q -o " +
                                        (*folder_ / "coba.h5").string()));
    infer_ = new CommandResult(run_snnsim("infer " + source + "/examples/conv-snn.json --input " +
                                          source + "/examples/data/conv-snn-input.npy -q -o " +
                                          (*folder_ / "conv.h5").string()));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*folder_);
    delete folder_;
    delete run_;
    delete infer_;
  }
  void SetUp() override {
    ASSERT_EQ(run_->status, 0) << run_->output;
    ASSERT_EQ(infer_->status, 0) << infer_->output;
  }
  static std::string path(const std::string& name) { return (*folder_ / name).string(); }
  static std::string coba() { return path("coba.h5"); }

  /// Runs `snnsim trace KIND TRACE -o OUT ARGS` and checks it wrote OUT and said so.
  static void plot(const std::string& kind, const std::string& trace, const std::string& out,
                   const std::string& arguments = "") {
    const CommandResult r =
        run_snnsim("trace " + kind + " " + trace + " -o " + path(out) + " " + arguments);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("wrote " + path(out)), std::string::npos) << r.output;
    ASSERT_TRUE(fs::exists(path(out)));
    EXPECT_FALSE(fs::exists(path(out) + ".partial"));
  }

  /// A failing command: a status, one line of error that contains `expected`, no picture.
  static void fails(const std::string& arguments, int status, const std::string& expected,
                    const std::string& out) {
    const CommandResult r = run_snnsim(arguments);
    EXPECT_EQ(r.status, status) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(path(out)));
    EXPECT_FALSE(fs::exists(path(out) + ".partial"));
  }

  static void expect_a_plot(const std::string& out, int width, int height, double least_ink) {
    const Image image(path(out));
    ASSERT_TRUE(image.valid());
    EXPECT_EQ(image.width(), width);
    EXPECT_EQ(image.height(), height);
    const AxesFound axes = find_axes(image);
    ASSERT_GE(axes.left, 20) << "no y axis";
    ASSERT_GE(axes.bottom, 0) << "no x axis";
    EXPECT_LT(axes.bottom, height - 20) << "room for the tick labels and the x label";
    EXPECT_GT(inked_fraction(image, axes), least_ink);
    // Something (tick labels, the axis label) is drawn left of the y axis and below the x axis.
    int left_ink = 0, below_ink = 0;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < axes.left - 2; ++x)
        left_ink += !image.blank(x, y);
    for (int y = axes.bottom + 6; y < height; ++y)
      for (int x = 0; x < width; ++x)
        below_ink += !image.blank(x, y);
    EXPECT_GT(left_ink, 100);
    EXPECT_GT(below_ink, 100);
  }

  static fs::path* folder_;
  static CommandResult* run_;
  static CommandResult* infer_;
};

fs::path* TracePlot::folder_ = nullptr;
CommandResult* TracePlot::run_ = nullptr;
CommandResult* TracePlot::infer_ = nullptr;

TEST_F(TracePlot, CobaRasterPngHasItsSizeAxesAndManyMarks) {
  plot("raster", coba(), "raster.png", "--width 800 --height 500");
  // 200 ms of 4000 neurons at ~20 Hz, every 11th neuron shown: about 1,500 marks.
  expect_a_plot("raster.png", 800, 500, 0.01);
}

TEST_F(TracePlot, CobaRatePngHasItsSizeAxesAndALine) {
  plot("rate", coba(), "rate.png", "--width 640 --height 400 --population E --population I");
  expect_a_plot("rate.png", 640, 400, 0.01);
}

TEST_F(TracePlot, EveryPlotKindDrawsCoba) {
  for (const char* kind : {"isi", "hist", "state"}) {
    SCOPED_TRACE(kind);
    const std::string out = std::string(kind) + ".png";
    plot(kind, coba(), out);
    expect_a_plot(out, 800, 500, 0.01);
  }
  plot("state", coba(), "g_ex.png", "--variable g_ex --neuron 3 --neuron 1 --from 50ms --to 150ms");
  expect_a_plot("g_ex.png", 800, 500, 0.005);
}

TEST_F(TracePlot, LayerGraphRatePerTimestep) {
  plot("rate", path("conv.h5"), "layers.png");
  expect_a_plot("layers.png", 800, 500, 0.005);
  plot("raster", path("conv.h5"), "layers-raster.png", "--population if1");
  plot("hist", path("conv.h5"), "layers-hist.png");
}

TEST_F(TracePlot, SvgIsWellFormedWithTheRequestedSize) {
  plot("raster", coba(), "raster.svg", "--width 700 --height 420 --title 'COBA spikes'");
  std::ifstream in(path("raster.svg"));
  const std::string svg{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  const std::size_t root = svg.find("<svg");
  ASSERT_NE(root, std::string::npos);
  const std::string root_tag = svg.substr(root, svg.find('>', root) - root);
  EXPECT_NE(root_tag.find("width=\"700px\""), std::string::npos) << root_tag;
  EXPECT_NE(root_tag.find("height=\"420px\""), std::string::npos) << root_tag;
  // cairo writes text as glyph outlines (<symbol>s used by <use>), which draw the same in every
  // viewer without the font.
  EXPECT_NE(svg.find("<symbol"), std::string::npos);
  EXPECT_NE(svg.find("<use"), std::string::npos);
  const auto end = svg.find_last_not_of(" \n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(svg.substr(svg.rfind('<', end)), "</svg>\n");
  // Every element opened is closed: as many "<g" as "</g>".
  std::size_t opened = 0, closed = 0;
  for (std::size_t at = svg.find("<g"); at != std::string::npos; at = svg.find("<g", at + 1))
    opened += svg.compare(at, 3, "<g>") == 0 || svg.compare(at, 3, "<g ") == 0;
  for (std::size_t at = svg.find("</g>"); at != std::string::npos; at = svg.find("</g>", at + 1))
    ++closed;
  EXPECT_EQ(opened, closed);
}

TEST_F(TracePlot, RasterSaysHowItThinsALargePopulation) {
  const TraceReader reader(coba());
  analysis::PlotRequest request;
  request.height = 210;  // 100 rows for 4000 neurons: every 40th neuron
  const analysis::Plot plot = analysis::build_plot(reader, request);
  EXPECT_NE(plot.figure.note.find("showing 100 of 4,000 neurons (every 40th)"), std::string::npos)
      << plot.figure.note;
  std::size_t marks = 0;
  for (const plot::Series& s : plot.figure.series) {
    EXPECT_EQ(s.x.size(), s.y.size());
    marks += s.x.size();
    for (double y : s.y)
      EXPECT_EQ(std::fmod(y - 0.5, 40.0) == 0 || std::fmod(y - 3200.5, 40.0) == 0, true) << y;
  }
  EXPECT_GT(marks, 50u);
  EXPECT_LE(marks, analysis::kMaxRasterMarks);
  ASSERT_EQ(plot.figure.series.size(), 2u);  // E and I, in the legend
  EXPECT_EQ(plot.figure.series[0].label, "E");
  EXPECT_EQ(plot.figure.series[1].label, "I");
}

TEST_F(TracePlot, RateMatchesTheSpikeCount) {
  const TraceReader reader(coba());
  analysis::PlotRequest request;
  request.kind = analysis::PlotKind::rate;
  request.populations = {"E"};
  request.bin = "10ms";
  const analysis::Plot plot = analysis::build_plot(reader, request);
  ASSERT_EQ(plot.figure.series.size(), 1u);
  const plot::Series& line = plot.figure.series[0];
  ASSERT_EQ(line.y.size(), 20u);  // 200 ms in bins of 10 ms
  double mean = 0;
  for (double rate : line.y)
    mean += rate / 20;
  // The mean of the bins' rates is the population's rate over the run.
  const double expected = static_cast<double>(reader.spike_count("E")) / 3200 / 0.2;
  EXPECT_NEAR(mean, expected, 1e-9 * expected);
}

TEST_F(TracePlot, BadInputsAreOneLineAndLeaveNoPicture) {
  const std::string bin = std::string("trace raster ");
  fails(bin + coba() + " --population X -o " + path("x.png"), 1, "no population 'X'", "x.png");
  fails(bin + coba() + " -o " + path("x.jpg"), 2, "must end in .svg or .png", "x.jpg");
  fails(bin + coba(), 2, "missing -o", "x.png");
  fails("trace state " + coba() + " --variable w -o " + path("x.png"), 1, "no sampled 'w'",
        "x.png");
  fails("trace rate " + coba() + " --from 300ms -o " + path("x.png"), 1, "past the end", "x.png");
  fails("trace rate " + coba() + " --bin 1us -o " + path("x.png"), 1, "shorter than the time step",
        "x.png");

  // Not HDF5, a truncated trace, and an HDF5 file that is not a trace: the message names it.
  std::ofstream(path("text.h5")) << "not a trace\n";
  fails(bin + path("text.h5") + " -o " + path("x.png"), 1, path("text.h5"), "x.png");
  {
    std::ifstream in(coba(), std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::ofstream(path("truncated.h5"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  fails(bin + path("truncated.h5") + " -o " + path("x.png"), 1, path("truncated.h5"), "x.png");
  fails(bin + path("missing.h5") + " -o " + path("x.png"), 1, path("missing.h5"), "x.png");
}

TEST_F(TracePlot, HelpDescribesThePlot) {
  const CommandResult r = run_snnsim("trace isi --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("usage: snnsim trace isi TRACE.h5 -o PLOT.svg|PLOT.png"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("--bin"), std::string::npos);
}

}  // namespace
}  // namespace snnsim
