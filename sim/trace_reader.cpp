#include "sim/trace_reader.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <utility>

#include "sim/hdf5_util.h"
#include "sim/limits.h"
#include "sim/one_line.h"

namespace snnsim {

using hdf5::Handle;

namespace {

/// The names of a group's members, alphabetically; false when the group cannot be iterated.
bool link_names(hid_t group, std::vector<std::string>& names) {
  return H5Literate(
             group, H5_INDEX_NAME, H5_ITER_INC, nullptr,
             [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
               static_cast<std::vector<std::string>*>(out)->emplace_back(name);
               return 0;
             },
             &names) >= 0;
}

/// A layer-graph trace's samples: their numbers are 32-bit (docs/trace-format.md).
constexpr std::uint64_t kMaxSamples = std::uint64_t{1} << 32;

}  // namespace

struct TraceReader::Impl {
  std::string path;
  Handle file;

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(one_line(path + ": " + what));
  }

  /// `name` on the object at `owner` (a path inside the file, for messages).
  Handle open_attribute(hid_t object, const std::string& owner, const std::string& name) const {
    const std::string where = owner == "/" ? "" : " of '" + owner + "'";
    if (H5Aexists(object, name.c_str()) <= 0) fail("missing attribute '" + name + "'" + where);
    Handle attribute(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose);
    if (!attribute.valid()) fail("cannot open attribute '" + name + "'" + where + " (damaged?)");
    return attribute;
  }

  /// A scalar attribute converted by HDF5 to `memory_type` (so an int32 reads as uint64 too).
  template <class T>
  T read_scalar(hid_t object, const std::string& owner, const std::string& name,
                hid_t memory_type) const {
    const Handle attribute = open_attribute(object, owner, name);
    T value{};
    const Handle space(H5Aget_space(attribute.get()), H5Sclose);
    if (H5Sget_simple_extent_npoints(space.get()) != 1 ||
        H5Aread(attribute.get(), memory_type, &value) < 0) {
      fail("attribute '" + name + "' is not a single number of the expected type");
    }
    return value;
  }

  std::string read_string(hid_t object, const std::string& owner, const std::string& name) const {
    const Handle attribute = open_attribute(object, owner, name);
    const Handle type(H5Aget_type(attribute.get()), H5Tclose);
    const Handle space(H5Aget_space(attribute.get()), H5Sclose);
    if (H5Tget_class(type.get()) != H5T_STRING || H5Sget_simple_extent_npoints(space.get()) != 1) {
      fail("attribute '" + name + "' is not a string");
    }
    if (H5Tis_variable_str(type.get()) > 0) {
      char* text = nullptr;
      if (H5Aread(attribute.get(), type.get(), &text) < 0)
        fail("cannot read attribute '" + name + "'");
      std::string value = text != nullptr ? text : "";
      H5free_memory(text);
      return value;
    }
    std::string value(H5Tget_size(type.get()), '\0');
    if (H5Aread(attribute.get(), type.get(), value.data()) < 0) {
      fail("cannot read attribute '" + name + "'");
    }
    return value.substr(0, value.find('\0'));
  }

  bool exists(const std::string& object_path) const {
    // H5Lexists needs every intermediate link to exist, so test the path one level at a time.
    for (std::size_t slash = object_path.find('/', 1);; slash = object_path.find('/', slash + 1)) {
      if (H5Lexists(file.get(), object_path.substr(0, slash).c_str(), H5P_DEFAULT) <= 0) {
        return false;
      }
      if (slash == std::string::npos) return true;
    }
  }

  Handle open_group(const std::string& group_path, const std::string& what) const {
    if (!exists(group_path)) fail("no " + what);
    Handle group(H5Gopen2(file.get(), group_path.c_str(), H5P_DEFAULT), H5Gclose);
    if (!group.valid()) fail("cannot open " + what + " (damaged file?)");
    return group;
  }

  Handle open_population(const std::string& population) const {
    return open_group("/populations/" + population, "population '" + population + "'");
  }

  Handle open_dataset(const std::string& dataset_path) const {
    if (!exists(dataset_path)) fail("no dataset '" + dataset_path + "'");
    Handle dataset(H5Dopen2(file.get(), dataset_path.c_str(), H5P_DEFAULT), H5Dclose);
    if (!dataset.valid()) fail("cannot open dataset '" + dataset_path + "' (damaged file?)");
    return dataset;
  }

