#pragma once
// The subcommands of `snnsim export` (tools/snnsim/command_export.cpp dispatches), one file each;
// each takes the arguments after its name and returns an exit status as the commands do.

namespace snnsim::cli {

int export_nir(int argc, const char* const* argv);
int export_loihi2(int argc, const char* const* argv);
int export_check(int argc, const char* const* argv);

}  // namespace snnsim::cli
