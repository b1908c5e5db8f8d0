#pragma once
// Progress of a long read of a trace (`snnsim trace summary`, `compare`, `export`): a line on
// stderr redrawn once the read has taken a second, on a terminal only, so that logs and pipes get
// the result alone.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

#include "tools/snnsim/number_format.h"

namespace snnsim::cli {

class ReadProgress {
 public:
  void update(std::uint64_t done, std::uint64_t total) {
    if (!terminal_ || total == 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - start_ < std::chrono::seconds(1) || now - last_draw_ < std::chrono::milliseconds(100))
      return;
    last_draw_ = now;
    std::fprintf(stderr, "\rreading spikes: %3.0f%% (%s of %s)  ",
                 100.0 * static_cast<double>(done) / static_cast<double>(total),
                 scaled(static_cast<double>(done)).c_str(),
                 scaled(static_cast<double>(total)).c_str());
    drawn_ = true;
  }
  /// Erases the line, so that what follows starts on a clean one.
  void finish() {
    if (drawn_) std::fputs("\r\033[K", stderr);
    drawn_ = false;
  }
  ~ReadProgress() { finish(); }

 private:
  bool terminal_ = isatty(STDERR_FILENO) != 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_draw_;
  bool drawn_ = false;
};

}  // namespace snnsim::cli
