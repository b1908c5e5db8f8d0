#pragma once
// The process's resident memory, from Linux's /proc/self (what `snnsim run` and `snnsim infer`
// report): now, and its peak since the start or since reset_peak_resident().
#include <sys/resource.h>

#include <fstream>
#include <sstream>
#include <string>

namespace snnsim::cli {

/// A "Vm...:" field of /proc/self/status in MB; -1 when it cannot be read.
inline double status_field_mb(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field, 0) != 0) continue;
    std::istringstream value(line.substr(field.size()));
    double kb = -1;
    value >> kb;
    return kb < 0 ? -1 : kb / 1024.0;
  }
  return -1;
}

/// Resident memory now, MB.
inline double resident_mb() {
  return status_field_mb("VmRSS:");
}

/// Peak resident memory, MB: since the start, or since the last reset_peak_resident().
inline double peak_resident_mb() {
  const double peak = status_field_mb("VmHWM:");
  if (peak >= 0) return peak;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

/// Starts the peak over from the memory resident now (Linux 4.0+: clear_refs 5). Returns false
/// where the kernel does not allow it.
inline bool reset_peak_resident() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

}  // namespace snnsim::cli
