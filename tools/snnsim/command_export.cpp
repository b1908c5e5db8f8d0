// snnsim export TARGET NET.json: a network for other tools and for neuromorphic hardware
// (docs/export.md).
#include "tools/snnsim/commands.h"
#include "tools/snnsim/export_commands.h"
#include "tools/snnsim/subcommands.h"

namespace snnsim::cli {
namespace {

constexpr Subcommand kSubcommands[] = {
    {"nir", "NET.json -o NET.nir", "a NIR graph, for snnTorch, Norse, Lava, SpiNNaker2, ...",
     without_name<export_nir>},
    {"loihi2", "NET.json -o OUT.json", "fixed point for Loihi 2, with its deviation from float",
     without_name<export_loihi2>},
    {"check", "NET.json --target T", "every constraint of loihi2, xylo or nir it violates",
     without_name<export_check>},
};

constexpr const char* kAbout =
    "usage: snnsim export SUBCOMMAND NET.json [options]\n"
    "\n"
    "Writes a network for another tool or for neuromorphic hardware. What a target cannot\n"
    "express is refused, naming each element, unless --approximate allows an approximation.\n";

}  // namespace

int command_export(int argc, const char* const* argv) {
  return run_subcommand("export", kAbout, kSubcommands, argc, argv);
}

}  // namespace snnsim::cli
