#pragma once
// Commands made of subcommands (`snnsim trace`, `snnsim export`): one table per command, and one
// way to print it and dispatch on it.
#include <span>
#include <string_view>

namespace snnsim::cli {

struct Subcommand {
  std::string_view name, arguments, description;
  /// Runs with the subcommand's name and the arguments from it on (argv[0] is the name).
  int (*run)(std::string_view name, int argc, const char* const* argv);
};

/// A subcommand's run for a function that does not need its name.
template <int (*kRun)(int, const char* const*)>
int without_name(std::string_view, int argc, const char* const* argv) {
  return kRun(argc, argv);
}

/// `snnsim COMMAND SUBCOMMAND ...` (argv[0] is COMMAND): runs the subcommand named by argv[1];
/// prints `about` and the table for --help (exit 0) or without a subcommand (exit 2), and one
/// line naming the choices for an unknown one (exit 2).
int run_subcommand(std::string_view command, std::string_view about,
                   std::span<const Subcommand> subcommands, int argc, const char* const* argv);

}  // namespace snnsim::cli
