#pragma once
// The subcommands of `snnsim trace` (tools/snnsim/command_trace.cpp dispatches to them). Each
// takes the arguments after its name and returns an exit status as the commands do.
#include <string_view>

namespace snnsim::cli {

/// snnsim trace summary TRACE.h5 [--json]: statistics per population or layer.
int trace_summary(int argc, const char* const* argv);
/// snnsim trace raster|rate|isi|hist|state TRACE.h5 -o PLOT.svg|png: `kind` is the plot.
int trace_plot(std::string_view kind, int argc, const char* const* argv);
/// snnsim trace compare A.h5 B.h5: statistical (or exact) comparison; 0 when within tolerance.
int trace_compare(int argc, const char* const* argv);
/// snnsim trace export TRACE.h5 --format csv|nirdata -o FILE.
int trace_export(int argc, const char* const* argv);

}  // namespace snnsim::cli