  /// The dimensions of a dataset of rank `rank`.
  std::vector<hsize_t> shape(hid_t dataset, const std::string& dataset_path, int rank) const {
    const Handle space(H5Dget_space(dataset), H5Sclose);
    std::vector<hsize_t> dims(rank);
    if (H5Sget_simple_extent_ndims(space.get()) != rank ||
        H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) != rank) {
      fail("dataset '" + dataset_path + "' is not " + std::to_string(rank) + "-dimensional");
    }
    return dims;
  }

  /// What the spikes and state rows of the trace must keep within (docs/trace-format.md), from
  /// the root attributes.
  struct TraceLimits {
    bool layer_graph = false;
    /// Steps are below this: T for a layer graph, steps_completed for a complete population
    /// trace. An incomplete one may hold spikes written after its last flush, so it has no bound.
    std::uint64_t step_limit = ~std::uint64_t{0};
    std::string step_limit_name;  ///< "timesteps" or "steps_completed", for messages
    std::uint64_t samples = 1;    ///< a spike's sample is below it: a population run is one
  };
  mutable std::optional<TraceLimits> cached_limits;  ///< read on first use (one thread at a time)

  bool is_layer_graph() const {
    const hid_t root = file.get();
    if (H5Aexists(root, "kind") <= 0) return false;  // older traces: populations only
    const std::string kind = read_string(root, "/", "kind");
    if (kind != "population" && kind != "layer_graph") {
      fail("unknown trace kind '" + kind + "' (expected population or layer_graph)");
    }
    return kind == "layer_graph";
  }

  const TraceLimits& limits() const {
    if (cached_limits) return *cached_limits;
    const hid_t root = file.get();
    TraceLimits r;
    r.layer_graph = is_layer_graph();
    if (r.layer_graph) {
      r.step_limit = read_scalar<std::uint64_t>(root, "/", "timesteps", H5T_NATIVE_UINT64);
      r.step_limit_name = "timesteps";
      r.samples = read_scalar<std::uint64_t>(root, "/", "samples", H5T_NATIVE_UINT64);
      // What snnsim infer can write: the analyses size tables by these, so a damaged value is
      // refused here rather than allocated.
      if (r.step_limit > limits::kTimesteps) {
        fail("attribute 'timesteps' is " + std::to_string(r.step_limit) +
             "; a layer graph has at most " + limits::power_of_two(limits::kTimesteps));
      }
      if (r.samples > kMaxSamples) {
        fail("attribute 'samples' is " + std::to_string(r.samples) + "; a trace holds at most " +
             limits::power_of_two(kMaxSamples) + " (sample numbers are 32-bit)");
      }
    } else if (read_scalar<std::int32_t>(root, "/", "complete", H5T_NATIVE_INT32) != 0) {
      r.step_limit = read_scalar<std::uint64_t>(root, "/", "steps_completed", H5T_NATIVE_UINT64);
      r.step_limit_name = "steps_completed";
    }
    cached_limits = std::move(r);
    return *cached_limits;
  }

  /// One line naming the file, the dataset and the position of an impossible value in it.
  [[noreturn]] void fail_at(const std::string& dataset_path, std::uint64_t position,
                            const std::string& what) const {
    fail("dataset '" + dataset_path + "', element " + std::to_string(position) + ": " + what +
         " (damaged trace?)");
  }

  /// Checks spikes [first, first + n) of the population at `base` (".../spikes/"): neurons below
  /// `size`, steps within the limits (and in time order after `previous` for population traces),
  /// samples below the trace's (0 when the dataset is absent), finite values. `previous` becomes
  /// the last step.
  void check_spikes(const std::string& base, NeuronIndex size, const TraceLimits& r,
                    std::uint64_t first, std::span<const Step> steps,
                    std::span<const NeuronIndex> indices, std::span<const std::uint32_t> samples,
                    std::span<const float> values, Step& previous) const {
    for (std::size_t k = 0; k < steps.size(); ++k) {
      const std::uint64_t position = first + k;
      if (indices[k] >= size) {
        fail_at(
            base + "index", position,
            "neuron " + std::to_string(indices[k]) + " of a population of " + std::to_string(size));
      }
      if (steps[k] >= r.step_limit) {
        fail_at(base + "step", position,
                "step " + std::to_string(steps[k]) + " is not below the trace's " +
                    r.step_limit_name + " (" + std::to_string(r.step_limit) + ")");
      }
      if (!r.layer_graph && steps[k] < previous) {
        fail_at(base + "step", position,
                "step " + std::to_string(steps[k]) + " after step " + std::to_string(previous) +
                    " (spikes must be in time order)");
      }
      previous = steps[k];
      const std::uint32_t sample = samples.empty() ? 0 : samples[k];
      if (sample >= r.samples) {
        fail_at(base + "sample", position,
                "sample " + std::to_string(sample) + " of a trace of " + std::to_string(r.samples) +
                    " samples");
      }
      if (!values.empty() && !std::isfinite(values[k])) {
        fail_at(base + "value", position, "the value is not a finite number");
      }
    }
  }

  /// Reads elements [offset, offset + length) of a 1-D dataset into `out`.
  void read_range(hid_t dataset, const std::string& dataset_path, hid_t memory_type, hsize_t offset,
                  hsize_t length, void* out) const {
    const Handle memory(H5Screate_simple(1, &length, nullptr), H5Sclose);
    const Handle file_space(H5Dget_space(dataset), H5Sclose);
    if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &offset, nullptr, &length, nullptr) <
            0 ||
        H5Dread(dataset, memory_type, memory.get(), file_space.get(), H5P_DEFAULT, out) < 0) {
      fail("cannot read dataset '" + dataset_path + "' (damaged or truncated file?)");
    }
  }
};

