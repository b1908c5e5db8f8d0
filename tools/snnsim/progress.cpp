#include "tools/snnsim/progress.h"

#include <unistd.h>

#include <cstdio>

namespace snnsim::cli {

ProgressReporter::ProgressReporter(double dt_ms, bool enabled)
    : dt_ms_(dt_ms),
      enabled_(enabled),
      terminal_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void ProgressReporter::update(std::uint64_t done, std::uint64_t total) {
  if (!enabled_ || total == 0) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double fraction = static_cast<double>(done) / static_cast<double>(total);
  const double simulated_s = static_cast<double>(done) * dt_ms_ * 1e-3;
  const double total_s = static_cast<double>(total) * dt_ms_ * 1e-3;
  if (terminal_) {
    if (done != total && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int kWidth = 30;
    char bar[kWidth + 1];
    const int filled = static_cast<int>(fraction * kWidth);
    for (int i = 0; i < kWidth; ++i)
      bar[i] = i < filled ? '#' : '.';
    bar[kWidth] = '\0';
    const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0.0;
    std::fprintf(stderr, "\r[%s] %3.0f%%  %.3f/%.3f s simulated  %.1f s wall  ETA %.1f s ", bar,
                 100 * fraction, simulated_s, total_s, elapsed, eta);
    drawn_ = true;
  } else {
    const int decile = static_cast<int>(fraction * 10);
    if (decile == last_decile_ || elapsed < 1.0) return;
    last_decile_ = decile;
    std::fprintf(stderr, "progress: %3.0f%% (%.3f of %.3f s simulated, %.1f s wall)\n",
                 100 * fraction, simulated_s, total_s, elapsed);
  }
}

void ProgressReporter::finish() {
  if (drawn_) std::fputc('\n', stderr);
  drawn_ = false;
}

}  // namespace snnsim::cli
