#pragma once
// GridBackend<Device>: the CUDA backend's step loop, written once over a small device interface
// so that it runs on a GPU (kernels/cuda_device.cuh) and, unchanged, on the CPU under grid
// emulation (sim/emulated_device.h), where the tests compare it with the CPU backend.
//
// A Device provides:
//   static constexpr std::string_view kName;
//   template <class T> using Array = ...;           // owning, zeroed, .data() and .size()
//   template <class T> Array<T> allocate(std::size_t n);
//   template <class T> void upload(T* device, const T* host, std::size_t n);
//   template <class T> void download(T* host, const T* device, std::size_t n);  // then synced
//   template <class Kernel> void launch(GridShape shape, const Kernel& kernel);
//   GridShape items_shape(std::uint64_t items);     // one thread per item, grid-stride beyond
//   GridShape spike_shape();                         // for the warp-per-spike kernel
//   void select_flagged(const std::uint8_t* flags, NeuronIndex n, NeuronIndex* out,
//                       std::uint32_t* count);       // stable compaction of 0..n-1
//   std::uint64_t scratch_bytes(NeuronIndex n);     // what select_flagged needs for n
//   std::uint64_t free_bytes();  std::string description();
//
// One step: drives add into the step's ring slot; each population's update kernel consumes the
// slot and flags spikes; select_flagged compacts the flags into the step's spike list (CUB
// DeviceSelect::Flagged: stable, so lists come out ascending as the CPU backend reports them and
// pre-span deliveries walk them in the CPU's order); then each projection delivers, pre- or
// post-span (sim/device_plan.h). Steps run in chunks of K: the K spike lists of a population
// stay on the device, are packed and copied to the host once per chunk, and reported then.
//
// In a distributed run (sim/spike_exchange.h; one device per rank) chunks are at most the
// shortest delay and delivery waits for the chunk's end: the rank's lists go to the host, are
// exchanged with the other ranks', and every rank's spikes of the chunk come back to the device
// and are delivered pre-span, step by step, as the CPU backend delivers them.
#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "encoders/external_drive.h"
#include "kernels/external_input.h"
#include "kernels/neuron_update.h"
#include "kernels/spike_delivery.h"
#include "kernels/spike_recording.h"
#include "sim/backend.h"
#include "sim/device_plan.h"
#include "sim/models/model_list.h"
#include "sim/spike_routing.h"

namespace snnsim {

template <class Device>
using UpdateLauncher = void (*)(Device&, std::span<const std::byte> constants,
                                const NeuronUpdateArguments&);

template <class Device, class Model>
void launch_update_neurons(Device& device, std::span<const std::byte> constants,
                           const NeuronUpdateArguments& arguments) {
  UpdateNeuronsKernel<Model> kernel{{}, arguments};
  if (constants.size() != sizeof kernel.constants) throw std::logic_error("model constants size");
  std::memcpy(&kernel.constants, constants.data(), sizeof kernel.constants);
  device.launch(device.items_shape(arguments.size), kernel);
}

/// The update launcher of the model called `name`, or null.
template <class Device>
UpdateLauncher<Device> find_update_launcher(std::string_view name) {
#define SNNSIM_MATCH_MODEL(Model) \
  if (name == Model::kName) return &launch_update_neurons<Device, Model>;
  SNNSIM_FOR_EACH_NEURON_MODEL(SNNSIM_MATCH_MODEL)
#undef SNNSIM_MATCH_MODEL
  return nullptr;
}

template <class Device>
class GridBackend final : public Backend {
 public:
  /// Plans, checks that the plan fits the device's free memory (throwing a one-line error when
  /// it does not), allocates and uploads the network.
  GridBackend(Network& network, const DevicePlanOptions& options, Device device = {});

  std::string_view name() const override { return Device::kName; }
  int threads() const override { return 1; }
  /// Distributed runs, once running: also how spikes travel (sim/spike_routing.h).
  std::string description() const override {
    if (router_ == nullptr) return description_;
    return description_ + "\n  " + router_->describe(interval_, false);
  }
  Step run(Step first, Step last, RunObserver& observer) override;
  BackendCounters counters() const override { return counters_; }
  const DevicePlan& plan() const { return plan_; }
  Device& device() { return device_; }

 private:
  template <class T>
  using Array = typename Device::template Array<T>;