// Every public function silences HDF5's error printing first: a thread-safe HDF5 (Debian's is)
// keeps that setting per thread, and a reader may be used from a thread other than its creator's.

TraceReader::TraceReader(const std::filesystem::path& path) : impl_(std::make_unique<Impl>()) {
  hdf5::silence_errors();
  impl_->path = path.string();
  std::error_code error;
  if (!std::filesystem::exists(path, error)) impl_->fail("no such file");
  if (!std::filesystem::is_regular_file(path, error)) impl_->fail("not a regular file");
  if (H5Fis_hdf5(path.c_str()) <= 0) impl_->fail("not an HDF5 file");
  hdf5::check_readable(path);
  impl_->file = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!impl_->file.valid()) {
    impl_->fail("cannot open the HDF5 file (damaged, truncated, or locked by a running writer?)");
  }
  const hid_t root = impl_->file.get();
  if (H5Aexists(root, "format") <= 0 || impl_->read_string(root, "/", "format") != "snnsim-trace") {
    impl_->fail("not a snnsim trace (no root attribute format = \"snnsim-trace\")");
  }
  const std::uint64_t version = attribute_uint("version");
  if (version != 1) {
    impl_->fail("unsupported snnsim trace version " + std::to_string(version) + " (expected 1)");
  }
}

TraceReader::~TraceReader() = default;

const std::string& TraceReader::path() const {
  return impl_->path;
}

bool TraceReader::has_attribute(const std::string& name) const {
  hdf5::silence_errors();
  return H5Aexists(impl_->file.get(), name.c_str()) > 0;
}

std::string TraceReader::attribute_string(const std::string& name) const {
  hdf5::silence_errors();
  return impl_->read_string(impl_->file.get(), "/", name);
}

double TraceReader::attribute_double(const std::string& name) const {
  hdf5::silence_errors();
  return impl_->read_scalar<double>(impl_->file.get(), "/", name, H5T_NATIVE_DOUBLE);
}

std::uint64_t TraceReader::attribute_uint(const std::string& name) const {
  hdf5::silence_errors();
  return impl_->read_scalar<std::uint64_t>(impl_->file.get(), "/", name, H5T_NATIVE_UINT64);
}

bool TraceReader::complete() const {
  hdf5::silence_errors();
  return impl_->read_scalar<std::int32_t>(impl_->file.get(), "/", "complete", H5T_NATIVE_INT32) !=
         0;
}

std::vector<std::string> TraceReader::population_names() const {
  hdf5::silence_errors();
  std::vector<std::string> names;
  if (!link_names(impl_->open_group("/populations", "group '/populations'").get(), names)) {
    impl_->fail("cannot list '/populations' (damaged file?)");
  }
  return names;
}

