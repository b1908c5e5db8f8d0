#pragma once
// What the engine knows about a neuron model: a description (parameters with units and defaults,
// state variables, receptors) and a factory for the population object that advances its neurons.
//
// A model is one header in sim/models/ (its equations, its parameter table and its update) plus
// one line in sim/models/models.cpp, the model set; the engine never names a model. Most models
// are written as a struct with a per-neuron SNN_HD update function and wrapped by
// ModelPopulation<Model> (sim/model_population.h); models that do not fit that shape (the spike
// generator) implement PopulationDynamics directly.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sim/random.h"
#include "sim/types.h"
#include "sim/units.h"

namespace snnsim {

/// A scalar parameter of a model: one value per population, in the canonical unit of its dimension.
/// Parameters with `choices` are enumerations written as strings in a network file ("hard") and
/// stored as the index of the choice.
struct ParameterSpec {
  std::string_view name;
  Dimension dimension;
  double default_value;
  std::string_view description;
  std::span<const std::string_view> choices = {};
};

/// A per-neuron state variable, stored as one float array per variable (structure of arrays).
struct StateSpec {
  std::string_view name;
  Dimension dimension;
  double default_value;
  std::string_view description;
  /// When set, the initial value defaults to this parameter's value instead (v starts at E_L).
  std::string_view default_parameter = {};
};

/// A named input of a model that projections and drives target; its dimension is the weight's.
struct ReceptorSpec {
  std::string_view name;
  Dimension weight_dimension;
  std::string_view description;
};

/// The most receptors a model may have (models with more would need a wider SynapticInput).
inline constexpr std::size_t kMaxReceptors = 4;

/// Thrown when a model's parameters are invalid. The message lists every problem found, one per
/// line ("tau_m must be positive (got -1 ms)"), so that a user can fix them all at once.
class ParameterError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Extra per-neuron data some models need beyond scalar parameters (the spike generator's times,
/// in steps). Empty for most models.
struct PopulationData {
  std::vector<std::vector<Step>> spike_steps;
};

/// Everything needed to create a population's dynamics.
struct PopulationSetup {
  std::string name;
  NeuronIndex size = 0;
  /// The population's index of the first of these neurons (non-zero when a distributed run holds
  /// a block of it here): random dynamics are keyed by it, so they do not depend on the blocks.
  NeuronIndex first = 0;
  std::vector<double> parameters;  ///< one per ParameterSpec, canonical units
  double dt_ms = 0.1;
  RandomStream random;  ///< the population's own stream for random dynamics
  PopulationData data;
};

/// The state and update of one population's neurons.
class PopulationDynamics {
 public:
  /// This step's input to every neuron of the population: one array per receptor (summed weights
  /// of the spikes and drives that arrived) and the external current in pA (null when there is
  /// none). Arrays are indexed by neuron; update() consumes them: it zeroes what it has read, so
  /// the slot is clean when the delay ring comes round to it again.
  struct StepInputs {
    float* receptor[kMaxReceptors] = {};
    float* current = nullptr;
  };

  virtual ~PopulationDynamics() = default;

  NeuronIndex size() const { return size_; }
  /// The values of state variable `variable` (index into the model's state specs), one per neuron.
  std::span<float> state(std::size_t variable) { return state_[variable]; }
  std::span<const float> state(std::size_t variable) const { return state_[variable]; }

  /// Advances neurons [begin, end) over step `step` and appends those that spiked to `spikes`,
  /// ascending. Calls on disjoint ranges may run concurrently.
  virtual void update(NeuronIndex begin, NeuronIndex end, Step step, const StepInputs& inputs,
                      std::vector<NeuronIndex>& spikes) = 0;

  /// For grid backends, which run a model's per-neuron update themselves: the bytes of the
  /// model's derived constants (its trivially copyable Model::Constants) and the population's
  /// random stream. Empty for populations without a per-neuron update (spike_generator).
  virtual std::span<const std::byte> model_constants() const { return {}; }
  virtual RandomStream random_stream() const { return {}; }

 protected:
  PopulationDynamics(NeuronIndex size, std::size_t state_variables);

  NeuronIndex size_;
  std::vector<std::vector<float>> state_;
};

/// The description of a neuron model, as registered in the model set.
struct NeuronModelInfo {
  std::string_view name;
  std::string_view summary;
  std::span<const ParameterSpec> parameters;
  std::span<const StateSpec> state;
  std::span<const ReceptorSpec> receptors;
  /// Checks the parameters (throwing ParameterError listing every problem) and creates the
  /// population with every state variable at its default.
  std::unique_ptr<PopulationDynamics> (*create)(const PopulationSetup& setup);

  /// Index of a parameter / state variable / receptor by name, or -1.
  int parameter_index(std::string_view parameter) const;
  int state_index(std::string_view variable) const;
  int receptor_index(std::string_view receptor) const;
};

/// The model set: every model the engine can run, in the order of sim/models/models.cpp.
std::span<const NeuronModelInfo> neuron_models();
/// The model called `name`, or nullptr.
const NeuronModelInfo* find_neuron_model(std::string_view name);

/// Collects parameter problems for a ParameterError (one per line).
class ParameterChecker {
 public:
  ParameterChecker(std::span<const ParameterSpec> specs, std::span<const double> values)
      : specs_(specs), values_(values) {}
  double operator[](int index) const { return values_[index]; }
  /// Records a problem with parameter `index` unless `ok`.
  void require(bool ok, int index, std::string_view what);
  void require_positive(int index) { require(values_[index] > 0, index, "must be positive"); }
  void require_non_negative(int index) {
    require(values_[index] >= 0, index, "must not be negative");
  }
  /// Throws ParameterError with every recorded problem.
  void throw_if_failed() const;

 private:
  std::span<const ParameterSpec> specs_;
  std::span<const double> values_;
  std::string problems_;
};

}  // namespace snnsim
