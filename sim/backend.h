#pragma once
// The backend interface: what runs a Network. The CPU backend (sim/cpu_backend.h) is the
// reference; the CUDA backend implements the same interface. A backend owns the network's
// dynamic state while it runs and reports each step's spikes, in step order, to a RunObserver.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "sim/network.h"
#include "sim/spike_exchange.h"

namespace snnsim {

/// Receives what a run produces. Called from one thread, in step order.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  /// The spikes of every population at `step` (indices ascending), indexed like
  /// Network::populations.
  virtual void on_step(Step step, std::span<const std::span<const NeuronIndex>> spikes) = 0;
  /// A sample of Network::probes[probe] taken after `step`'s update, in the probe's neuron order.
  virtual void on_state(Step step, std::size_t probe, std::span<const float> values) = 0;
  /// Polled once per step; returning true ends the run after the current step (Ctrl-C).
  virtual bool stop_requested() { return false; }
};

/// Work counters of a run, for throughput figures.
struct BackendCounters {
  std::uint64_t neuron_updates = 0;
  std::uint64_t synaptic_events = 0;  ///< synapses touched by delivered spikes
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  virtual int threads() const = 0;
  /// What the backend runs on and how it laid the network out, for the run's header; may be
  /// empty.
  virtual std::string description() const { return {}; }
  /// Advances the network over steps [first, last), or fewer if the observer asks to stop.
  /// Returns the number of steps completed.
  virtual Step run(Step first, Step last, RunObserver& observer) = 0;
  virtual BackendCounters counters() const = 0;
};

/// `automatic` is CUDA when this build has it, its CUDA plugin loads and a device is present, the
/// CPU otherwise.
enum class BackendKind { cpu, cuda, automatic };

/// Creates a backend for `network` (which must outlive it). `threads` <= 0 means all cores.
/// `exchange`: the other processes of a distributed run (sim/spike_exchange.h), or null (with
/// CUDA: one device per rank, the rank's first visible one). Throws std::runtime_error with a
/// one-line reason when the backend cannot run here.
std::unique_ptr<Backend> make_backend(BackendKind kind, Network& network, int threads,
                                      SpikeExchange* exchange = nullptr);

/// The number of CUDA devices this process can use: 0 without a GPU, a driver, a CUDA build, or
/// its CUDA plugin (which this loads, sim/cuda_plugin.h).
int cuda_device_count();

/// Why `automatic` runs on the CPU here, for the run's header: "no CUDA device", or why the CUDA
/// plugin did not load. Empty when a CUDA device is usable.
std::string cuda_unavailable_reason();

}  // namespace snnsim
