// snnsim import nir NET.nir -o NET.json: a NIR graph written by another tool as a snnsim network
// file (docs/export.md, "Importing NIR").
#include <cstdio>
#include <filesystem>
#include <string_view>

#include "networks/nir_import.h"
#include "tools/snnsim/cli_options.h"
#include "tools/snnsim/commands.h"
#include "tools/snnsim/network_argument.h"
#include "tools/snnsim/output_paths.h"

namespace snnsim::cli {

namespace {
constexpr const char* kUsage =
    "usage: snnsim import nir NET.nir -o NET.json [options]\n"
    "\n"
    "Reads a NIR graph (the Neuromorphic Intermediate Representation, as snnTorch, Norse, Sinabs,\n"
    "Rockpool, Lava-DL and snnsim export nir write it) and writes it as a snnsim network file,\n"
    "with its weights and per-neuron parameters in NET.h5 next to it. NIR's equations are\n"
    "stepped with forward Euler at dt, a spike counting 1 in its step (docs/export.md). Graphs\n"
    "of populations (what snnsim export nir writes for a population network) become population\n"
    "networks for snnsim run; the others layer graphs for snnsim infer.\n";

NirImportKind parse_kind(const std::string& kind) {
  if (kind == "auto") return NirImportKind::automatic;
  if (kind == "population") return NirImportKind::population;
  if (kind == "layer_graph") return NirImportKind::layer_graph;
  throw std::runtime_error("--kind " + kind + ": expected auto, population or layer_graph");
}
}  // namespace

int command_import(int argc, const char* const* argv) {
  Arguments a;
  NirImportOptions options;
  try {
    if (argc >= 2 && std::string_view(argv[1]) != "nir" && argv[1][0] != '-') {
      throw std::runtime_error(std::string("unknown format '") + argv[1] +
                               "'; expected nir (see snnsim import --help)");
    }
    const int skip = argc >= 2 && std::string_view(argv[1]) == "nir" ? 1 : 0;
    if (!parse_command_line(argc - skip, argv + skip, kUsage,
                            {OptionGroup::nir_import, OptionGroup::nir_time_step}, a,
                            {"the NIR file"})) {
      return 0;
    }
    if (skip == 0) throw std::runtime_error("expected the format: snnsim import nir NET.nir");
    if (a.output.empty()) throw std::runtime_error("missing -o NET.json (see --help)");
    // The tensors go to NET.h5 next to it: another extension could be that very name.
    if (std::filesystem::path(a.output).extension() != ".json") {
      throw std::runtime_error("-o " + a.output + ": expected a network file name ending in .json");
    }
    options.kind = parse_kind(a.kind);
    options.dt_s = nir_time_step_s(a);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim import: %s\n", error.what());
    return kExitUsage;
  }
  try {
    const std::filesystem::path output = a.output;
    const std::string tensors = output.stem().string() + ".h5";
    const std::vector<InputFile> inputs{{a.network, "the NIR file"}};
    refuse_output_over_inputs("-o", output, inputs);
    refuse_output_over_inputs("-o", output.parent_path() / tensors, inputs);
    const ImportedNetwork network = import_nir_file(a.network, tensors, options);
    write_imported_network(network, output, tensors);
    for (const std::string& note : network.notes)
      std::printf("note: %s\n", note.c_str());
    const std::string kind = network.document.value("kind", "population");
    std::printf("%s: %s network from %s%s\n", output.c_str(), kind.c_str(), a.network.c_str(),
                network.tensors.empty() ? "" : (", tensors in " + tensors).c_str());
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim import: %s\n", error.what());
    return kExitFailure;
  }
}

}  // namespace snnsim::cli
