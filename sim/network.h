#pragma once
// A network ready to simulate: populations with their state, projections with their synapses,
// external drives, what to record, and the simulation settings. networks/builder.h makes one
// from a network file; tests also assemble them directly.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/connectivity.h"
#include "sim/neuron_model.h"
#include "sim/types.h"

namespace snnsim {

struct Population {
  std::string name;
  const NeuronModelInfo* model = nullptr;
  std::unique_ptr<PopulationDynamics> dynamics;
  /// In a distributed run (sim/partition.h) this process holds neurons [first, first + size())
  /// of the population's `total`; otherwise first is 0 and total is size().
  NeuronIndex first = 0;
  NeuronIndex total = 0;
  /// The neurons this process holds.
  NeuronIndex size() const { return dynamics->size(); }
};

struct Projection {
  std::string name;
  std::size_t source = 0;  ///< population index
  std::size_t target = 0;  ///< population index
  int receptor = 0;        ///< receptor index in the target's model
  Connectivity synapses;
};

/// Input that does not come from a population: Poisson trains drawn independently per target
/// neuron, spikes at given times, currents (implementations in encoders/).
class ExternalDrive {
 public:
  /// Where the drive adds: a receptor of the target population, or its external current.
  static constexpr int kCurrent = -1;

  ExternalDrive(std::size_t population, int receptor)
      : population_(population), receptor_(receptor) {}
  virtual ~ExternalDrive() = default;
  std::size_t population() const { return population_; }
  int receptor() const { return receptor_; }
  /// Adds this drive's input at `step` for neurons [begin, end) into `input` (the receptor's or
  /// the current's array for this step; neuron i's entry is input[i - first], `first` being the
  /// population's first neuron held here). Neuron indices are the population's own, so a
  /// neuron's input does not depend on how a run is distributed. Calls on disjoint ranges may run
  /// concurrently, so implementations keep no mutable state.
  virtual void apply(Step step, NeuronIndex begin, NeuronIndex end, NeuronIndex first,
                     float* input) const = 0;

 private:
  std::size_t population_;
  int receptor_;
};

/// A sampled state variable.
struct StateProbe {
  std::size_t population = 0;
  int variable = 0;
  std::vector<NeuronIndex> neurons;
  std::uint64_t interval_steps = 1;
};

struct Network {
  double dt_ms = 0.1;
  double duration_ms = 1000.0;
  std::uint64_t seed = 0;
  std::string source_path;  ///< the network file, for traces and messages
  std::string source_text;  ///< its contents after parameter overrides

  std::vector<Population> populations;
  std::vector<Projection> projections;
  std::vector<std::unique_ptr<ExternalDrive>> drives;
  std::vector<bool> record_spikes;  ///< per population
  std::vector<StateProbe> probes;

  Step steps() const;
  /// The neurons this process holds (all of them unless the run is distributed).
  NeuronIndex neuron_count() const;
  std::uint64_t synapse_count() const;
  std::uint64_t synapse_bytes() const;
  /// Index of the population called `name`, or -1.
  int population_index(const std::string& name) const;
  /// Slots of the delay rings of `population`: its longest incoming delay + 1, at least 2.
  std::uint32_t ring_slots(std::size_t population) const;
  /// The shortest delay of any synapse, in steps (how long a spike may take to reach another
  /// process); UINT32_MAX when there are no synapses.
  std::uint32_t min_delay() const;
  /// Whether a drive adds an external current to `population`.
  bool has_current_drive(std::size_t population) const;
};

}  // namespace snnsim
