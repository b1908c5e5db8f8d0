#include "tools/snnsim/output_paths.h"

#include <stdexcept>
#include <system_error>

namespace snnsim::cli {

std::vector<InputFile> network_inputs(const NetworkSpec& spec) {
  std::vector<InputFile> inputs{{spec.path, "the network file"}};
  // Dataset paths are relative to the network file's folder, as the builder reads them.
  const std::filesystem::path folder = std::filesystem::path(spec.path).parent_path();
  const std::string role = "a dataset file of " + spec.path;
  const auto add = [&](const std::string& file) {
    if (!file.empty()) inputs.push_back({folder / file, role});
  };
  for (const PopulationSpec& population : spec.populations) {
    for (const auto& [variable, value] : population.initial)
      add(value.file);
  }
  for (const ProjectionSpec& projection : spec.projections) {
    add(projection.weight.file);
    add(projection.delay.file);
    add(projection.connectivity.file);
  }
  return inputs;
}

std::vector<InputFile> network_inputs(const LayerGraphSpec& spec) {
  return {{spec.path, "the network file"}, {spec.weights, "the weights of " + spec.path}};
}

void refuse_output_over_inputs(const std::string& option, const std::filesystem::path& output,
                               const std::vector<InputFile>& inputs) {
  if (output.empty()) return;
  for (const InputFile& input : inputs) {
    std::error_code error;
    if (!input.path.empty() && std::filesystem::equivalent(output, input.path, error)) {
      throw std::runtime_error(option + " " + output.string() + " would replace " + input.role +
                               ", which this command reads; choose another name");
    }
  }
}

}  // namespace snnsim::cli
