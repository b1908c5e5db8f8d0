#include "tools/snnsim/cli_options.h"

#include <omp.h>

#include <charconv>
#include <cmath>
#include <functional>
#include <iostream>
#include <limits>
#include <type_traits>

#include "networks/nir_import.h"
#include "networks/quantity.h"

namespace snnsim::cli {

namespace po = boost::program_options;

namespace {

/// `text` as a T in [low, high], parsed strictly: Boost's own conversion wraps "-5" around to
/// 18446744073709551611 for unsigned options and accepts "nan", so numeric options are read as
/// text and converted here. `limit` says where the bounds come from, for the message.
template <class T>
T parse_in_range(const std::string& option, const std::string& text, T low, T high,
                 const std::string& limit) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  bool valid = !text.empty() && error == std::errc() && stop == end;
  if constexpr (std::is_floating_point_v<T>) valid = valid && std::isfinite(value);
  if (!valid || value < low || value > high) {
    std::ostringstream expected;
    expected << "--" << option << " " << text << ": expected "
             << (std::is_floating_point_v<T> ? "a number" : "a whole number") << " from " << low
             << " to " << high;
    if (!limit.empty()) expected << " (" << limit << ")";
    throw po::error(expected.str());
  }
  return value;
}

/// A numeric option whose value must lie in [low, high]; `store` receives it.
template <class T>
po::typed_value<std::string>* in_range(const char* option, const char* value_name, T low, T high,
                                       std::function<void(T)> store, std::string limit = "") {
  return po::value<std::string>()->value_name(value_name)->notifier([=](const std::string& text) {
    store(parse_in_range(option, text, low, high, limit));
  });
}

template <class T>
po::typed_value<std::string>* in_range(const char* option, const char* value_name, T& target, T low,
                                       T high, std::string limit = "") {
  return in_range<T>(
      option, value_name, low, high, [&target](T value) { target = value; }, std::move(limit));
}

/// Counts with no smaller bound of their own (--batch, --timesteps, --top-k): at least one; what
/// a run can hold is checked where the count is used, against the network.
constexpr std::size_t kMaxCount = std::numeric_limits<std::size_t>::max();
constexpr double kMaxNumber = std::numeric_limits<double>::max();
/// Plot sides: 8192 pixels makes a 256 MB PNG surface, as large as a plot reasonably gets.
constexpr std::size_t kMaxPlotSide = 8192;

/// --threads: at least one, and no more than the processors snnsim may run on (more threads
/// only compete for the same cores; results never depend on the count).
po::typed_value<std::string>* threads_option(int& threads) {
  const int processors = omp_get_num_procs();
  return in_range("threads", "N", threads, 1, processors,
                  "the processors available to snnsim here");
}

/// --backend, the same option for `snnsim run` and `snnsim infer`.
void add_backend_option(po::options_description& d, Arguments& a) {
  d.add_options()("backend", po::value(&a.backend)->value_name("cpu|cuda|auto"),
                  "where to run: cpu, cuda (an NVIDIA GPU), or auto (cuda when a GPU is present); "
                  "default cpu");
}

}  // namespace

BackendKind parse_backend(const std::string& name) {
  if (name == "cpu") return BackendKind::cpu;
  if (name == "cuda") return BackendKind::cuda;
  if (name == "auto") return BackendKind::automatic;
  throw std::runtime_error("--backend " + name + ": expected cpu, cuda or auto");
}

