#include "tools/snnsim/cli_options.h"

#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>

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
    case OptionGroup::run: {
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
      add_backend_option(d, a);
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
  }
  return po::options_description();
}

bool parse_command_line(int argc, const char* const* argv, const std::string& usage,
                        std::initializer_list<OptionGroup> groups, Arguments& a) {
  po::options_description visible;
  for (OptionGroup group : groups)
    visible.add(options_for(group, a));
  po::options_description general("General");
  general.add_options()("help,h", po::bool_switch(&a.help), "show this help");
  visible.add(general);
  po::options_description all = visible;
  all.add_options()("network", po::value(&a.network));
  po::positional_options_description positional;
  positional.add("network", 1);
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
  if (a.network.empty()) throw std::runtime_error("missing the network file (see --help)");
  return true;
}

double parse_command_line_quantity(const std::string& option, const std::string& text,
                                   Dimension dimension) {
  // Accept "1s" as well as "1 s": put a space between the number and a trailing unit.
  static const std::regex number_then_unit(R"(^\s*([-+0-9.eE]+)\s*([A-Za-zµ]+)\s*$)");
  std::smatch match;
  const std::string spaced = std::regex_match(text, match, number_then_unit)
                                 ? match[1].str() + " " + match[2].str()
                                 : text;
  try {
    return parse_quantity(nlohmann::json(spaced), dimension, {});
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