bool TraceReader::layer_graph() const {
  hdf5::silence_errors();
  return impl_->limits().layer_graph;
}

NeuronIndex TraceReader::population_size(const std::string& population) const {
  hdf5::silence_errors();
  const Handle group = impl_->open_population(population);
  const std::string owner = "/populations/" + population;
  const NeuronIndex size =
      impl_->read_scalar<NeuronIndex>(group.get(), owner, "size", H5T_NATIVE_UINT32);
  if (size == 0) impl_->fail("attribute 'size' of '" + owner + "' is 0; expected at least 1");
  if (impl_->limits().layer_graph && size > limits::kTensorElements) {
    impl_->fail("attribute 'size' of '" + owner + "' is " + std::to_string(size) +
                "; a layer has at most " + limits::power_of_two(limits::kTensorElements) +
                " elements");
  }
  if (impl_->limits().layer_graph && H5Aexists(group.get(), "shape") > 0) {
    std::uint64_t elements = 1;
    for (const std::uint32_t extent : population_attribute_uints(population, "shape"))
      elements = extent == 0 || elements > size ? 0 : elements * extent;
    if (elements != size) {
      impl_->fail("attribute 'size' of '" + owner + "' (" + std::to_string(size) +
                  ") is not the number of elements of its attribute 'shape'");
    }
  }
  return size;
}

TraceSpikes TraceReader::read_spikes(const std::string& population) const {
  TraceSpikes spikes;
  for_each_spike_block(population, [&](const SpikeBlock& block) {
    spikes.steps.insert(spikes.steps.end(), block.steps.begin(), block.steps.end());
    spikes.indices.insert(spikes.indices.end(), block.indices.begin(), block.indices.end());
  });
  return spikes;
}

bool TraceReader::has_spikes(const std::string& population) const {
  hdf5::silence_errors();
  impl_->open_population(population);
  return impl_->exists("/populations/" + population + "/spikes");
}

std::uint64_t TraceReader::spike_count(const std::string& population) const {
  hdf5::silence_errors();
  if (!has_spikes(population)) return 0;
  const std::string steps = "/populations/" + population + "/spikes/step";
  const Handle dataset = impl_->open_dataset(steps);
  return impl_->shape(dataset.get(), steps, 1)[0];
}

void TraceReader::for_each_spike_block(const std::string& population,
                                       const std::function<void(const SpikeBlock&)>& visit,
                                       std::size_t block_size, std::uint64_t first,
                                       std::uint64_t last) const {
  hdf5::silence_errors();
  if (!has_spikes(population)) {
    impl_->fail("population '" + population + "' has no recorded spikes");
  }
  const std::string base = "/populations/" + population + "/spikes/";
  // The datasets read: step and index always; sample and value when the trace has them.
  struct Column {
    std::string name;
    hid_t memory_type;
    Handle dataset;
  };
  std::vector<Column> columns;
  for (const auto& [name, type] : {std::pair{"step", H5T_NATIVE_UINT64},
                                   {"index", H5T_NATIVE_UINT32},
                                   {"sample", H5T_NATIVE_UINT32},
                                   {"value", H5T_NATIVE_FLOAT}}) {
    if (columns.size() >= 2 && !impl_->exists(base + name)) continue;
    columns.push_back({name, type, impl_->open_dataset(base + name)});
  }
  const std::uint64_t count = impl_->shape(columns[0].dataset.get(), base + "step", 1)[0];
  for (const Column& column : columns) {
    if (impl_->shape(column.dataset.get(), base + column.name, 1)[0] != count) {
      impl_->fail("the spike datasets of '" + population + "' differ in length");
    }
  }
  last = std::min(last, count);
  if (first >= last) return;
  const NeuronIndex size = population_size(population);
  const Impl::TraceLimits& limits = impl_->limits();
  // Time order is checked across the range's start too: against the spike just before it.
  Step previous = 0;
  if (!limits.layer_graph && first > 0) {
    impl_->read_range(columns[0].dataset.get(), base + "step", H5T_NATIVE_UINT64, first - 1, 1,
                      &previous);
  }
  block_size = std::max<std::size_t>(block_size, 1);
  std::vector<Step> steps;
  std::vector<NeuronIndex> indices;
  std::vector<std::uint32_t> samples;
  std::vector<float> values;
  void* buffers[] = {nullptr, nullptr, nullptr, nullptr};
  for (std::uint64_t start = first; start < last; start += block_size) {
    const hsize_t offset = start, length = std::min<std::uint64_t>(block_size, last - start);
    steps.resize(length);
    indices.resize(length);
    buffers[0] = steps.data();
    buffers[1] = indices.data();
    for (std::size_t c = 2; c < columns.size(); ++c) {
      if (columns[c].name == "sample") {
        samples.resize(length);
        buffers[c] = samples.data();
      } else {
        values.resize(length);
        buffers[c] = values.data();
      }
    }
    for (std::size_t c = 0; c < columns.size(); ++c) {
      impl_->read_range(columns[c].dataset.get(), base + columns[c].name, columns[c].memory_type,
                        offset, length, buffers[c]);
    }
    impl_->check_spikes(base, size, limits, start, steps, indices, samples, values, previous);
    visit(SpikeBlock{start, steps, indices, samples, values});
  }
}