po::options_description options_for(OptionGroup group, Arguments& a) {
  switch (group) {
    case OptionGroup::network: {
      po::options_description d("Network");
      d.add_options()(
          "param,p", po::value(&a.parameters)->composing()->value_name("NAME=VALUE"),
          "override a parameter of the network file's \"parameters\" block, e.g. -p N=100000 "
          "(repeatable)");
      return d;
    }
    case OptionGroup::run:
    case OptionGroup::simulation: {
      po::options_description d("Simulation");
      d.add_options()("duration", po::value(&a.duration)->value_name("TIME"),
                      "biological time to simulate, e.g. 1s, 250ms (default: the file's)")(
          "dt", po::value(&a.dt)->value_name("TIME"),
          "time step, e.g. 0.1ms (default: the file's)")(
          "seed",
          in_range<std::uint64_t>("seed", "N", 0, std::numeric_limits<std::uint64_t>::max(),
                                  [&a](std::uint64_t seed) { a.seed = seed; }),
          "random seed (default: the file's)")(
          "threads,t", threads_option(a.threads),
          "CPU threads (default: all cores); results do not depend on it");
      if (group == OptionGroup::run) {
        add_backend_option(d, a);
        d.add_options()("blocking-exchange", po::bool_switch(&a.blocking_exchange),
                        "under mpirun: trade spikes once per shortest delay and wait for each "
                        "exchange, instead of every half delay overlapped with the updates "
                        "(docs/distributed.md)");
      }
      return d;
    }
    case OptionGroup::output: {
      po::options_description d("Output");
      d.add_options()("output,o", po::value(&a.output)->value_name("TRACE.h5"),
                      "write spikes and sampled state to this HDF5 trace (docs/trace-format.md)")(
          "summary-json", po::value(&a.summary_json)->value_name("FILE"),
          "also write the closing summary as JSON")("quiet,q", po::bool_switch(&a.quiet),
                                                    "no progress, no summary on the terminal");
      return d;
    }
    case OptionGroup::infer: {
      po::options_description d("Inference");
      d.add_options()("input,i", po::value(&a.input)->value_name("FILE.npy"),
                      "input samples: an .npy array of one sample of the model's input shape, "
                      "or [N, ...] for N samples")(
          "labels", po::value(&a.labels)->value_name("FILE.npy"),
          "true classes of the samples (.npy, N integers): report the accuracy")(
          "batch,b", in_range<std::size_t>("batch", "B", a.batch, 1, kMaxCount),
          "samples run together (default: 32)")(
          "timesteps,T", in_range<std::size_t>("timesteps", "T", a.timesteps, 1, kMaxCount),
          "timesteps per sample (default: the file's)")(
          "top-k", in_range<std::size_t>("top-k", "K", a.top_k, 1, kMaxCount),
          "predictions shown per sample (default 3)")("threads,t", threads_option(a.threads),
                                                      "CPU threads (default: all cores)")(
          "dense", po::bool_switch(&a.dense),
          "treat spikes as dense tensors: every operator takes its dense (BLAS) path, as "
          "PyTorch would; for comparisons with the event-driven default, which itself takes the "
          "dense path for spikes denser than it pays for (linear above 40 %, conv2d above 25 %; "
          "docs/network-format.md) (CPU only: cuda always runs dense products and reports "
          "event-driven counts)")(
          "save-outputs", po::value(&a.save_outputs)->value_name("FILE.npy"),
          "write the output layer's values per sample as float32 .npy, [N, output shape...]: "
          "their mean over timesteps")(
          "outputs-per-timestep", po::bool_switch(&a.outputs_per_timestep),
          "--save-outputs writes every timestep's values instead, [N, T, output shape...]")(
          "per-step", po::bool_switch(&a.per_step),
          "also print each spiking layer's firing rate at every timestep (for T-RevSNN: every "
          "column)")(
          "record", po::value(&a.records)->composing()->value_name("NODE"),
          "also write this node's values at every timestep to the trace (-o), as "
          "populations/NODE/state/value; repeatable (T-RevSNN's level states: c0 to c3)")(
          "check-reversible", po::bool_switch(&a.check_reversible),
          "T-RevSNN: recompute column 0's level states from the last column's by T - 1 "
          "inverses and print the relative error per level (docs/models/trevsnn.md)");
      add_backend_option(d, a);
      return d;
    }
    case OptionGroup::energy: {
      po::options_description d("Energy estimate");
      d.add_options()("energy-mac-pj", in_range("energy-mac-pj", "PJ", a.mac_pj, 0.0, kMaxNumber),
                      "energy of a multiply-accumulate in pJ (default 4.6, 45 nm)")(
          "energy-ac-pj", in_range("energy-ac-pj", "PJ", a.ac_pj, 0.0, kMaxNumber),
          "energy of an accumulate (synaptic operation) in pJ (default 0.9, 45 nm)");
      return d;
    }
    case OptionGroup::language_model: {
      po::options_description d("Language model");
      d.add_options()("input,i", po::value(&a.input)->value_name("TEXTS.txt"),
                      "texts, one per line (UTF-8); a tab splits a line into a pair of texts")(
          "batch,b", in_range<std::size_t>("batch", "B", a.batch, 1, kMaxCount),
          "texts run together, of similar lengths (default: 32)")(
          "max-length", in_range<std::size_t>("max-length", "L", a.max_length, 3, kMaxCount),
          "tokens per text, [CLS] and [SEP] included: longer texts are cut, with a warning "
          "(default and upper bound: the model's max_positions)")(
          "top-k", in_range<std::size_t>("top-k", "K", a.top_k, 1, kMaxCount),
          "fill-mask: tokens shown per [MASK] (default 5)")("threads,t", threads_option(a.threads),
                                                            "CPU threads (default: all cores)")(
          "save-outputs", po::value(&a.save_outputs)->value_name("FILE.npy|FILE.h5"),
          "encode: write the hidden states, float32 [texts, longest, hidden], zero after each "
          "text's end (.h5 adds the token ids and lengths)")(
          "trace-layers", po::value(&a.trace_layers)->value_name("J,K,..."),
          "with -o: the encoder layers (from 0) whose spikes the trace records (default: all)");
      return d;
    }
    case OptionGroup::trace_select: {
      po::options_description d("Selection");
      d.add_options()("population,P", po::value(&a.populations)->composing()->value_name("NAME"),
                      "a population or layer (repeatable; default: all)")(
          "from", po::value(&a.from)->value_name("TIME"),
          "start of the time window, e.g. 200ms (default: the start)")(
          "to", po::value(&a.to)->value_name("TIME"),
          "end of the time window, e.g. 1s (default: the end)");
      return d;
    }
    case OptionGroup::trace_summary: {
      po::options_description d("Summary");
      d.add_options()("json", po::bool_switch(&a.json), "print JSON instead of a table")(
          "bin", po::value(&a.bin)->value_name("TIME"),
          "window of the spike counts behind the Fano factor, correlations and synchrony "
          "(default 5ms)");
      return d;
    }
    case OptionGroup::trace_plot: {
      po::options_description d("Plot");
      d.add_options()("output,o", po::value(&a.output)->value_name("PLOT.svg|PLOT.png"),
                      "the picture to write; its extension picks the format")(
          "width", in_range("width", "PX", a.width, std::size_t{16}, kMaxPlotSide),
          "width in pixels (default 800)")(
          "height", in_range("height", "PX", a.height, std::size_t{16}, kMaxPlotSide),
          "height in pixels (default 500)")("title", po::value(&a.title)->value_name("TEXT"),
                                            "title (default: what is shown)");
      return d;
    }
    case OptionGroup::trace_plot_bin: {
      po::options_description d("Bins");
      d.add_options()("bin", po::value(&a.bin)->value_name("SIZE"),
                      "bin of rate and isi plots (a time, e.g. 5ms) or of hist (a frequency, e.g. "
                      "2Hz); default: chosen from the data");
      return d;
    }
    case OptionGroup::trace_state: {
      po::options_description d("State");
      d.add_options()("variable", po::value(&a.variable)->value_name("NAME"),
                      "the sampled variable (default v, else the first)")(
          "neuron",
          po::value<std::vector<std::string>>()->composing()->value_name("N")->notifier(
              [&a](const std::vector<std::string>& texts) {
                for (const std::string& text : texts) {
                  a.neurons.push_back(parse_in_range<std::uint32_t>(
                      "neuron", text, 0, std::numeric_limits<std::uint32_t>::max(), ""));
                }
              }),
          "a neuron to draw (repeatable, at most 10; default: the first 3 sampled)");
      return d;
    }
    case OptionGroup::trace_compare: {
      po::options_description d("Comparison");
      d.add_options()("exact", po::bool_switch(&a.exact),
                      "require identical spike trains (same steps, neurons, samples and values) "
                      "instead of alike statistics")(
          "tolerance", in_range("tolerance", "R", a.tolerance, 0.0, kMaxNumber),
          "largest relative difference of mean rates and CVs accepted (default 0.1)")(
          "ks-threshold", in_range("ks-threshold", "D", a.ks_threshold, 0.0, 1.0),
          "largest Kolmogorov-Smirnov distance between distributions accepted (default 0.2)")(
          "bin", po::value(&a.bin)->value_name("TIME"),
          "window of the spike counts behind the correlations (default 5ms)")(
          "json", po::bool_switch(&a.json), "print JSON instead of a table");
      return d;
    }
    case OptionGroup::trace_export: {
      po::options_description d("Export");
      d.add_options()("format", po::value(&a.format)->value_name("csv|nirdata"),
                      "csv: one line per spike; nirdata: NIR's NIRGraphData with EventData")(
          "output,o", po::value(&a.output)->value_name("FILE"), "the file to write");
      return d;
    }
    case OptionGroup::nir_export: {
      po::options_description d("NIR export");
      d.add_options()("output,o", po::value(&a.output)->value_name("NET.nir"),
                      "the NIR file to write")(
          "approximate", po::bool_switch(&a.approximate),
          "approximate what NIR cannot express (a warning for each) instead of refusing it")(
          "dt", po::value(&a.dt)->value_name("TIME"),
          "the time step written to the file; layer graphs: the duration of a timestep (default "
          "1ms); population networks: default the file's");
      return d;
    }
    case OptionGroup::loihi2_export: {
      po::options_description d("Loihi 2 export");
      d.add_options()("output,o", po::value(&a.output)->value_name("OUT.json"),
                      "the quantised network file to write (model loihi2_lif, integer weights)")(
          "report", po::bool_switch(&a.report),
          "simulate the float, the mapped and the quantised network with the same seed and "
          "print their deviations per population");
      return d;
    }
    case OptionGroup::export_check: {
      po::options_description d("Constraint check");
      d.add_options()("target", po::value(&a.target)->value_name("loihi2|xylo|nir"),
                      "the hardware whose limits to check, or nir: what NIR cannot express");
      return d;
    }
    case OptionGroup::nir_import: {
      po::options_description d("NIR import");
      d.add_options()("output,o", po::value(&a.output)->value_name("NET.json"),
                      "the network file to write (its tensors go to NET.h5 next to it)")(
          "kind", po::value(&a.kind)->value_name("auto|population|layer_graph"),
          "what to import the graph as (default auto: a population network when the graph has "
          "the shape snnsim export nir gives one, else a layer graph)");
      return d;
    }
    case OptionGroup::nir_time_step: {
      po::options_description d("NIR graphs");
      static const std::string help =
          "the time step NIR's equations are stepped with (default: the graph's metadata "
          "\"dt\", which snnTorch, Norse, Sinabs and Rockpool do not write; theirs: " +
          nir_writer_time_steps() + ")";
      d.add_options()("dt", po::value(&a.dt)->value_name("TIME"), help.c_str());
      return d;
    }
  }
  return po::options_description();
}

