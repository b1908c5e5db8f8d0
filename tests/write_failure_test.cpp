// Every command that writes a file, run where no file may grow past a few bytes (what a full disk
// does to a write: RLIMIT_FSIZE makes it fail with EFBIG): one line on stderr, exit status 1 or
// 2, no crash, and nothing under the name asked for (nor a temporary file left behind).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/test_support.h"

namespace snnsim {
namespace {

const std::string kExamples = std::string(SNNSIM_SOURCE_DIR) + "/examples/";

struct LimitedRun {
  int signal = 0;   ///< the signal that ended it, 0 when it exited
  int status = -1;  ///< its exit status
  std::string errors;
};

/// Runs the snnsim binary with `arguments`, no file it writes allowed past `limit_bytes`. SIGXFSZ
/// is left at its default, which kills: the binary must ignore it itself to report the failure.
LimitedRun run_with_file_size_limit(const std::vector<std::string>& arguments, rlim_t limit_bytes) {
  int errors_pipe[2];
  if (pipe(errors_pipe) != 0) return {};
  const pid_t child = fork();
  if (child == 0) {
    const rlimit limit{limit_bytes, limit_bytes};
    setrlimit(RLIMIT_FSIZE, &limit);
    std::signal(SIGXFSZ, SIG_DFL);
    dup2(errors_pipe[1], STDERR_FILENO);
    dup2(open("/dev/null", O_WRONLY), STDOUT_FILENO);
    close(errors_pipe[0]);
    close(errors_pipe[1]);
    std::vector<char*> argv{const_cast<char*>(SNNSIM_BINARY)};
    for (const std::string& argument : arguments)
      argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    execv(SNNSIM_BINARY, argv.data());
    _exit(127);
  }
  close(errors_pipe[1]);
  LimitedRun run;
  char buffer[4096];
  for (ssize_t n; (n = read(errors_pipe[0], buffer, sizeof buffer)) > 0;)
    run.errors.append(buffer, static_cast<std::size_t>(n));
  close(errors_pipe[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  if (WIFEXITED(status)) run.status = WEXITSTATUS(status);
  return run;
}

class WriteFailure : public testing::TemporaryFolderTest {
 protected:
  std::string file(const std::string& name) const { return path(name).string(); }

  /// Makes a small trace (without a limit) for the trace commands.
  std::string small_trace() const {
    const std::string trace = file("trace.h5");
    EXPECT_EQ(testing::run_snnsim("run " + kExamples +
                                  "coba.json --param N=400 --duration 20ms -q " + "-o " + trace)
                  .status,
              0);
    return trace;
  }

  /// Runs `arguments` under a limit of `limit_bytes` and checks that it fails as it should,
  /// leaving none of `outputs` behind.
  void expect_clean_failure(const std::vector<std::string>& arguments, rlim_t limit_bytes,
                            const std::vector<std::string>& outputs) const {
    const LimitedRun run = run_with_file_size_limit(arguments, limit_bytes);
    const std::string command = "snnsim " + arguments[0] + " " + arguments[1];
    EXPECT_EQ(run.signal, 0) << command << " died by a signal: " << run.errors;
    EXPECT_TRUE(run.status == 1 || run.status == 2) << command << ": " << run.status;
    EXPECT_EQ(std::count(run.errors.begin(), run.errors.end(), '\n'), 1) << command << ":\n"
                                                                         << run.errors;
    for (const std::string& output : outputs) {
      EXPECT_FALSE(std::filesystem::exists(output)) << command << " left " << output;
      EXPECT_FALSE(std::filesystem::exists(output + ".partial")) << command << " left a partial";
    }
  }
};

TEST_F(WriteFailure, RunAndInferTraces) {
  const std::string trace = file("run.h5");
  expect_clean_failure(
      {"run", kExamples + "coba.json", "--param", "N=400", "--duration", "20ms", "-q", "-o", trace},
      4096, {trace});
  const std::string inferred = file("infer.h5");
  expect_clean_failure({"infer", kExamples + "linear-snn.json", "--input",
                        kExamples + "data/linear-snn-input.npy", "-q", "-o", inferred},
                       4096, {inferred});
  const std::string outputs = file("outputs.npy");
  expect_clean_failure(
      {"infer", kExamples + "linear-snn.json", "--input", kExamples + "data/linear-snn-input.npy",
       "-q", "--save-outputs", outputs, "--outputs-per-timestep"},
      64, {outputs});
}

TEST_F(WriteFailure, SummaryJson) {
  const std::string summary = file("summary.json");
  expect_clean_failure({"run", kExamples + "coba.json", "--param", "N=400", "--duration", "5ms",
                        "-q", "--summary-json", summary},
                       16, {summary});
}

/// A network NIR expresses exactly: a spike generator driving LIF neurons.
constexpr const char* kExportableNetwork = R"({
  "format": "snnsim-network", "version": 1,
  "simulation": {"dt": "0.1 ms", "duration": "20 ms"},
  "populations": [
    {"name": "G", "model": "spike_generator", "size": 3,
     "spike_times": {"unit": "ms", "values": [[1, 5], [2], [3]]}},
    {"name": "D", "model": "lif_psc_delta", "size": 4, "parameters": {"t_ref": "0 ms"}}],
  "projections": [{"source": "G", "target": "D", "connectivity": {"rule": "all_to_all"},
                   "weight": "1.5 mV", "delay": "1 ms"}]})";

TEST_F(WriteFailure, ExportsAndImport) {
  const std::string network = file("net.json");
  std::ofstream(network) << kExportableNetwork;
  const std::string nir = file("net.nir");
  expect_clean_failure({"export", "nir", network, "-o", nir}, 4096, {nir});
  const std::string loihi2 = file("loihi2.json");
  expect_clean_failure({"export", "loihi2", kExamples + "linear-snn.json", "-o", loihi2}, 256,
                       {loihi2, file("loihi2.safetensors")});
  // The same export without a limit is the input of the import, which writes about 1 kB of
  // network file and 11 kB of tensors.
  ASSERT_EQ(testing::run_snnsim("export nir " + network + " -o " + nir).status, 0);
  const std::string imported = file("imported.json");
  for (const rlim_t limit : {rlim_t{64}, rlim_t{4096}}) {  // the network file, then the tensors
    expect_clean_failure({"import", "nir", nir, "-o", imported}, limit,
                         {imported, file("imported.h5")});
  }
}

TEST_F(WriteFailure, TraceExportsAndPlots) {
  const std::string trace = small_trace();
  const std::string csv = file("spikes.csv"), nir_data = file("spikes.h5"), plot = file("r.svg");
  expect_clean_failure({"trace", "export", trace, "--format", "csv", "-o", csv}, 64, {csv});
  expect_clean_failure({"trace", "export", trace, "--format", "nirdata", "-o", nir_data}, 2048,
                       {nir_data});
  expect_clean_failure({"trace", "raster", trace, "-o", plot}, 256, {plot});
}

}  // namespace
}  // namespace snnsim