bool TraceReader::has_population_attribute(const std::string& population,
                                           const std::string& name) const {
  hdf5::silence_errors();
  const Handle group = impl_->open_population(population);
  return H5Aexists(group.get(), name.c_str()) > 0;
}

std::string TraceReader::population_attribute_string(const std::string& population,
                                                     const std::string& name) const {
  hdf5::silence_errors();
  const Handle group = impl_->open_population(population);
  return impl_->read_string(group.get(), "/populations/" + population, name);
}

double TraceReader::population_attribute_double(const std::string& population,
                                                const std::string& name) const {
  hdf5::silence_errors();
  const Handle group = impl_->open_population(population);
  return impl_->read_scalar<double>(group.get(), "/populations/" + population, name,
                                    H5T_NATIVE_DOUBLE);
}

std::vector<std::uint32_t> TraceReader::population_attribute_uints(const std::string& population,
                                                                   const std::string& name) const {
  hdf5::silence_errors();
  const Handle group = impl_->open_population(population);
  const std::string owner = "/populations/" + population;
  const Handle attribute = impl_->open_attribute(group.get(), owner, name);
  const Handle space(H5Aget_space(attribute.get()), H5Sclose);
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (count < 0) impl_->fail("cannot read attribute '" + name + "' of '" + owner + "'");
  std::vector<std::uint32_t> values(static_cast<std::size_t>(count));
  if (!values.empty() && H5Aread(attribute.get(), H5T_NATIVE_UINT32, values.data()) < 0) {
    impl_->fail("attribute '" + name + "' of '" + owner + "' is not a list of whole numbers");
  }
  return values;
}

std::vector<std::string> TraceReader::state_variables(const std::string& population) const {
  hdf5::silence_errors();
  impl_->open_population(population);
  const std::string state_path = "/populations/" + population + "/state";
  std::vector<std::string> names;
  if (!impl_->exists(state_path)) return names;
  if (!link_names(impl_->open_group(state_path, "group '" + state_path + "'").get(), names)) {
    impl_->fail("cannot list '" + state_path + "' (damaged file?)");
  }
  return names;
}

