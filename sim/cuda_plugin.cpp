#include "sim/cuda_plugin.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "kernels/cuda_plugin.h"
#include "sim/graph/device_graph_plan.h"
#include "sim/version.h"

namespace snnsim {
namespace {

/// The plugin's table, or why there is none.
struct LoadedPlugin {
  const CudaPluginTable* table = nullptr;
  std::string error;  ///< when table is null: one line, without the "use --backend cpu"
};

/// $SNNSIM_CUDA_PLUGIN, else libsnnsim_cuda.so in the executable's folder, where the build puts
/// it. Without /proc, the bare name: the dynamic loader's search path.
std::string plugin_path() {
  if (const char* named = std::getenv(kCudaPluginVariable); named != nullptr && *named != '\0')
    return named;
  std::error_code error;
  const std::filesystem::path executable = std::filesystem::read_symlink("/proc/self/exe", error);
  const std::string file_name = "libsnnsim_cuda.so";
  return error ? file_name : (executable.parent_path() / file_name).string();
}

LoadedPlugin load_plugin() {
  const std::string path = plugin_path();
  // RTLD_NOW: a missing CUDA library or engine symbol shows here, in one line, not mid-run.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    std::string why = dlerror();
    // dlerror names the file when it is the plugin itself that is missing: say it once.
    if (why.starts_with(path + ": ")) why.erase(0, path.size() + 2);
    return {nullptr, "cannot load the CUDA plugin " + path + ": " + why};
  }
  using Entry = const CudaPluginTable* (*)();
  const auto entry = reinterpret_cast<Entry>(dlsym(handle, kCudaPluginEntryPoint));
  const CudaPluginTable* table = entry != nullptr ? entry() : nullptr;
  if (table == nullptr) {
    dlclose(handle);
    return {nullptr, path + " is not a snnsim CUDA plugin (it has no " +
                         std::string(kCudaPluginEntryPoint) + ")"};
  }
  if (table->abi_version != kCudaPluginAbiVersion ||
      std::string_view(table->snnsim_version) != kVersion) {
    LoadedPlugin refused{nullptr, "the CUDA plugin " + path + " is from another build (snnsim " +
                                      table->snnsim_version + ", plugin ABI " +
                                      std::to_string(table->abi_version) + "; this is snnsim " +
                                      kVersion + ", ABI " + std::to_string(kCudaPluginAbiVersion) +
                                      ")"};
    dlclose(handle);
    return refused;
  }
  // The handle stays open: backends run the plugin's code until the process ends.
  return {table, {}};
}

/// Loaded on the first call, once per process.
const LoadedPlugin& plugin() {
  static const LoadedPlugin loaded = load_plugin();
  return loaded;
}

const CudaPluginTable& require_plugin() {
  const LoadedPlugin& loaded = plugin();
  if (loaded.table == nullptr) throw std::runtime_error(loaded.error + "; use --backend cpu");
  return *loaded.table;
}

}  // namespace

int cuda_device_count() {
  const LoadedPlugin& loaded = plugin();
  return loaded.table != nullptr ? loaded.table->device_count() : 0;
}

std::string cuda_unavailable_reason() {
  const LoadedPlugin& loaded = plugin();
  if (loaded.table == nullptr) return loaded.error;
  return loaded.table->device_count() > 0 ? std::string() : "no CUDA device";
}

std::unique_ptr<Backend> make_cuda_backend(Network& network, const DevicePlanOptions& options) {
  return require_plugin().make_backend(network, options);
}

std::unique_ptr<GraphExecutor> make_cuda_graph_executor(const LayerGraph& graph) {
  // Refuse unsupported nodes first: that answer does not depend on the machine or the plugin.
  require_device_support(graph);
  return require_plugin().make_graph_executor(graph);
}

}  // namespace snnsim
