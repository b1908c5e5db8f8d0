#include "sim/trace_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "sim/hdf5_util.h"
#include "sim/version.h"

namespace snnsim {

namespace {

using hdf5::Handle;

constexpr hsize_t kChunkElements = 1 << 16;    ///< elements per chunk of every dataset
constexpr std::size_t kSpikeBuffer = 1 << 20;  ///< buffered spikes per population before a write
constexpr std::size_t kStateBufferValues = 1 << 20;  ///< buffered state values per probe

/// The path of an HDF5 object inside its file, for error messages.
std::string object_name(hid_t object) {
  char name[256] = "";
  H5Iget_name(object, name, sizeof name);
  return name;
}

Handle create_group(hid_t parent, const std::string& name) {
  Handle group(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  if (!group.valid()) {
    throw std::runtime_error("cannot create group '" + name + "' in '" + object_name(parent) + "'");
  }
  return group;
}

/// An empty dataset of `columns` columns (0: a 1-D dataset) that grows along its first dimension:
/// chunked, shuffled and deflated, so that it can be extended as the run goes and stays small.
Handle create_extendible(hid_t parent, const std::string& name, hid_t type, hsize_t columns) {
  const int rank = columns == 0 ? 1 : 2;
  const hsize_t initial[2] = {0, columns};
  const hsize_t maximum[2] = {H5S_UNLIMITED, columns};
  const hsize_t chunk[2] = {
      columns == 0 ? kChunkElements : std::max<hsize_t>(1, kChunkElements / columns), columns};
  const Handle space(H5Screate_simple(rank, initial, maximum), H5Sclose);
  const Handle properties(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (H5Pset_chunk(properties.get(), rank, chunk) < 0 || H5Pset_shuffle(properties.get()) < 0 ||
      H5Pset_deflate(properties.get(), 4) < 0) {
    throw std::runtime_error("cannot set up the storage of dataset '" + name + "'");
  }
  Handle dataset(H5Dcreate2(parent, name.c_str(), type, space.get(), H5P_DEFAULT, properties.get(),
                            H5P_DEFAULT),
                 H5Dclose);
  if (!dataset.valid()) {
    throw std::runtime_error("cannot create dataset '" + name + "' in '" + object_name(parent) +
                             "'");
  }
  return dataset;
}

/// A probe without neurons has nothing to extend and cannot be chunked (a chunk needs at least
/// one column), so its dataset is a fixed, empty [0, 0].
Handle create_empty_state(hid_t parent, const std::string& name) {
  const hsize_t dims[2] = {0, 0};
  const Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
  Handle dataset(H5Dcreate2(parent, name.c_str(), H5T_NATIVE_FLOAT, space.get(), H5P_DEFAULT,
                            H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose);
  if (!dataset.valid()) throw std::runtime_error("cannot create dataset '" + name + "'");
  return dataset;
}

/// Appends `rows` rows (of `columns` values; 0 for 1-D) to an extendible dataset.
void append(hid_t dataset, hid_t type, const void* data, hsize_t rows, hsize_t columns) {
  if (rows == 0) return;
  const int rank = columns == 0 ? 1 : 2;
  hsize_t size[2] = {0, columns};
  {
    const Handle space(H5Dget_space(dataset), H5Sclose);
    if (H5Sget_simple_extent_dims(space.get(), size, nullptr) != rank) {
      throw std::runtime_error("dataset '" + object_name(dataset) + "' has an unexpected shape");
    }
  }
  const hsize_t start[2] = {size[0], 0};
  const hsize_t count[2] = {rows, columns};
  size[0] += rows;
  if (H5Dset_extent(dataset, size) < 0) {
    throw std::runtime_error("cannot extend dataset '" + object_name(dataset) + "'");
  }
  const Handle file_space(H5Dget_space(dataset), H5Sclose);
  const Handle memory_space(H5Screate_simple(rank, count, nullptr), H5Sclose);
  if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr) < 0 ||
      H5Dwrite(dataset, type, memory_space.get(), file_space.get(), H5P_DEFAULT, data) < 0) {
    throw std::runtime_error("cannot write to dataset '" + object_name(dataset) + "'");
  }
}

/// Why the operating system refuses to create `path`: HDF5 keeps the reason on its error stack
/// only, so the creation is tried again with open(2) to get an errno worth showing.
std::string creation_failure_reason(const std::filesystem::path& path) {
  const int descriptor = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (descriptor < 0) return std::strerror(errno);
  ::close(descriptor);
  ::unlink(path.c_str());
  return "the HDF5 library could not create it";
}

struct ProbeStream {
  std::string name;  ///< "POPULATION/VAR", for error messages
  Handle dataset;
  std::size_t columns = 0;
  std::vector<float> buffer;
};

struct PopulationStream {
  Handle group, spikes_group, steps, indices, samples, values;
  bool record_spikes = false;
  std::uint64_t count = 0;
  std::vector<Step> step_buffer;
  std::vector<NeuronIndex> index_buffer;
  std::vector<std::uint32_t> sample_buffer;
  std::vector<float> value_buffer;
  std::vector<ProbeStream> probes;
};

}  // namespace

struct TraceWriter::Impl {
  std::filesystem::path final_path, temporary_path;
  Handle file;
  std::vector<PopulationStream> populations;
  /// A population run, whose steps arrive in order: steps_completed can be kept current.
  bool population_run = true;
  /// Set once the temporary file is closed and must no longer be deleted by the destructor.
  bool finished = false;

