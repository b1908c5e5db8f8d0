#include "sim/trace_writer.h"

#include <algorithm>
#include <stdexcept>

#include "sim/hdf5_util.h"
#include "sim/version.h"

namespace snnsim {

namespace {

using hdf5::Handle;

constexpr hsize_t kSpikeChunk = 1 << 16;       ///< elements per chunk of the spike datasets
constexpr std::size_t kSpikeBuffer = 1 << 20;  ///< buffered spikes per population before a write
constexpr std::size_t kStateBufferValues = 1 << 20;  ///< buffered state values per probe

Handle create_group(hid_t parent, const std::string& name) {
  Handle group(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  if (!group.valid()) throw std::runtime_error("cannot create group '" + name + "'");
  return group;
}

/// An extendible, chunked, shuffled and deflated dataset of `columns` columns (0: 1-D).
Handle create_extendible(hid_t parent, const char* name, hid_t type, hsize_t columns) {
  const int rank = columns == 0 ? 1 : 2;
  const hsize_t initial[2] = {0, columns};
  const hsize_t maximum[2] = {H5S_UNLIMITED, columns};
  const hsize_t chunk[2] = {
      columns == 0 ? kSpikeChunk : std::max<hsize_t>(1, kSpikeChunk / columns),
      std::max<hsize_t>(columns, 1)};
  const Handle space(H5Screate_simple(rank, initial, maximum), H5Sclose);
  const Handle properties(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(properties.get(), rank, chunk);
  H5Pset_shuffle(properties.get());
  H5Pset_deflate(properties.get(), 4);
  Handle dataset(
      H5Dcreate2(parent, name, type, space.get(), H5P_DEFAULT, properties.get(), H5P_DEFAULT),
      H5Dclose);
  if (!dataset.valid())
    throw std::runtime_error(std::string("cannot create dataset '") + name + "'");
  return dataset;
}

/// Appends `rows` rows (of `columns` values; 0 for 1-D) to an extendible dataset.
void append(hid_t dataset, hid_t type, const void* data, hsize_t rows, hsize_t columns) {
  if (rows == 0) return;
  const int rank = columns == 0 ? 1 : 2;
  hsize_t size[2] = {0, columns};
  {
    const Handle space(H5Dget_space(dataset), H5Sclose);
    H5Sget_simple_extent_dims(space.get(), size, nullptr);
  }
  const hsize_t start[2] = {size[0], 0};
  const hsize_t count[2] = {rows, columns};
  size[0] += rows;
  if (H5Dset_extent(dataset, size) < 0) throw std::runtime_error("cannot extend a dataset");
  const Handle file_space(H5Dget_space(dataset), H5Sclose);
  H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  const Handle memory_space(H5Screate_simple(rank, count, nullptr), H5Sclose);
  if (H5Dwrite(dataset, type, memory_space.get(), file_space.get(), H5P_DEFAULT, data) < 0) {
    throw std::runtime_error("cannot write to a dataset");
  }
}

struct ProbeStream {
  Handle dataset;
  std::size_t columns = 0;
  std::vector<float> buffer;
};

struct PopulationStream {
  Handle group, spikes_group, steps, indices;
  bool record_spikes = false;
  std::uint64_t count = 0;
  std::vector<Step> step_buffer;
  std::vector<NeuronIndex> index_buffer;
  std::vector<ProbeStream> probes;
};

}  // namespace

struct TraceWriter::Impl {
  std::filesystem::path final_path, temporary_path;
  Handle file;
  std::vector<PopulationStream> populations;
  bool finished = false;

  void write_spike_buffer(PopulationStream& p) {
    append(p.steps.get(), H5T_NATIVE_UINT64, p.step_buffer.data(), p.step_buffer.size(), 0);
    append(p.indices.get(), H5T_NATIVE_UINT32, p.index_buffer.data(), p.index_buffer.size(), 0);
    p.step_buffer.clear();
    p.index_buffer.clear();
  }

  void write_state_buffer(ProbeStream& probe) {
    if (probe.columns == 0) return;
    append(probe.dataset.get(), H5T_NATIVE_FLOAT, probe.buffer.data(),
           probe.buffer.size() / probe.columns, probe.columns);
    probe.buffer.clear();
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("trace '" + temporary_path.string() + "': " + what);
  }
};

TraceWriter::TraceWriter(std::filesystem::path final_path, const TraceMetadata& metadata,
                         std::vector<TracePopulationSpec> populations)
    : impl_(std::make_unique<Impl>()) {
  hdf5::silence_errors();
  impl_->final_path = final_path;
  impl_->temporary_path = final_path;
  impl_->temporary_path += ".partial";
  std::error_code ignored;
  std::filesystem::remove(impl_->temporary_path, ignored);
  impl_->file = Handle(
      H5Fcreate(impl_->temporary_path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  if (!impl_->file.valid()) {
    throw std::runtime_error("cannot create trace file '" + impl_->temporary_path.string() +
                             "' (does its folder exist and is it writable?)");
  }
  try {
    const hid_t root = impl_->file.get();
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
    const Handle all = create_group(root, "populations");
    for (const TracePopulationSpec& spec : populations) {
      PopulationStream p;
      p.group = create_group(all.get(), spec.name);
      hdf5::write_attribute(p.group.get(), "size", std::uint64_t{spec.size});
      p.record_spikes = spec.record_spikes;
      if (spec.record_spikes) {
        p.spikes_group = create_group(p.group.get(), "spikes");
        p.steps = create_extendible(p.spikes_group.get(), "step", H5T_NATIVE_UINT64, 0);
        p.indices = create_extendible(p.spikes_group.get(), "index", H5T_NATIVE_UINT32, 0);
        hdf5::write_attribute(p.spikes_group.get(), "count", std::uint64_t{0});
      }
      if (!spec.probes.empty()) {
        const Handle state = create_group(p.group.get(), "state");
        for (const StateProbeSpec& probe : spec.probes) {
          ProbeStream stream;
          stream.columns = probe.neurons.size();
          stream.dataset = create_extendible(state.get(), probe.variable.c_str(), H5T_NATIVE_FLOAT,
                                             std::max<std::size_t>(stream.columns, 1));
          hdf5::write_attribute(stream.dataset.get(), "unit", probe.unit);
          hdf5::write_attribute(stream.dataset.get(), "interval_steps", probe.interval_steps);
          hdf5::write_attribute(stream.dataset.get(), "interval",
                                metadata.dt_s * probe.interval_steps);
          hdf5::write_attribute(stream.dataset.get(), "first_step", std::uint64_t{0});
          hdf5::write_attribute(stream.dataset.get(), "neurons", probe.neurons);
          p.probes.push_back(std::move(stream));
        }
      }
      impl_->populations.push_back(std::move(p));
    }
    flush();
  } catch (const std::runtime_error& error) {
    impl_->populations.clear();
    impl_->file.reset();
    std::filesystem::remove(impl_->temporary_path, ignored);
    impl_->fail(error.what());
  }
}

TraceWriter::~TraceWriter() {
  if (impl_->finished) return;
  for (PopulationStream& p : impl_->populations)
    p = PopulationStream{};
  impl_->file.reset();
  std::error_code ignored;
  std::filesystem::remove(impl_->temporary_path, ignored);
}

void TraceWriter::append_spikes(std::size_t population, Step step,
                                std::span<const NeuronIndex> indices) {
  PopulationStream& p = impl_->populations[population];
  p.step_buffer.insert(p.step_buffer.end(), indices.size(), step);
  p.index_buffer.insert(p.index_buffer.end(), indices.begin(), indices.end());
  p.count += indices.size();
  if (p.step_buffer.size() >= kSpikeBuffer) impl_->write_spike_buffer(p);
}

void TraceWriter::append_state(std::size_t population, std::size_t probe, Step,
                               std::span<const float> values) {
  ProbeStream& stream = impl_->populations[population].probes[probe];
  stream.buffer.insert(stream.buffer.end(), values.begin(), values.end());
  if (stream.buffer.size() >= kStateBufferValues) impl_->write_state_buffer(stream);
}

void TraceWriter::flush() {
  for (PopulationStream& p : impl_->populations) {
    if (p.record_spikes) {
      impl_->write_spike_buffer(p);
      hdf5::write_attribute(p.spikes_group.get(), "count", p.count);
    }
    for (ProbeStream& probe : p.probes)
      impl_->write_state_buffer(probe);
  }
  if (H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL) < 0) impl_->fail("cannot flush");
}

void TraceWriter::finish(bool complete, Step steps_completed) {
  flush();
  const hid_t root = impl_->file.get();
  hdf5::write_attribute(root, "steps_completed", std::uint64_t{steps_completed});
  hdf5::write_attribute(root, "complete", std::int32_t{complete ? 1 : 0});
  for (PopulationStream& p : impl_->populations)
    p = PopulationStream{};
  impl_->file.reset();
  std::error_code error;
  std::filesystem::rename(impl_->temporary_path, impl_->final_path, error);
  if (error) {
    impl_->fail("cannot rename to '" + impl_->final_path.string() + "': " + error.message());
  }
  impl_->finished = true;
}

const std::filesystem::path& TraceWriter::final_path() const {
  return impl_->final_path;
}
const std::filesystem::path& TraceWriter::temporary_path() const {
  return impl_->temporary_path;
}

}  // namespace snnsim
