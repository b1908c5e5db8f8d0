// A run killed with SIGKILL (no chance to clean up) leaves its `.partial` trace, which the writer
// flushes soon after the start and then now and then: snnsim's reader and `snnsim trace summary`
// read it, up to its last flush, and say that it is incomplete and how far it goes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "sim/hdf5_util.h"
#include "sim/trace_reader.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using ::testing::HasSubstr;
using testing::run_snnsim;

/// steps_completed of a trace that a running writer holds open: read without HDF5's file lock,
/// which the writer holds. 0 when it cannot be read (yet, or in the middle of a flush).
std::uint64_t flushed_steps(const fs::path& file) {
  hdf5::silence_errors();
  const hdf5::Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_file_locking(access.get(), false, true);
  const hdf5::Handle handle(H5Fopen(file.c_str(), H5F_ACC_RDONLY, access.get()), H5Fclose);
  if (!handle.valid()) return 0;
  const hdf5::Handle attribute(H5Aopen(handle.get(), "steps_completed", H5P_DEFAULT), H5Aclose);
  std::uint64_t steps = 0;
  if (!attribute.valid() || H5Aread(attribute.get(), H5T_NATIVE_UINT64, &steps) < 0) return 0;
  return steps;
}

class KilledRun : public testing::TemporaryFolderTest {};

TEST_F(KilledRun, PartialTraceIsReadableUpToItsLastFlush) {
  const fs::path partial = path("t.h5.partial");
  const pid_t child = fork();
  if (child == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    // The COBA example (4,000 neurons) for far longer than the test waits.
    execl(SNNSIM_BINARY, SNNSIM_BINARY, "run", SNNSIM_SOURCE_DIR "/examples/coba.json",
          "--duration", "10000s", "-q", "-t", "1", "-o", path("t.h5").c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // The first flush comes once 100 ms are simulated (or 2 s of wall time have passed): wait for
  // it, then a little more so that it is over, and kill the run.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (flushed_steps(partial) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended by itself";
  ASSERT_TRUE(fs::exists(partial)) << "no flush within 30 s";
  EXPECT_FALSE(fs::exists(path("t.h5")));

  const TraceReader trace(partial);
  EXPECT_FALSE(trace.complete());
  const std::uint64_t steps = trace.attribute_uint("steps_completed");
  ASSERT_GE(steps, 1000u) << "the first flush is after 100 ms of 0.1 ms steps";
  // Every spike and sample of the steps before steps_completed is there (a full buffer may have
  // added spikes of the step after it).
  const TraceSpikes spikes = trace.read_spikes("E");
  ASSERT_FALSE(spikes.steps.empty());
  EXPECT_LE(spikes.steps.back(), steps);
  EXPECT_GT(spikes.steps.back() + 10, steps) << "3,200 neurons at 20 Hz: 6 spikes a step";
  EXPECT_GE(trace.read_state_header("E", "v").samples, steps);  // sampled every step

  const CommandResult table = run_snnsim("trace summary " + partial.string());
  ASSERT_EQ(table.status, 0) << table.output;
  char covered[64];
  std::snprintf(covered, sizeof covered, "%.6g ms", static_cast<double>(steps) * 0.1);
  EXPECT_THAT(table.output, HasSubstr(std::string("(incomplete: it holds the first ") + covered +
                                      " of the 1e+07 ms asked)"));
  const CommandResult json = run_snnsim("trace summary --json " + partial.string());
  ASSERT_EQ(json.status, 0) << json.output;
  const nlohmann::json summary = nlohmann::json::parse(json.output);
  EXPECT_EQ(summary["trace"]["steps"], steps);
  EXPECT_EQ(summary["trace"]["complete"], false);
}

}  // namespace
}  // namespace snnsim