  /// Runs `operation`, which calls HDF5, and gives its failure the file's name. Error printing is
  /// silenced on every call because a thread-safe HDF5 keeps that setting per thread.
  template <class Operation>
  void guarded(const Operation& operation) {
    hdf5::silence_errors();
    try {
      operation();
    } catch (const std::runtime_error& error) {
      fail(error.what());
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("trace '" + temporary_path.string() + "': " + what);
  }

  void create_layout(const TraceMetadata& metadata, const std::vector<TracePopulationSpec>& specs) {
    const hid_t root = file.get();
    population_run = metadata.timesteps == 0;
    hdf5::write_attribute(root, "format", std::string("snnsim-trace"));
    hdf5::write_attribute(root, "version", std::uint64_t{1});
    hdf5::write_attribute(root, "dt", metadata.dt_s);
    hdf5::write_attribute(root, "duration", metadata.duration_s);
    hdf5::write_attribute(root, "seed", metadata.seed);
    hdf5::write_attribute(root, "snnsim_version", std::string(kVersion));
    hdf5::write_attribute(root, "network", metadata.network_json);
    hdf5::write_attribute(root, "network_path", metadata.network_path);
    hdf5::write_attribute(root, "backend", metadata.backend);
    hdf5::write_attribute(root, "threads", std::int32_t{metadata.threads});
    hdf5::write_attribute(root, "complete", std::int32_t{0});
    hdf5::write_attribute(root, "steps_completed", std::uint64_t{0});
    hdf5::write_attribute(root, "kind",
                          std::string(metadata.timesteps > 0 ? "layer_graph" : "population"));
    if (metadata.timesteps > 0) {
      hdf5::write_attribute(root, "timesteps", metadata.timesteps);
      hdf5::write_attribute(root, "samples", metadata.samples);
    }
    const Handle all = create_group(root, "populations");
    for (const TracePopulationSpec& spec : specs) {
      PopulationStream p;
      p.group = create_group(all.get(), spec.name);
      const NeuronIndex size = spec.size;
      hdf5::write_attribute(p.group.get(), "size", H5T_NATIVE_UINT32, &size);
      p.record_spikes = spec.record_spikes;
      if (!spec.layer_op.empty()) {
        hdf5::write_attribute(p.group.get(), "op", spec.layer_op);
        hdf5::write_attribute(p.group.get(), "shape", spec.layer_shape);
      }
      if (!spec.token_indices.empty())
        hdf5::write_attribute(p.group.get(), "token_indices", spec.token_indices);
      if (spec.record_spikes) {
        p.spikes_group = create_group(p.group.get(), "spikes");
        p.steps = create_extendible(p.spikes_group.get(), "step", H5T_NATIVE_UINT64, 0);
        p.indices = create_extendible(p.spikes_group.get(), "index", H5T_NATIVE_UINT32, 0);
        if (spec.spike_samples)
          p.samples = create_extendible(p.spikes_group.get(), "sample", H5T_NATIVE_UINT32, 0);
        if (spec.spike_values)
          p.values = create_extendible(p.spikes_group.get(), "value", H5T_NATIVE_FLOAT, 0);
        hdf5::write_attribute(p.spikes_group.get(), "count", std::uint64_t{0});
      }
      if (!spec.probes.empty()) {
        const Handle state = create_group(p.group.get(), "state");
        for (const StateProbeSpec& probe : spec.probes) {
          ProbeStream stream;
          stream.name = spec.name + "/" + probe.variable;
          stream.columns = probe.neurons.size();
          stream.dataset = stream.columns == 0
                               ? create_empty_state(state.get(), probe.variable)
                               : create_extendible(state.get(), probe.variable, H5T_NATIVE_FLOAT,
                                                   stream.columns);
          hdf5::write_attribute(stream.dataset.get(), "unit", probe.unit);
          hdf5::write_attribute(stream.dataset.get(), "neurons", probe.neurons);
          hdf5::write_attribute(stream.dataset.get(), "interval_steps", probe.interval_steps);
          hdf5::write_attribute(stream.dataset.get(), "interval",
                                metadata.dt_s * static_cast<double>(probe.interval_steps));
          hdf5::write_attribute(stream.dataset.get(), "first_step", std::uint64_t{0});
          p.probes.push_back(std::move(stream));
        }
      }
      populations.push_back(std::move(p));
    }
  }

  void write_spike_buffer(PopulationStream& p) {
    append(p.steps.get(), H5T_NATIVE_UINT64, p.step_buffer.data(), p.step_buffer.size(), 0);
    append(p.indices.get(), H5T_NATIVE_UINT32, p.index_buffer.data(), p.index_buffer.size(), 0);
    if (p.samples.valid()) {
      append(p.samples.get(), H5T_NATIVE_UINT32, p.sample_buffer.data(), p.sample_buffer.size(), 0);
    }
    if (p.values.valid()) {
      append(p.values.get(), H5T_NATIVE_FLOAT, p.value_buffer.data(), p.value_buffer.size(), 0);
    }
    p.step_buffer.clear();
    p.index_buffer.clear();
    p.sample_buffer.clear();
    p.value_buffer.clear();
  }

  void write_state_buffer(ProbeStream& probe) {
    if (probe.columns == 0) return;
    append(probe.dataset.get(), H5T_NATIVE_FLOAT, probe.buffer.data(),
           probe.buffer.size() / probe.columns, probe.columns);
    probe.buffer.clear();
  }

  /// Writes every buffer and the spike counts, and makes the file on disk consistent.
  void write_buffers_and_flush() {
    for (PopulationStream& p : populations) {
      if (p.record_spikes) {
        write_spike_buffer(p);
        hdf5::write_attribute(p.spikes_group.get(), "count", p.count);
      }
      for (ProbeStream& probe : p.probes)
        write_state_buffer(probe);
    }
    if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) throw std::runtime_error("cannot flush");
  }

