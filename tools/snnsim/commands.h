#pragma once
// The subcommands of `snnsim`; each takes the arguments after its name and returns an exit
// status (0 success, 1 failure, 2 bad command line, 130 interrupted).

namespace snnsim::cli {

int command_run(int argc, const char* const* argv);
int command_infer(int argc, const char* const* argv);
int command_validate(int argc, const char* const* argv);
int command_trace(int argc, const char* const* argv);
int command_export(int argc, const char* const* argv);
int command_import(int argc, const char* const* argv);
int command_lm(int argc, const char* const* argv);

/// Exit statuses.
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;

}  // namespace snnsim::cli
