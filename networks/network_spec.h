#pragma once
// A network file, read and validated: every name resolved to an index, every quantity in its
// canonical unit (ms, mV, nS, pA, pF, Hz), every distribution described but not yet drawn.
// networks/network_file.h produces it; networks/builder.h turns it into a sim::Network.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/network.h"
#include "sim/neuron_model.h"
#include "sim/types.h"

namespace snnsim {

/// A value per neuron or per synapse: a constant, a seeded distribution, an explicit list, or an
/// HDF5 dataset.
struct ValueSpec {
  enum class Kind { constant, uniform, normal, list, file };
  Kind kind = Kind::constant;
  double value = 0.0;            ///< constant
  double low = 0.0, high = 0.0;  ///< uniform [low, high)
  double mean = 0.0, std = 0.0;  ///< normal
  std::vector<double> values;    ///< list
  std::string file, dataset;     ///< file: the dataset's values times file_factor
  double file_factor = 1.0;
  std::string where;  ///< "FILE: /json/pointer", for errors found while building
};

struct PopulationSpec {
  std::string name;
  const NeuronModelInfo* model = nullptr;
  NeuronIndex size = 0;
  std::vector<double> parameters;                  ///< one per model parameter
  std::vector<std::pair<int, ValueSpec>> initial;  ///< (state variable, initial values)
  PopulationData data;
  std::string where;
};

enum class ConnectionRule {
  all_to_all,
  one_to_one,
  fixed_probability,
  fixed_indegree,
  fixed_outdegree,
  explicit_list,
  file
};

struct ConnectivitySpec {
  ConnectionRule rule = ConnectionRule::all_to_all;
  double probability = 0.0;     ///< fixed_probability
  std::uint64_t degree = 0;     ///< fixed_indegree, fixed_outdegree
  bool allow_autapses = true;   ///< only meaningful when source and target are the same
  bool allow_multapses = true;  ///< fixed_indegree, fixed_outdegree
  std::vector<NeuronIndex> sources, targets;           ///< explicit_list
  std::string file, sources_dataset, targets_dataset;  ///< file
};

struct ProjectionSpec {
  std::string name;  ///< keys the projection's random streams
  std::size_t source = 0, target = 0;
  int receptor = 0;
  ConnectivitySpec connectivity;
  ValueSpec weight;  ///< in the receptor's weight unit
  ValueSpec delay;   ///< ms
  std::string where;
};

struct DriveSpec {
  enum class Kind { poisson, spike_times, current };
  Kind kind = Kind::poisson;
  std::size_t population = 0;
  int receptor = 0;                   ///< poisson, spike_times
  double rate_hz = 0.0;               ///< poisson
  double weight = 0.0;                ///< poisson, spike_times
  std::vector<double> times_ms;       ///< spike_times; current: change times
  std::vector<double> amplitudes_pa;  ///< current
  std::string name;                   ///< keys the drive's random stream
};

struct NetworkSpec {
  std::string path;  ///< where the file was read from
  std::string text;  ///< its contents
  std::map<std::string, double, std::less<>> parameters;
  double dt_ms = 0.1;
  double duration_ms = 1000.0;
  std::uint64_t seed = 0;
  std::vector<PopulationSpec> populations;
  std::vector<ProjectionSpec> projections;
  std::vector<DriveSpec> drives;
  std::vector<bool> record_spikes;  ///< per population
  std::vector<StateProbe> probes;
};

}  // namespace snnsim