  struct PopulationArrays {
    std::vector<Array<float>> state;
    Array<float*> state_pointers;
    std::vector<Array<float>> rings;  ///< per receptor
    Array<float> current;             ///< empty without a current drive
    Array<std::uint8_t> spiked;
    Array<NeuronIndex> lists;     ///< chunk_steps lists of the population's size
    Array<std::uint32_t> counts;  ///< per step of the chunk
    Array<NeuronIndex> packed;
    UpdateLauncher<Device> update = nullptr;
    std::vector<NeuronIndex> host_packed;  ///< this chunk's spikes, step after step
    std::vector<std::uint32_t> host_counts;
  };
  struct ProjectionArrays {
    Array<std::uint64_t> row_offsets;  ///< CSR, or the transpose's for post-span
    Array<NeuronIndex> indices;
    Array<float> weights;
    Array<std::uint16_t> delays;
    SynapseRows rows{};
  };
  struct ProbeArrays {
    Array<NeuronIndex> neurons;  ///< a distributed run's: those held here, as local indices
    Array<float> rows;           ///< chunk_steps rows of the probe's neurons
    std::vector<Step> steps;     ///< the step of each row filled this chunk
    std::vector<float> host_rows;
  };

  template <class T>
  Array<T> upload_array(std::span<const T> values) {
    Array<T> array = device_.template allocate<T>(values.size());
    if (!values.empty()) device_.upload(array.data(), values.data(), values.size());
    return array;
  }
  InputRing ring(std::size_t population, int receptor) {
    return {arrays_[population].rings[receptor].data(), plan_.ring_slots[population],
            network_.populations[population].size()};
  }
  void upload_synapses(const Projection& projection, DeliveryStrategy strategy,
                       ProjectionArrays& out);
  void feed_from_host(std::size_t population, Step first, std::uint32_t steps);
  void step(Step step, std::uint32_t k);
  void collect_chunk(std::uint32_t steps);
  void report_chunk(Step first, std::uint32_t steps, RunObserver& observer);
  /// Synaptic events of one step's spikes (per population), counted from the host's CSR rather
  /// than by atomics on the device.
  void count_synaptic_events(std::span<const std::span<const NeuronIndex>> spikes) {
    for (const Projection& projection : network_.projections) {
      const auto& row_offsets = projection.synapses.row_offsets;
      for (const NeuronIndex source : spikes[projection.source])
        counters_.synaptic_events += row_offsets[source + 1] - row_offsets[source];
    }
  }
  void download_state();
  Step run_distributed(Step first, Step last, RunObserver& observer);
  /// Distributed runs: this rank's spikes and samples of the chunk from `first` just collected.
  void chunk_to_interval(Step first, std::uint32_t steps, IntervalSpikes& spikes,
                         std::vector<float>& samples);
  /// Distributed runs: every rank's spikes of the chunk from `first` to the device, delivered.
  void deliver_exchanged(Step first, const IntervalSpikes& spikes);

  Network& network_;
  DevicePlan plan_;
  Device device_;
  std::string description_;
  std::vector<PopulationArrays> arrays_;
  std::vector<ProjectionArrays> projections_;
  std::vector<ProbeArrays> probes_;
  /// Per drive: its Poisson table on the device and the kernel's view of it, resolved once
  /// (uniform drives: no table, `uniform` set).
  struct DriveArrays {
    Array<double> table;
    PoissonInput poisson{};
    const UniformDrive* uniform = nullptr;
  };
  std::vector<DriveArrays> drives_;
  BackendCounters counters_;