  /// write_buffers_and_flush, with steps_completed = `steps` in a population run: every spike and
  /// sample of the steps before `steps` is in the file, which says so to a reader of the
  /// `.partial` file of a killed run.
  void flush_through(Step steps) {
    if (population_run) hdf5::write_attribute(file.get(), "steps_completed", std::uint64_t{steps});
    write_buffers_and_flush();
  }

  /// Closes every object and then the file (HDF5 closes a file only once nothing in it is open);
  /// false when the file could not be written whole.
  bool close() {
    populations.clear();
    return file.close();
  }
};

TraceWriter::TraceWriter(std::filesystem::path final_path, const TraceMetadata& metadata,
                         std::vector<TracePopulationSpec> populations)
    : impl_(std::make_unique<Impl>()) {
  hdf5::silence_errors();
  impl_->final_path = std::move(final_path);
  impl_->temporary_path = impl_->final_path;
  impl_->temporary_path += ".partial";
  std::error_code ignored;
  std::filesystem::remove(impl_->temporary_path, ignored);  // left behind by a killed run
  // Space freed in the file (a compressed chunk rewritten larger moves) is never reused: reused,
  // it could overwrite data that the file on disk, as of the last flush, still points to, and a
  // run killed before the next flush would leave a `.partial` file that cannot be read.
  const Handle creation(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  H5Pset_file_space_strategy(creation.get(), H5F_FSPACE_STRATEGY_NONE, false, 1);
  // A state probe on every neuron of a layer (`snnsim infer --record`: 802,816 of T-RevSNN's
  // pwconv1) names them in an attribute far above the 64 kB that HDF5's oldest object format
  // holds; the format of HDF5 1.8 and later keeps large attributes in dense storage. Only such
  // traces take it: the checks of damaged files know the older one best.
  constexpr std::size_t kCompactAttributeBytes = 64'000;
  bool large_attributes = false;
  for (const TracePopulationSpec& population : populations) {
    for (const StateProbeSpec& probe : population.probes)
      large_attributes |= probe.neurons.size() * sizeof(NeuronIndex) > kCompactAttributeBytes;
  }
  const Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (large_attributes) H5Pset_libver_bounds(access.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  impl_->file =
      Handle(H5Fcreate(impl_->temporary_path.c_str(), H5F_ACC_TRUNC, creation.get(), access.get()),
             H5Fclose);
  if (!impl_->file.valid()) {
    throw std::runtime_error("cannot create trace file '" + impl_->temporary_path.string() +
                             "': " + creation_failure_reason(impl_->temporary_path));
  }
  try {
    impl_->guarded([&] {
      impl_->create_layout(metadata, populations);
      impl_->write_buffers_and_flush();
    });
  } catch (...) {
    impl_->close();
    std::filesystem::remove(impl_->temporary_path, ignored);
    throw;
  }
}

TraceWriter::~TraceWriter() {
  if (impl_->finished) return;
  impl_->close();
  std::error_code ignored;
  std::filesystem::remove(impl_->temporary_path, ignored);
}

void TraceWriter::append_spikes(std::size_t population, Step step,
                                std::span<const NeuronIndex> indices, std::uint32_t sample,
                                std::span<const float> values) {
  PopulationStream& p = impl_->populations[population];
  p.step_buffer.insert(p.step_buffer.end(), indices.size(), step);
  p.index_buffer.insert(p.index_buffer.end(), indices.begin(), indices.end());
  if (p.samples.valid()) p.sample_buffer.insert(p.sample_buffer.end(), indices.size(), sample);
  if (p.values.valid()) p.value_buffer.insert(p.value_buffer.end(), values.begin(), values.end());
  p.count += indices.size();
  // A full buffer is written with the others and flushed, so that the file on disk is whole
  // between any two writes. The steps before this one are complete.
  if (p.step_buffer.size() >= kSpikeBuffer) impl_->guarded([&] { impl_->flush_through(step); });
}

void TraceWriter::append_state(std::size_t population, std::size_t probe, Step step,
                               std::span<const float> values) {
  ProbeStream& stream = impl_->populations[population].probes[probe];
  // A row of the wrong width would shift every later sample into the wrong column.
  if (values.size() != stream.columns) {
    impl_->fail("a sample of '" + stream.name + "' has " + std::to_string(values.size()) +
                " values, expected " + std::to_string(stream.columns));
  }
  stream.buffer.insert(stream.buffer.end(), values.begin(), values.end());
  if (stream.buffer.size() >= kStateBufferValues) {
    impl_->guarded([&] { impl_->flush_through(step); });
  }
}

void TraceWriter::set_population_attribute(std::size_t population, const std::string& name,
                                           double value) {
  impl_->guarded([&] {
    hdf5::write_attribute(impl_->populations[population].group.get(), name.c_str(), value);
  });
}

void TraceWriter::flush(Step steps_completed) {
  impl_->guarded([&] { impl_->flush_through(steps_completed); });
}

void TraceWriter::finish(bool complete, Step steps_completed) {
  impl_->guarded([&] {
    const hid_t root = impl_->file.get();
    hdf5::write_attribute(root, "steps_completed", std::uint64_t{steps_completed});
    hdf5::write_attribute(root, "complete", std::int32_t{complete ? 1 : 0});
    // After this flush everything is on disk: the close that follows cannot lose data.
    impl_->write_buffers_and_flush();
  });
  if (!impl_->close()) impl_->fail("cannot write it whole (disk full, or a file-size limit?)");
  // From here on the file is whole: a failed rename keeps it rather than losing the run.
  impl_->finished = true;
  std::error_code error;
  std::filesystem::rename(impl_->temporary_path, impl_->final_path, error);
  if (error) {
    impl_->fail("cannot rename it to '" + impl_->final_path.string() + "' (" + error.message() +
                "); the trace is kept under the temporary name");
  }
}

const std::filesystem::path& TraceWriter::final_path() const {
  return impl_->final_path;
}
const std::filesystem::path& TraceWriter::temporary_path() const {
  return impl_->temporary_path;
}

}  // namespace snnsim
