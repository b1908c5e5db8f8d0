// snnsim: the command-line entry point. `snnsim COMMAND --help` documents each command.
#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "sim/version.h"
#include "tools/snnsim/commands.h"

namespace {

constexpr const char* kUsage =
    "snnsim: simulate spiking neural networks\n"
    "\n"
    "usage: snnsim COMMAND [ARGS...]\n"
    "\n"
    "commands:\n"
    "  run NET.json [-o trace.h5]   simulate a population network and summarise the run\n"
    "  infer MODEL.json -i X.npy    run a layer-graph SNN on samples: predictions, rates, energy\n"
    "  validate NET.json            check a network file without running it\n"
    "  trace SUBCOMMAND TRACE.h5    statistics, plots, comparisons and exports of a trace\n"
    "  export TARGET NET.json       a network as NIR, or in fixed point for Loihi 2; checks\n"
    "  import nir NET.nir -o N.json a NIR graph (snnTorch, Norse, Sinabs, ...) as a network file\n"
    "  lm SUBCOMMAND MODEL.json     a SpikeLM language model on text: fill-mask, classify, encode\n"
    "\n"
    "  snnsim COMMAND --help        options of a command\n"
    "  snnsim --version             version\n"
    "\n"
    "Network files: docs/network-format.md. Traces: docs/trace-format.md. NIR and hardware:\n"
    "docs/export.md.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace snnsim::cli;
  // A file-size limit (ulimit -f) then makes a write fail with EFBIG, reported like a full disk
  // with one line and no half-written output, instead of killing the process mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  // A layer graph allocates and frees every operator's output, megabytes each. By default glibc
  // maps large blocks afresh and trims the heap after them, so every page faults and is zeroed
  // again at the next operator; kept in the heap, freed blocks are reused (T-RevSNN tiny at
  // batch 1: 6 % faster). A run's peak memory is unchanged; it is simply not returned early.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  const std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (command == "--version" || command == "version") {
    std::printf("snnsim %s\n", snnsim::kVersion);
    return 0;
  }
  if (command == "run") return command_run(argc - 1, argv + 1);
  if (command == "infer") return command_infer(argc - 1, argv + 1);
  if (command == "validate") return command_validate(argc - 1, argv + 1);
  if (command == "trace") return command_trace(argc - 1, argv + 1);
  if (command == "export") return command_export(argc - 1, argv + 1);
  if (command == "import") return command_import(argc - 1, argv + 1);
  if (command == "lm") return command_lm(argc - 1, argv + 1);
  std::fprintf(stderr,
               "snnsim: unknown command '%s'; expected run, infer, validate, trace, export, "
               "import or lm (see snnsim --help)\n",
               argv[1]);
  return kExitUsage;
}
