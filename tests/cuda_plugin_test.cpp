// What a run costs before it needs a GPU: snnsim maps no CUDA library until --backend cuda or auto
// opens the CUDA plugin (sim/cuda_plugin.h, docs/cuda.md), and says in one line why it cannot
// when the plugin is missing. The snnsim binary is inspected from outside, as it runs: its peak
// memory and the files it maps are read at its exit, while they still exist.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_support.h"

namespace snnsim {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;

/// A process as it was when it exited.
struct ExitSnapshot {
  int status = -1;           ///< exit status; -1 when it died of a signal
  long peak_memory_kb = -1;  ///< VmHWM: peak resident memory since its exec
  std::string mapped_files;  ///< /proc/PID/maps
};

/// The value of `field` (e.g. "VmHWM:") in a /proc/PID/status text, in kB; -1 when absent.
long status_field_kb(const std::string& status_text, const std::string& field) {
  std::istringstream lines(status_text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(field)) return std::stol(line.substr(field.size()));
  }
  return -1;
}

std::string read_text(const std::string& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

/// Runs the snnsim binary with `arguments` (its output discarded) under ptrace, which stops it
/// at its exit, before its memory is released, to read its peak memory and its maps. (The
/// rusage of a child is no measure here: Linux counts the memory of the forked test process
/// into it.)
ExitSnapshot run_to_exit_snapshot(const std::vector<std::string>& arguments) {
  std::vector<std::string> words = {SNNSIM_BINARY};
  words.insert(words.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (std::string& word : words)
    argv.push_back(word.data());
  argv.push_back(nullptr);
  const pid_t child = fork();
  if (child == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  ExitSnapshot snapshot;
  int status = 0;
  waitpid(child, &status, 0);  // the stop at exec
  if (!WIFSTOPPED(status)) {
    ADD_FAILURE() << SNNSIM_BINARY << " did not start under ptrace";
    return snapshot;
  }
  EXPECT_EQ(ptrace(PTRACE_SETOPTIONS, child, nullptr, PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL), 0)
      << "ptrace refused";
  int pending_signal = 0;
  for (;;) {
    ptrace(PTRACE_CONT, child, nullptr, pending_signal);
    waitpid(child, &status, 0);
    if (WIFEXITED(status) || WIFSIGNALED(status)) break;
    pending_signal = 0;
    if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
      const std::string proc = "/proc/" + std::to_string(child);
      snapshot.peak_memory_kb = status_field_kb(read_text(proc + "/status"), "VmHWM:");
      snapshot.mapped_files = read_text(proc + "/maps");
    } else {
      pending_signal = WSTOPSIG(status);  // the child's own signal, passed on
    }
  }
  snapshot.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return snapshot;
}

/// The CUDA libraries (and the plugin itself) among the files of a maps text.
std::vector<std::string> cuda_libraries(const std::string& mapped_files) {
  std::vector<std::string> found;
  std::istringstream lines(mapped_files);
  for (std::string line; std::getline(lines, line);) {
    const std::string file = line.substr(line.rfind(' ') + 1);
    const std::string name = file.substr(file.rfind('/') + 1);
    const bool cuda = name.find("cuda") != std::string::npos || name.starts_with("libcublas");
    if (cuda && std::find(found.begin(), found.end(), name) == found.end()) found.push_back(name);
  }
  return found;
}

const std::string kCoba = SNNSIM_SOURCE_DIR "/examples/coba.json";
/// A short run of it, on one thread: on a busy machine two threads' barriers take seconds.
const std::string kShortCoba = kCoba + " --duration 20ms --threads 1";

/// The short run on `backend`, writing `trace`, as run_to_exit_snapshot sees it.
ExitSnapshot short_coba_snapshot(const std::string& backend, const std::string& trace) {
  return run_to_exit_snapshot({"run", kCoba, "--duration", "20ms", "--threads", "1", "--backend",
                               backend, "-q", "-o", trace});
}

TEST(CudaPlugin, HelpMapsNoCudaLibraryAndStaysSmall) {
  const ExitSnapshot help = run_to_exit_snapshot({"--help"});
  EXPECT_EQ(help.status, 0);
  ASSERT_FALSE(help.mapped_files.empty()) << "no exit stop: is ptrace allowed here?";
  EXPECT_THAT(help.mapped_files, HasSubstr("libstdc++"));  // the maps are the binary's
  EXPECT_EQ(cuda_libraries(help.mapped_files), std::vector<std::string>{});
  EXPECT_GT(help.peak_memory_kb, 0);
  EXPECT_LT(help.peak_memory_kb, 30 * 1024);
}

class CudaPluginRun : public testing::TemporaryFolderTest {};

TEST_F(CudaPluginRun, CpuRunMapsNoCudaLibrary) {
  const ExitSnapshot cpu = short_coba_snapshot("cpu", path("cpu.h5").string());
  EXPECT_EQ(cpu.status, 0);
  ASSERT_FALSE(cpu.mapped_files.empty());
  EXPECT_EQ(cuda_libraries(cpu.mapped_files), std::vector<std::string>{});
#ifdef SNNSIM_WITH_CUDA
  // The same inspection sees the plugin and cuBLAS once auto has opened them.
  const ExitSnapshot automatic = short_coba_snapshot("auto", path("auto.h5").string());
  EXPECT_EQ(automatic.status, 0);
  EXPECT_THAT(cuda_libraries(automatic.mapped_files),
              ::testing::AllOf(::testing::Contains("libsnnsim_cuda.so"),
                               ::testing::Contains(::testing::StartsWith("libcublas.so"))));
#endif
}

#ifdef SNNSIM_WITH_CUDA
TEST_F(CudaPluginRun, MissingPluginIsOneLineForCudaAndCpuForAuto) {
  const std::string missing = path("nowhere/libsnnsim_cuda.so").string();
  const std::string run = "SNNSIM_CUDA_PLUGIN=" + missing + " " + SNNSIM_BINARY + " run " +
                          kShortCoba + " -o " + path("t.h5").string() + " --backend ";
  const CommandResult cuda = testing::run_command(run + "cuda");
  EXPECT_EQ(cuda.status, 1) << cuda.output;
  EXPECT_EQ(cuda.output, "snnsim run: cannot load the CUDA plugin " + missing +
                             ": cannot open shared object file: No such file or directory; use "
                             "--backend cpu\n");
  EXPECT_FALSE(std::filesystem::exists(path("t.h5")));
  const CommandResult automatic = testing::run_command(run + "auto");
  EXPECT_EQ(automatic.status, 0) << automatic.output;
  EXPECT_THAT(automatic.output, HasSubstr("backend    cpu"));
  // infer says why auto chose the CPU.
  const CommandResult infer = testing::run_command(
      "SNNSIM_CUDA_PLUGIN=" + missing + " " + SNNSIM_BINARY +
      " infer " SNNSIM_SOURCE_DIR "/examples/linear-snn.json --input " SNNSIM_SOURCE_DIR
      "/examples/data/linear-snn-input.npy --backend auto");
  EXPECT_EQ(infer.status, 0) << infer.output;
  EXPECT_THAT(infer.output, HasSubstr("(auto: cannot load the CUDA plugin " + missing));
}

TEST_F(CudaPluginRun, MissingCudaLibraryIsOneLine) {
  // A copy of the plugin that needs a cuBLAS no machine has: what a machine without the CUDA
  // libraries sees.
  std::string bytes = read_text(
      (std::filesystem::path(SNNSIM_BINARY).parent_path() / "libsnnsim_cuda.so").string());
  ASSERT_FALSE(bytes.empty());
  std::size_t renamed = 0;
  for (std::size_t at = bytes.find("libcublas.so."); at != std::string::npos;
       at = bytes.find("libcublas.so.", at)) {
    bytes[at + std::string("libcubla").size()] = 'X';
    ++renamed;
  }
  ASSERT_GT(renamed, 0u);
  const std::string plugin = path("libsnnsim_cuda.so").string();
  std::ofstream(plugin, std::ios::binary) << bytes;
  const std::string run = "SNNSIM_CUDA_PLUGIN=" + plugin + " " + SNNSIM_BINARY + " run " +
                          kShortCoba + " -q -o " + path("t.h5").string() + " --backend ";
  const CommandResult cuda = testing::run_command(run + "cuda");
  EXPECT_EQ(cuda.status, 1) << cuda.output;
  EXPECT_THAT(cuda.output,
              ::testing::MatchesRegex("snnsim run: cannot load the CUDA plugin " + plugin +
                                      ": libcublaX\\.so\\.[0-9]+: cannot open shared "
                                      "object file: No such file or directory; use "
                                      "--backend cpu\n"));
  EXPECT_EQ(testing::run_command(run + "auto").status, 0);
}

TEST_F(CudaPluginRun, PluginNextToTheBinaryIsFoundWithoutTheVariable) {
  const CommandResult cuda =
      testing::run_command("env -u SNNSIM_CUDA_PLUGIN " + std::string(SNNSIM_BINARY) + " run " +
                           kShortCoba + " -o " + path("t.h5").string() + " --backend cuda");
  if (cuda_device_count() > 0) {
    EXPECT_EQ(cuda.status, 0) << cuda.output;
    EXPECT_THAT(cuda.output, HasSubstr("backend    cuda"));
  } else {
    // The plugin loaded: the line is its own "no CUDA device", not the loader's.
    EXPECT_EQ(cuda.status, 1) << cuda.output;
    EXPECT_THAT(cuda.output, ::testing::StartsWith("snnsim run: no CUDA device is available ("));
    EXPECT_THAT(cuda.output, ::testing::EndsWith("); use --backend cpu\n"));
    EXPECT_EQ(std::count(cuda.output.begin(), cuda.output.end(), '\n'), 1) << cuda.output;
  }
}
#endif

}  // namespace
}  // namespace snnsim
