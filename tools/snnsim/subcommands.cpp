#include "tools/snnsim/subcommands.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "tools/snnsim/commands.h"

namespace snnsim::cli {
namespace {

int width(std::string_view text) {
  return static_cast<int>(text.size());
}

void print_usage(std::FILE* to, std::string_view command, std::string_view about,
                 std::span<const Subcommand> subcommands) {
  std::fprintf(to, "%.*s\nsubcommands:\n", width(about), about.data());
  int name_width = 0, arguments_width = 0;
  for (const Subcommand& s : subcommands) {
    name_width = std::max(name_width, width(s.name));
    arguments_width = std::max(arguments_width, width(s.arguments));
  }
  for (const Subcommand& s : subcommands) {
    std::fprintf(to, "  %-*.*s %-*.*s  %.*s\n", name_width, width(s.name), s.name.data(),
                 arguments_width, width(s.arguments), s.arguments.data(), width(s.description),
                 s.description.data());
  }
  std::fprintf(to, "\n  snnsim %.*s SUBCOMMAND --help   options of a subcommand\n", width(command),
               command.data());
}

}  // namespace

int run_subcommand(std::string_view command, std::string_view about,
                   std::span<const Subcommand> subcommands, int argc, const char* const* argv) {
  if (argc < 2) {
    print_usage(stderr, command, about, subcommands);
    return kExitUsage;
  }
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout, command, about, subcommands);
    return 0;
  }
  for (const Subcommand& s : subcommands) {
    if (s.name == name) return s.run(name, argc - 1, argv + 1);
  }
  std::string choices;
  for (std::size_t k = 0; k < subcommands.size(); ++k) {
    choices += k == 0 ? "" : k + 1 == subcommands.size() ? " or " : ", ";
    choices += subcommands[k].name;
  }
  std::fprintf(
      stderr, "snnsim %.*s: unknown subcommand '%s'; expected %s (see snnsim %.*s --help)\n",
      width(command), command.data(), argv[1], choices.c_str(), width(command), command.data());
  return kExitUsage;
}

}  // namespace snnsim::cli
