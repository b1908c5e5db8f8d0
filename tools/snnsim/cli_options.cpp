#include "tools/snnsim/cli_options.h"

#include <iostream>

#include "networks/nir_import.h"
#include "networks/quantity.h"

namespace snnsim::cli {

namespace po = boost::program_options;

namespace {

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
          "seed", po::value<std::uint64_t>()->value_name("N")->notifier([&a](std::uint64_t s) {
            a.seed = s;
          }),
          "random seed (default: the file's)")(
          "threads,t", po::value(&a.threads)->value_name("N"),
          "CPU threads (default: all cores); results do not depend on it");
      if (group == OptionGroup::run) add_backend_option(d, a);
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
          "batch,b", po::value(&a.batch)->value_name("B"), "samples run together (default: 32)")(
          "timesteps,T", po::value(&a.timesteps)->value_name("T"),
          "timesteps per sample (default: the file's)")("top-k",
                                                        po::value(&a.top_k)->value_name("K"),
                                                        "predictions shown per sample (default 3)")(
          "threads,t", po::value(&a.threads)->value_name("N"), "CPU threads (default: all cores)")(
          "energy-mac-pj", po::value(&a.mac_pj)->value_name("PJ"),
          "energy of a multiply-accumulate in pJ (default 4.6, 45 nm)")(
          "energy-ac-pj", po::value(&a.ac_pj)->value_name("PJ"),
          "energy of an accumulate (synaptic operation) in pJ (default 0.9, 45 nm)")(
          "dense", po::bool_switch(&a.dense),
          "treat spikes as dense tensors: every operator takes its dense (BLAS) path, as "
          "PyTorch would; for comparisons with the event-driven default (CPU only: cuda always "
          "runs dense products and reports event-driven counts)");
      add_backend_option(d, a);
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
          "width", po::value(&a.width)->value_name("PX"), "width in pixels (default 800)")(
          "height", po::value(&a.height)->value_name("PX"), "height in pixels (default 500)")(
          "title", po::value(&a.title)->value_name("TEXT"), "title (default: what is shown)")(
          "bin", po::value(&a.bin)->value_name("SIZE"),
          "bin of rate and isi plots (a time, e.g. 5ms) or of hist (a frequency, e.g. 2Hz); "
          "default: chosen from the data")(
          "variable", po::value(&a.variable)->value_name("NAME"),
          "state: the sampled variable (default v, else the first)")(
          "neuron", po::value(&a.neurons)->composing()->value_name("N"),
          "state: a neuron to draw (repeatable, at most 10; default: the first 3 sampled)");
      return d;
    }
    case OptionGroup::trace_compare: {
      po::options_description d("Comparison");
      d.add_options()("exact", po::bool_switch(&a.exact),
                      "require identical spike trains (same steps, neurons, samples and values) "
                      "instead of alike statistics")(
          "tolerance", po::value(&a.tolerance)->value_name("R"),
          "largest relative difference of mean rates and CVs accepted (default 0.1)")(
          "ks-threshold", po::value(&a.ks_threshold)->value_name("D"),
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
                        std::initializer_list<OptionGroup> groups, Arguments& a,
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