bool parse_command_line(int argc, const char* const* argv, const std::string& usage,
                        const std::vector<OptionGroup>& groups, Arguments& a,
                        Positionals positionals) {
  po::options_description visible;
  for (OptionGroup group : groups)
    visible.add(options_for(group, a));
  po::options_description general("General");
  general.add_options()("help,h", po::bool_switch(&a.help), "show this help");
  visible.add(general);
  po::options_description all = visible;
  all.add_options()("files", po::value(&a.files)->composing());
  po::positional_options_description positional;
  positional.add("files", -1);
  po::variables_map values;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(),
              values);
    po::notify(values);
  } catch (const po::error& error) {
    throw std::runtime_error(std::string(error.what()) + " (see --help)");
  }
  if (a.help) {
    std::cout << usage << "\n" << visible;
    return false;
  }
  if (a.files.size() < positionals.least) {
    throw std::runtime_error(std::string("missing ") + positionals.what + " (see --help)");
  }
  if (a.files.size() > positionals.most) {
    throw std::runtime_error("unexpected argument '" + a.files[positionals.most] +
                             "' (see --help)");
  }
  if (!a.files.empty()) a.network = a.files[0];
  return true;
}

double parse_command_line_quantity(const std::string& option, const std::string& text,
                                   Dimension dimension) {
  try {
    return parse_quantity_text(text, dimension);
  } catch (const QuantityError& error) {
    throw std::runtime_error("--" + option + " " + text + ": " + error.what());
  }
}

LoadOptions load_options(const Arguments& a) {
  LoadOptions options;
  for (const std::string& assignment : a.parameters) {
    const auto equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw std::runtime_error("--param " + assignment + ": expected NAME=VALUE, e.g. N=100000");
    }
    options.parameter_overrides[assignment.substr(0, equals)] = assignment.substr(equals + 1);
  }
  if (!a.duration.empty()) {
    options.duration_ms = parse_command_line_quantity("duration", a.duration, Dimension::time);
    if (*options.duration_ms < 0) throw std::runtime_error("--duration must not be negative");
  }
  if (!a.dt.empty()) {
    options.dt_ms = parse_command_line_quantity("dt", a.dt, Dimension::time);
    if (*options.dt_ms <= 0) throw std::runtime_error("--dt must be positive");
  }
  options.seed = a.seed;
  return options;
}

}  // namespace snnsim::cli