TraceState TraceReader::read_state_header(const std::string& population,
                                          const std::string& variable) const {
  hdf5::silence_errors();
  impl_->open_population(population);
  const std::string dataset_path = "/populations/" + population + "/state/" + variable;
  const Handle dataset = impl_->open_dataset(dataset_path);
  TraceState state;
  state.unit = impl_->read_string(dataset.get(), dataset_path, "unit");
  state.interval_steps = impl_->read_scalar<std::uint64_t>(dataset.get(), dataset_path,
                                                           "interval_steps", H5T_NATIVE_UINT64);
  if (H5Aexists(dataset.get(), "first_step") > 0) {
    state.first_step = impl_->read_scalar<std::uint64_t>(dataset.get(), dataset_path, "first_step",
                                                         H5T_NATIVE_UINT64);
  }
  const Handle neurons = impl_->open_attribute(dataset.get(), dataset_path, "neurons");
  const Handle neurons_space(H5Aget_space(neurons.get()), H5Sclose);
  const hssize_t neuron_count = H5Sget_simple_extent_npoints(neurons_space.get());
  if (neuron_count < 0) impl_->fail("cannot read the neuron list of '" + dataset_path + "'");
  state.neurons.resize(static_cast<std::size_t>(neuron_count));
  if (!state.neurons.empty() &&
      H5Aread(neurons.get(), H5T_NATIVE_UINT32, state.neurons.data()) < 0) {
    impl_->fail("cannot read the neuron list of '" + dataset_path + "'");
  }
  const std::vector<hsize_t> dims = impl_->shape(dataset.get(), dataset_path, 2);
  if (dims[1] != state.neurons.size()) {
    impl_->fail("dataset '" + dataset_path + "' has " + std::to_string(dims[1]) +
                " columns but its neuron list has " + std::to_string(state.neurons.size()));
  }
  state.samples = dims[0];
  if (state.interval_steps == 0) {
    impl_->fail("attribute 'interval_steps' of '" + dataset_path + "' is 0; expected at least 1");
  }
  const NeuronIndex size = population_size(population);
  for (std::size_t column = 0; column < state.neurons.size(); ++column) {
    if (state.neurons[column] >= size) {
      impl_->fail("attribute 'neurons' of '" + dataset_path + "', element " +
                  std::to_string(column) + ": neuron " + std::to_string(state.neurons[column]) +
                  " of a population of " + std::to_string(size) + " (damaged trace?)");
    }
  }
  // The step of the last row, first_step + (samples - 1) * interval_steps, must be a step of
  // the run: below steps_completed when the run completed, and a number of 64 bits in any case.
  // A layer graph's rows are one per sample and timestep (snnsim infer --record): below
  // samples x timesteps.
  const Impl::TraceLimits& limits = impl_->limits();
  const std::uint64_t all = ~std::uint64_t{0};
  const std::uint64_t limit = !limits.layer_graph ? limits.step_limit
                              : limits.samples > all / std::max<std::uint64_t>(limits.step_limit, 1)
                                  ? all
                                  : limits.samples * limits.step_limit;
  if (state.samples > 0 &&
      (state.first_step >= limit ||
       (state.samples - 1) > (limit - 1 - state.first_step) / state.interval_steps)) {
    impl_->fail("dataset '" + dataset_path + "' has " + std::to_string(state.samples) +
                " rows every " + std::to_string(state.interval_steps) + " steps from step " +
                std::to_string(state.first_step) + ": past the trace's " +
                (limits.step_limit_name.empty() ? std::string("last possible step")
                 : limits.layer_graph
                     ? "samples x timesteps (" + std::to_string(limit) + ")"
                     : limits.step_limit_name + " (" + std::to_string(limit) + ")"));
  }
  return state;
}

TraceState TraceReader::read_state(const std::string& population,
                                   const std::string& variable) const {
  TraceState state = read_state_header(population, variable);
  std::vector<std::uint64_t> all(state.neurons.size());
  for (std::size_t c = 0; c < all.size(); ++c)
    all[c] = c;
  read_state_rows(population, variable, 0, state.samples, all, state.values);
  return state;
}

void TraceReader::read_state_rows(const std::string& population, const std::string& variable,
                                  std::uint64_t first, std::uint64_t count,
                                  const std::vector<std::uint64_t>& columns,
                                  std::vector<float>& out) const {
  hdf5::silence_errors();
  const std::string dataset_path = "/populations/" + population + "/state/" + variable;
  const Handle dataset = impl_->open_dataset(dataset_path);
  out.resize(count * columns.size());
  if (out.empty()) return;
  const Handle space(H5Dget_space(dataset.get()), H5Sclose);
  H5Sselect_none(space.get());
  for (const std::uint64_t column : columns) {
    const hsize_t start[2] = {first, column}, size[2] = {count, 1};
    H5Sselect_hyperslab(space.get(), H5S_SELECT_OR, start, nullptr, size, nullptr);
  }
  const hsize_t shape[2] = {count, columns.size()};
  const Handle memory(H5Screate_simple(2, shape, nullptr), H5Sclose);
  if (H5Dread(dataset.get(), H5T_NATIVE_FLOAT, memory.get(), space.get(), H5P_DEFAULT, out.data()) <
      0) {
    impl_->fail("cannot read dataset '" + dataset_path + "' (damaged or truncated file?)");
  }
}

}  // namespace snnsim
