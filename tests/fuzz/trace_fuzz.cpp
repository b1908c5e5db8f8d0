// Traces (sim/trace_reader.h, analysis/*): what each `snnsim trace` subcommand reads, with its
// default options: summary, the five plots (built, not rendered: drawing reads nothing from the
// file), export as CSV and as NIR data, and compare, statistical and exact, of the trace with
// itself. Each reads on its own, so that one refusing the file does not hide the others.
#include <cmath>

#include "analysis/trace_compare.h"
#include "analysis/trace_export.h"
#include "analysis/trace_plots.h"
#include "analysis/trace_summary.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace snnsim::analysis;

/// `snnsim trace summary`'s default bin: 5 ms for population traces, a timestep for layer graphs.
snnsim::Step default_bin_steps(const TraceInfo& info) {
  if (info.kind == TraceKind::layer_graph) return 1;
  const double steps = std::round(0.005 / info.dt_s);
  if (!(steps >= 1)) throw std::runtime_error("the 5 ms bin is shorter than the time step");
  return static_cast<snnsim::Step>(steps);
}

void summarize_trace(const snnsim::TraceReader& reader) {
  const TraceInfo info = read_trace_info(reader);
  const std::vector<PopulationInfo> populations = select_populations(reader, {});
  const StepWindow window = window_from_options(info, "", "");
  summary_json(summarize(reader, info, populations, window, default_bin_steps(info)));
}

void export_trace_as(const snnsim::TraceReader& reader, ExportFormat format,
                     const std::filesystem::path& output) {
  const TraceInfo info = read_trace_info(reader);
  ExportOptions options;
  options.format = format;
  options.populations = select_populations(reader, {});
  options.window = window_from_options(info, "", "");
  export_trace(reader, info, options, output);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  snnsim::fuzz::silence_hdf5();
  // The tables a trace declares (neurons, samples) are refused above this, before allocation:
  // far below the sanitizer's 1 GiB allocation limit and libFuzzer's RSS limit (tools/fuzz.sh),
  // and small enough that the loops over them keep each input within its time limit at -O0.
  set_analysis_memory_limit(std::uint64_t{16} << 20);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using snnsim::fuzz::expect_clean_refusal;
  const std::filesystem::path path = snnsim::fuzz::write_input(data, size, "trace.h5");
  expect_clean_refusal([&] {
    const snnsim::TraceReader reader(path);
    expect_clean_refusal([&] { summarize_trace(reader); });
    for (const PlotKind kind :
         {PlotKind::raster, PlotKind::rate, PlotKind::isi, PlotKind::hist, PlotKind::state}) {
      PlotRequest request;
      request.kind = kind;
      expect_clean_refusal([&] { build_plot(reader, request); });
    }
    const std::filesystem::path& folder = snnsim::fuzz::scratch_folder();
    expect_clean_refusal(
        [&] { export_trace_as(reader, ExportFormat::csv, folder / "spikes.csv"); });
    expect_clean_refusal(
        [&] { export_trace_as(reader, ExportFormat::nir_data, folder / "spikes.nir"); });
    expect_clean_refusal([&] { compare_statistics(reader, reader, {}); });
    expect_clean_refusal([&] { compare_exact(reader, reader, {}); });
  });
  return 0;
}