  SpikeExchange* exchange_;
  std::unique_ptr<SpikeRouter> router_;
  Step interval_ = 0;  ///< the longest chunk
  std::vector<std::vector<int>> probe_owners_;
  /// Distributed runs: per population, every rank's spikes of the chunk, step after step, and
  /// their count per step, on the device.
  std::vector<Array<NeuronIndex>> exchanged_;
  std::vector<Array<std::uint32_t>> exchanged_counts_;
};

template <class Device>
GridBackend<Device>::GridBackend(Network& network, const DevicePlanOptions& options, Device device)
    : network_(network),
      plan_(plan_device_memory(network, options)),
      device_(std::move(device)),
      exchange_(options.exchange) {
  NeuronIndex largest = 0;
  for (const Population& population : network.populations)
    largest = std::max(largest, population.size());
  check_device_memory(plan_, device_.scratch_bytes(largest), device_.free_bytes(),
                      device_.description());
  description_ = device_.description() + ", " + plan_.describe();

  const std::uint64_t chunk = plan_.chunk_steps;
  arrays_.resize(network.populations.size());
  for (std::size_t p = 0; p < network.populations.size(); ++p) {
    Population& population = network.populations[p];
    PopulationArrays& a = arrays_[p];
    const NeuronIndex size = population.size();
    if (!plan_.host_fed[p]) {
      a.update = find_update_launcher<Device>(population.model->name);
      if (a.update == nullptr) {
        throw std::runtime_error("model " + std::string(population.model->name) +
                                 " of population " + population.name +
                                 " has no GPU update; use --backend cpu");
      }
      std::vector<float*> pointers;
      for (std::size_t var = 0; var < population.model->state.size(); ++var) {
        a.state.push_back(upload_array<float>(population.dynamics->state(var)));
        pointers.push_back(a.state.back().data());
      }
      a.state_pointers = upload_array<float*>(pointers);
      a.spiked = device_.template allocate<std::uint8_t>(size);
      for (std::size_t r = 0; r < population.model->receptors.size(); ++r) {
        a.rings.push_back(
            device_.template allocate<float>(static_cast<std::size_t>(plan_.ring_slots[p]) * size));
      }
      if (network.has_current_drive(p)) a.current = device_.template allocate<float>(size);
    }
    a.lists = device_.template allocate<NeuronIndex>(chunk * size);
    a.counts = device_.template allocate<std::uint32_t>(chunk);
    a.packed = device_.template allocate<NeuronIndex>(chunk * size);
    a.host_counts.resize(chunk);
  }
  projections_.resize(network.projections.size());
  for (std::size_t j = 0; j < network.projections.size(); ++j) {
    upload_synapses(network.projections[j], plan_.delivery[j], projections_[j]);
  }
  if (exchange_ != nullptr) probe_owners_ = probe_owners(network, exchange_->partition());
  for (std::size_t i = 0; i < network.probes.size(); ++i) {
    const StateProbe& probe = network.probes[i];
    std::vector<NeuronIndex> neurons = probe.neurons;
    if (exchange_ != nullptr) {
      neurons.clear();
      for (std::size_t k = 0; k < probe.neurons.size(); ++k) {
        if (probe_owners_[i][k] == exchange_->partition().rank)
          neurons.push_back(probe.neurons[k] - network.populations[probe.population].first);
      }
    }
    ProbeArrays& a = probes_.emplace_back();
    a.neurons = upload_array<NeuronIndex>(neurons);
    a.rows = device_.template allocate<float>(chunk * neurons.size());
  }
  for (const auto& drive : network.drives) {
    DriveArrays& a = drives_.emplace_back();
    a.uniform = dynamic_cast<const UniformDrive*>(drive.get());
    if (const auto* poisson = dynamic_cast<const PoissonDrive*>(drive.get())) {
      a.poisson = poisson->input();
      a.table = upload_array<double>({a.poisson.cumulative, a.poisson.table_size});
      a.poisson.cumulative = a.table.data();
    } else if (a.uniform == nullptr) {
      throw std::logic_error("a drive the grid backend does not know");
    }
  }
}

template <class Device>
void GridBackend<Device>::upload_synapses(const Projection& projection, DeliveryStrategy strategy,
                                          ProjectionArrays& out) {
  const Connectivity transpose =
      strategy == DeliveryStrategy::post_span ? transposed(projection.synapses) : Connectivity{};
  const Connectivity& c = strategy == DeliveryStrategy::post_span ? transpose : projection.synapses;
  out.row_offsets = upload_array<std::uint64_t>(c.row_offsets);
  out.indices = upload_array<NeuronIndex>(c.targets);
  out.weights = upload_array<float>(c.weights);
  out.delays = upload_array<std::uint16_t>(c.delays);
  out.rows = {out.row_offsets.data(),
              out.indices.data(),
              c.weights.empty() ? nullptr : out.weights.data(),
              c.weight,
              c.delays.empty() ? nullptr : out.delays.data(),
              c.delay};
}

/// Computes the spikes of a host-fed population for the chunk's steps on the host and puts them
/// where the compaction would have: list k and count k.
template <class Device>
void GridBackend<Device>::feed_from_host(std::size_t population, Step first, std::uint32_t steps) {
  PopulationArrays& a = arrays_[population];
  PopulationDynamics& dynamics = *network_.populations[population].dynamics;
  const NeuronIndex size = dynamics.size();
  std::vector<NeuronIndex> spikes;
  for (std::uint32_t k = 0; k < steps; ++k) {
    spikes.clear();
    dynamics.update(0, size, first + k, {}, spikes);
    a.host_counts[k] = static_cast<std::uint32_t>(spikes.size());
    if (!spikes.empty()) {
      device_.upload(a.lists.data() + static_cast<std::uint64_t>(k) * size, spikes.data(),
                     spikes.size());
    }
  }
  device_.upload(a.counts.data(), a.host_counts.data(), steps);
}

template <class Device>
void GridBackend<Device>::step(Step step, std::uint32_t k) {
  for (std::size_t p = 0; p < network_.populations.size(); ++p) {
    if (plan_.host_fed[p]) continue;
    PopulationArrays& a = arrays_[p];
    const Population& population = network_.populations[p];
    const NeuronIndex size = population.size();
    for (std::size_t d = 0; d < network_.drives.size(); ++d) {
      const ExternalDrive& drive = *network_.drives[d];
      if (drive.population() != p) continue;
      float* input = drive.receptor() == ExternalDrive::kCurrent
                         ? a.current.data()
                         : ring(p, drive.receptor()).slot(step);
      if (drives_[d].uniform == nullptr) {
        device_.launch(device_.items_shape((size + 3) / 4),
                       PoissonInputKernel{drives_[d].poisson, input, size, step, population.first});
      } else if (const float value = drives_[d].uniform->value(step); value != 0.0f) {
        device_.launch(device_.items_shape(size), UniformInputKernel{value, input, size});
      }
    }
    NeuronUpdateArguments arguments{a.state_pointers.data(),
                                    {},
                                    a.current.data(),
                                    a.spiked.data(),
                                    size,
                                    step,
                                    population.dynamics->random_stream(),
                                    population.first};
    for (std::size_t r = 0; r < a.rings.size(); ++r)
      arguments.receptors[r] = ring(p, static_cast<int>(r));
    a.update(device_, population.dynamics->model_constants(), arguments);
    device_.select_flagged(a.spiked.data(), size,
                           a.lists.data() + static_cast<std::uint64_t>(k) * size,
                           a.counts.data() + k);
  }
  for (std::size_t i = 0; i < network_.probes.size(); ++i) {
    const StateProbe& probe = network_.probes[i];
    if (step % probe.interval_steps != 0) continue;
    ProbeArrays& a = probes_[i];
    const auto count = static_cast<std::uint32_t>(a.neurons.size());
    device_.launch(
        device_.items_shape(count),
        SampleStateKernel{arrays_[probe.population].state[probe.variable].data(), a.neurons.data(),
                          count, a.rows.data() + a.steps.size() * count});
    a.steps.push_back(step);
  }
  if (exchange_ != nullptr) return;  // delivered once the chunk is exchanged
  for (std::size_t j = 0; j < network_.projections.size(); ++j) {
    const Projection& projection = network_.projections[j];
    const InputRing target = ring(projection.target, projection.receptor);
    const PopulationArrays& source = arrays_[projection.source];
    if (plan_.delivery[j] == DeliveryStrategy::post_span) {
      device_.launch(device_.items_shape(target.size),
                     PostSpanDelivery{projections_[j].rows, target, source.spiked.data(), step});
    } else {
      const NeuronIndex source_size = network_.populations[projection.source].size();
      device_.launch(device_.spike_shape(),
                     PreSpanDelivery{projections_[j].rows, target,
                                     source.lists.data() + std::uint64_t{k} * source_size,
                                     source.counts.data() + k, step});
    }
  }
}

/// Packs each population's spike lists of the chunk and brings them, and the probe rows, to
/// the host.
template <class Device>
void GridBackend<Device>::collect_chunk(std::uint32_t steps) {
  for (std::size_t p = 0; p < arrays_.size(); ++p) {
    PopulationArrays& a = arrays_[p];
    device_.launch(GridShape{steps, 4 * kWarpSize},
                   PackSpikesKernel{a.lists.data(), a.counts.data(), network_.populations[p].size(),
                                    steps, a.packed.data()});
  }
  for (PopulationArrays& a : arrays_) {
    device_.download(a.host_counts.data(), a.counts.data(), steps);
    std::uint64_t total = 0;
    for (std::uint32_t k = 0; k < steps; ++k)
      total += a.host_counts[k];
    a.host_packed.resize(total);
    device_.download(a.host_packed.data(), a.packed.data(), total);
  }
  for (std::size_t i = 0; i < probes_.size(); ++i) {
    ProbeArrays& a = probes_[i];
    a.host_rows.resize(a.steps.size() * a.neurons.size());
    device_.download(a.host_rows.data(), a.rows.data(), a.host_rows.size());
  }
}

template <class Device>
void GridBackend<Device>::report_chunk(Step first, std::uint32_t steps, RunObserver& observer) {
  const std::size_t populations = arrays_.size();
  std::vector<std::uint64_t> offsets(populations, 0);
  std::vector<std::span<const NeuronIndex>> views(populations);
  std::vector<std::size_t> probe_rows(probes_.size(), 0);
  for (std::uint32_t k = 0; k < steps; ++k) {
    for (std::size_t p = 0; p < populations; ++p) {
      const PopulationArrays& a = arrays_[p];
      views[p] = std::span<const NeuronIndex>(a.host_packed).subspan(offsets[p], a.host_counts[k]);
      offsets[p] += a.host_counts[k];
    }
    count_synaptic_events(views);
    observer.on_step(first + k, views);
    for (std::size_t i = 0; i < probes_.size(); ++i) {
      const ProbeArrays& a = probes_[i];
      if (probe_rows[i] < a.steps.size() && a.steps[probe_rows[i]] == first + k) {
        const std::size_t count = network_.probes[i].neurons.size();
        observer.on_state(
            first + k, i,
            std::span<const float>(a.host_rows).subspan(probe_rows[i] * count, count));
        ++probe_rows[i];
      }
    }
  }
  for (ProbeArrays& a : probes_)
    a.steps.clear();
  counters_.neuron_updates += std::uint64_t{steps} * network_.neuron_count();
}

template <class Device>
void GridBackend<Device>::download_state() {
  for (std::size_t p = 0; p < arrays_.size(); ++p) {
    PopulationDynamics& dynamics = *network_.populations[p].dynamics;
    for (std::size_t var = 0; var < arrays_[p].state.size(); ++var) {
      const std::span<float> values = dynamics.state(var);
      device_.download(values.data(), arrays_[p].state[var].data(), values.size());
    }
  }
}

template <class Device>
void GridBackend<Device>::chunk_to_interval(Step first, std::uint32_t steps, IntervalSpikes& spikes,
                                            std::vector<float>& samples) {
  spikes.clear();
  std::vector<std::uint64_t> offsets(arrays_.size(), 0);
  for (std::uint32_t k = 0; k < steps; ++k) {
    for (std::size_t p = 0; p < arrays_.size(); ++p) {
      const PopulationArrays& a = arrays_[p];
      const NeuronIndex first = network_.populations[p].first;
      for (std::uint32_t n = 0; n < a.host_counts[k]; ++n)
        spikes.add(first + a.host_packed[offsets[p] + n]);
      offsets[p] += a.host_counts[k];
      spikes.end_entry();
    }
  }
  // Samples in (step, probe, neuron) order, as report_interval reads them.
  samples.clear();
  std::vector<std::size_t> rows(probes_.size(), 0);
  for (std::uint32_t k = 0; k < steps; ++k) {
    for (std::size_t i = 0; i < probes_.size(); ++i) {
      const ProbeArrays& a = probes_[i];
      if (rows[i] == a.steps.size() || a.steps[rows[i]] != first + k) continue;
      const std::size_t count = a.neurons.size();
      samples.insert(samples.end(), a.host_rows.begin() + rows[i] * count,
                     a.host_rows.begin() + (rows[i] + 1) * count);
      ++rows[i];
    }
  }
}

template <class Device>
void GridBackend<Device>::deliver_exchanged(Step first, const IntervalSpikes& spikes) {
  const std::size_t populations = arrays_.size();
  exchanged_.resize(populations);
  exchanged_counts_.resize(populations);
  // Where step k's spikes of population p start in exchanged_[p].
  std::vector<std::vector<std::uint64_t>> starts(populations);
  std::vector<NeuronIndex> packed;
  std::vector<std::uint32_t> counts;
  for (std::size_t p = 0; p < populations; ++p) {
    packed.clear();
    counts.clear();
    for (Step k = 0; k < spikes.steps(); ++k) {
      const std::span<const NeuronIndex> list = spikes.at(k, p);
      starts[p].push_back(packed.size());
      packed.insert(packed.end(), list.begin(), list.end());
      counts.push_back(static_cast<std::uint32_t>(list.size()));
    }
    // Planned for the worst case (every neuron at every step); allocated as needed, with room
    // to grow, within the plan.
    if (exchanged_[p].size() < packed.size()) {
      const std::uint64_t planned =
          std::uint64_t{plan_.chunk_steps} * network_.populations[p].total;
      exchanged_[p] = device_.template allocate<NeuronIndex>(std::max<std::uint64_t>(
          packed.size(), std::min<std::uint64_t>(2 * packed.size(), planned)));
    }
    if (exchanged_counts_[p].size() < counts.size()) {
      exchanged_counts_[p] = device_.template allocate<std::uint32_t>(plan_.chunk_steps);
    }
    if (!packed.empty()) device_.upload(exchanged_[p].data(), packed.data(), packed.size());
    if (!counts.empty()) device_.upload(exchanged_counts_[p].data(), counts.data(), counts.size());
  }
  for (Step k = 0; k < spikes.steps(); ++k) {
    for (std::size_t j = 0; j < network_.projections.size(); ++j) {
      const Projection& projection = network_.projections[j];
      const std::size_t source = projection.source;
      device_.launch(
          device_.spike_shape(),
          PreSpanDelivery{projections_[j].rows, ring(projection.target, projection.receptor),
                          exchanged_[source].data() + starts[source][k],
                          exchanged_counts_[source].data() + k, first + k});
    }
    std::vector<std::span<const NeuronIndex>> views;
    for (std::size_t p = 0; p < populations; ++p)
      views.push_back(spikes.at(k, p));
    count_synaptic_events(views);
  }
}

template <class Device>
Step GridBackend<Device>::run_distributed(Step first, Step last, RunObserver& observer) {
  // Collectives: made here, once every rank is ready to run (sim/mpi_exchange.h).
  SpikeExchange& exchange = *exchange_;
  interval_ = std::min<Step>(plan_.chunk_steps, exchange_interval(exchange, network_.min_delay()));
  if (router_ == nullptr) router_ = std::make_unique<SpikeRouter>(network_, exchange);
  const std::size_t populations = network_.populations.size();
  IntervalSpikes local(populations), received(populations);
  std::vector<float> local_samples, samples;
  Step step = first;
  bool stop = false;
  while (step < last && !stop) {
    const auto steps = static_cast<std::uint32_t>(std::min<Step>(interval_, last - step));
    for (std::size_t p = 0; p < arrays_.size(); ++p) {
      if (plan_.host_fed[p]) feed_from_host(p, step, steps);
    }
    for (std::uint32_t k = 0; k < steps; ++k)
      this->step(step + k, k);
    collect_chunk(steps);
    chunk_to_interval(step, steps, local, local_samples);
    router_->start(local, observer.stop_requested());
    stop = router_->finish(received);
    exchange.gather_to_root(local_samples, samples);
    deliver_exchanged(step, received);
    report_interval(network_, exchange.partition(), probe_owners_, step, received, samples,
                    observer);
    for (ProbeArrays& a : probes_)
      a.steps.clear();
    counters_.neuron_updates += std::uint64_t{steps} * network_.neuron_count();
    step += steps;
  }
  download_state();
  return step - first;
}

template <class Device>
Step GridBackend<Device>::run(Step first, Step last, RunObserver& observer) {
  if (exchange_ != nullptr) return run_distributed(first, last, observer);
  // The observer's stop request is honoured at chunk boundaries: every step computed on the
  // device is reported, so the host's view and the device's state never disagree.
  Step step = first;
  while (step < last) {
    const auto steps = static_cast<std::uint32_t>(std::min<Step>(plan_.chunk_steps, last - step));
    for (std::size_t p = 0; p < arrays_.size(); ++p) {
      if (plan_.host_fed[p]) feed_from_host(p, step, steps);
    }
    for (std::uint32_t k = 0; k < steps; ++k)
      this->step(step + k, k);
    collect_chunk(steps);
    report_chunk(step, steps, observer);
    step += steps;
    if (observer.stop_requested()) break;
  }
  download_state();
  return step - first;
}

}  // namespace snnsim
