#include "analysis/trace_export.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "sim/atomic_write.h"
#include "sim/hdf5_util.h"

namespace snnsim::analysis {

namespace fs = std::filesystem;
using hdf5::Handle;

namespace {

/// Spikes read per block: about 20 MB of read buffers.
constexpr std::size_t kBlockSpikes = std::size_t{1} << 20;
/// Elements per chunk of NIR's event arrays along the event axis (512 KB of int64).
constexpr hsize_t kChunkEvents = 65536;
/// HDF5's chunk cache per NIR dataset. Layer-graph spikes come batch by batch, so a batch's
/// samples are written in turns: their open chunks must stay cached, or each turn would read,
/// decompress and rewrite them. 32 MB holds 64 chunks of idx (batch 64) in each of 3 datasets.
constexpr std::size_t kChunkCacheBytes = std::size_t{32} << 20;

/// Calls `visit(block, k)` for each spike of the population inside the window, block by block.
template <class Visit>
void for_each_spike(const TraceReader& reader, const TraceInfo& info,
                    const PopulationInfo& population, const StepWindow& window,
                    ProgressCounter& progress, Visit&& visit) {
  const SpikeRange range = spike_range(reader, info, population, window);
  if (range.last <= range.first) return;
  reader.for_each_spike_block(
      population.name,
      [&](const SpikeBlock& block) {
        for (std::size_t k = 0; k < block.steps.size(); ++k) {
          if (block.steps[k] >= window.first && block.steps[k] < window.last) visit(block, k);
        }
        progress.add(block.steps.size());
      },
      kBlockSpikes, range.first, range.last);
}

std::uint64_t spikes_to_read(const TraceReader& reader, const TraceInfo& info,
                             const ExportOptions& options) {
  std::uint64_t total = 0;
  for (const PopulationInfo& p : options.populations) {
    const SpikeRange range = spike_range(reader, info, p, options.window);
    total += range.last - range.first;
  }
  return total;
}

// --- CSV ----------------------------------------------------------------------------------------

/// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

/// Whether any exported population stores spike values (optional in population traces): peeks at
/// each population's first spike.
bool stores_values(const TraceReader& reader, const ExportOptions& options) {
  bool values = false;
  for (const PopulationInfo& p : options.populations) {
    if (!p.has_spikes || p.spikes == 0 || values) continue;
    reader.for_each_spike_block(
        p.name, [&](const SpikeBlock& block) { values = !block.values.empty(); }, 1, 0, 1);
  }
  return values;
}

class CsvFile {
 public:
  explicit CsvFile(const fs::path& path) : path_(path), file_(std::fopen(path.c_str(), "w")) {
    if (file_ == nullptr) fail("cannot create");
    std::setvbuf(file_, nullptr, _IOFBF, std::size_t{1} << 20);
  }
  ~CsvFile() {
    if (file_ != nullptr) std::fclose(file_);
  }
  CsvFile(const CsvFile&) = delete;
  CsvFile& operator=(const CsvFile&) = delete;

  void text(const std::string& s) { std::fwrite(s.data(), 1, s.size(), file_); }
  void character(char c) { std::fputc(c, file_); }
  /// The shortest text that reads back as the same number.
  template <class Number>
  void number(Number value) {
    char digits[32];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    std::fwrite(digits, 1, static_cast<std::size_t>(end - digits), file_);
  }
  void close() {
    const bool failed = std::ferror(file_) != 0;
    const int error = errno;
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (failed || !closed) {
      errno = failed ? error : errno;
      fail("cannot write");
    }
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw std::runtime_error(std::string(what) + " '" + path_.string() +
                             "': " + std::strerror(errno));
  }

  fs::path path_;
  std::FILE* file_;
};

void write_csv(const TraceReader& reader, const TraceInfo& info, const ExportOptions& options,
               const fs::path& path, ProgressCounter& progress, ExportResult& result) {
  const bool layers = info.kind == TraceKind::layer_graph;
  const bool values = layers || stores_values(reader, options);
  CsvFile csv(path);
  csv.text(layers ? "population,timestep,neuron,sample" : "population,time_s,neuron");
  csv.text(values ? ",value\n" : "\n");
  for (const PopulationInfo& p : options.populations) {
    if (!p.has_spikes) continue;
    ++result.populations;
    const std::string name = csv_field(p.name) + ",";
    for_each_spike(reader, info, p, options.window, progress,
                   [&](const SpikeBlock& block, std::size_t k) {
                     csv.text(name);
                     if (layers) {
                       csv.number(block.steps[k]);
                     } else {
                       csv.number(static_cast<double>(block.steps[k]) * info.dt_s);
                     }
                     csv.character(',');
                     csv.number(block.indices[k]);
                     if (layers) {
                       csv.character(',');
                       csv.number(block.samples.empty() ? 0u : block.samples[k]);
                     }
                     if (values) {
                       csv.character(',');
                       csv.number(block.values.empty() ? 1.0f : block.values[k]);
                     }
                     csv.character('\n');
                     ++result.spikes;
                   });
  }
  csv.close();
}

// --- NIR data -----------------------------------------------------------------------------------

/// What the counting pass learns about one population.
struct EventLayout {
  std::vector<std::uint64_t> per_sample;  ///< events of each sample
  std::uint64_t longest = 0;              ///< n_events: the padded length
  bool valued = false;                    ///< a value other than 1: ValuedEventData
};

EventLayout count_events(const TraceReader& reader, const TraceInfo& info, const PopulationInfo& p,
                         const StepWindow& window, std::uint64_t samples,
                         ProgressCounter& progress) {
  EventLayout layout;
  layout.per_sample.assign(samples, 0);
  for_each_spike(reader, info, p, window, progress, [&](const SpikeBlock& block, std::size_t k) {
    // Below `samples`: the reader checked it.
    ++layout.per_sample[block.samples.empty() ? 0 : block.samples[k]];
    if (!block.values.empty() && block.values[k] != 1.0f) layout.valued = true;
  });
  for (std::uint64_t n : layout.per_sample)
    layout.longest = std::max(layout.longest, n);
  return layout;
}

[[noreturn]] void fail_output(const fs::path& path, const std::string& what) {
  throw std::runtime_error(path.string() + ": " + what);
}

/// A (samples, events) dataset padded with `fill`. Chunked and gzip-compressed as nir.write_data
/// writes, unless it has no events (a chunk cannot be empty).
template <class T>
Handle create_event_dataset(const fs::path& path, hid_t group, const char* name, hid_t file_type,
                            hid_t memory_type, const EventLayout& layout, T fill) {
  const hsize_t dims[2] = {layout.per_sample.size(), layout.longest};
  const Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
  const Handle create(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  // The fill value is the padding: HDF5 returns it for every element never written, so the
  // writer writes only the events.
  H5Pset_fill_value(create.get(), memory_type, &fill);
  if (layout.longest > 0) {
    const hsize_t chunk[2] = {1, std::min<hsize_t>(layout.longest, kChunkEvents)};
    H5Pset_chunk(create.get(), 2, chunk);
    H5Pset_deflate(create.get(), 4);
  }
  // Enough cache for one open chunk per sample, up to kChunkCacheBytes.
  const std::size_t chunk_bytes =
      std::min<hsize_t>(layout.longest, kChunkEvents) * H5Tget_size(file_type);
  const Handle access(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose);
  H5Pset_chunk_cache(access.get(), 12421,
                     std::min(kChunkCacheBytes, (layout.per_sample.size() + 1) * chunk_bytes), 1.0);
  Handle dataset(
      H5Dcreate2(group, name, file_type, space.get(), H5P_DEFAULT, create.get(), access.get()),
      H5Dclose);
  if (!dataset.valid()) fail_output(path, std::string("cannot create dataset '") + name + "'");
  return dataset;
}

void write_rows(const fs::path& path, hid_t dataset, hsize_t sample, hsize_t column, hsize_t count,
                hid_t memory_type, const void* data) {
  const hsize_t offset[2] = {sample, column}, size[2] = {1, count};
  const Handle file_space(H5Dget_space(dataset), H5Sclose);
  const Handle memory_space(H5Screate_simple(1, &count, nullptr), H5Sclose);
  if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, offset, nullptr, size, nullptr) < 0 ||
      H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT, data) < 0) {
    fail_output(path, "cannot write events (disk full?)");
  }
}

Handle create_group(const fs::path& path, hid_t parent, const std::string& name) {
  Handle group(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  if (!group.valid()) fail_output(path, "cannot create group '" + name + "'");
  return group;
}

/// nodes/<name>: NIRNodeData with observable "spikes", an EventData (ValuedEventData when a
/// spike's value is not 1) of idx (int64), time (float64, seconds or timesteps) and value
/// (float32), each (samples, n_events), padded with -1, +inf and 0.
void write_node(const TraceReader& reader, const TraceInfo& info, const PopulationInfo& p,
                const StepWindow& window, hid_t nodes, const fs::path& path,
                ProgressCounter& progress, ExportResult& result) {
  const std::uint64_t samples = info.kind == TraceKind::layer_graph ? info.samples : 1;
  // The layout's count and the second pass's written, start and next, per sample.
  check_table_memory(info, samples, 4 * sizeof(std::uint64_t),
                     "the per-sample event counts of '" + p.name + "'");
  const EventLayout layout = count_events(reader, info, p, window, samples, progress);

  const Handle node = create_group(path, nodes, p.name);
  hdf5::write_attribute(node.get(), "__type__", std::string("NIRNodeData"));
  const Handle observables = create_group(path, node.get(), "observables");
  const Handle spikes = create_group(path, observables.get(), "spikes");
  hdf5::write_attribute(spikes.get(), "__type__",
                        std::string(layout.valued ? "ValuedEventData" : "EventData"));
  // h5py stores a Python int as int64 and a float as float64: nir.write_data's attribute types.
  const std::int64_t n_neurons = p.size;
  hdf5::write_attribute(spikes.get(), "n_neurons", H5T_NATIVE_INT64, &n_neurons);
  hdf5::write_attribute(spikes.get(), "t_max", static_cast<double>(window.last) * info.dt_s);

  const Handle idx = create_event_dataset<std::int64_t>(path, spikes.get(), "idx", H5T_STD_I64LE,
                                                        H5T_NATIVE_INT64, layout, -1);
  const Handle time =
      create_event_dataset<double>(path, spikes.get(), "time", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                   layout, std::numeric_limits<double>::infinity());
  Handle value;
  if (layout.valued) {
    value = create_event_dataset<float>(path, spikes.get(), "value", H5T_IEEE_F32LE,
                                        H5T_NATIVE_FLOAT, layout, 0.0f);
  }

  // Second pass. Each block's events are bucketed by sample (a counting sort), so that a sample's
  // events of the block are one contiguous run of its row: one hyperslab write per sample.
  std::vector<std::uint64_t> written(samples, 0);
  std::vector<std::size_t> start(samples + 1, 0);
  std::vector<std::int64_t> idx_buffer;
  std::vector<double> time_buffer;
  std::vector<float> value_buffer;
  const SpikeRange range = spike_range(reader, info, p, window);
  if (range.last <= range.first) return;
  reader.for_each_spike_block(
      p.name,
      [&](const SpikeBlock& block) {
        progress.add(block.steps.size());
        const auto inside = [&](std::size_t k) {
          return block.steps[k] >= window.first && block.steps[k] < window.last;
        };
        const auto sample_of = [&](std::size_t k) -> std::size_t {
          return block.samples.empty() ? 0 : block.samples[k];
        };
        std::fill(start.begin(), start.end(), 0);
        for (std::size_t k = 0; k < block.steps.size(); ++k)
          if (inside(k)) ++start[sample_of(k) + 1];
        for (std::size_t s = 0; s < samples; ++s)
          start[s + 1] += start[s];
        const std::size_t events = start[samples];
        idx_buffer.resize(events);
        time_buffer.resize(events);
        value_buffer.resize(layout.valued ? events : 0);
        std::vector<std::size_t> next(start.begin(), start.end() - 1);
        for (std::size_t k = 0; k < block.steps.size(); ++k) {
          if (!inside(k)) continue;
          const std::size_t at = next[sample_of(k)]++;
          idx_buffer[at] = block.indices[k];
          time_buffer[at] = static_cast<double>(block.steps[k]) * info.dt_s;
          if (layout.valued) value_buffer[at] = block.values[k];
        }
        for (std::size_t s = 0; s < samples; ++s) {
          const hsize_t count = start[s + 1] - start[s];
          if (count == 0) continue;
          write_rows(path, idx.get(), s, written[s], count, H5T_NATIVE_INT64,
                     idx_buffer.data() + start[s]);
          write_rows(path, time.get(), s, written[s], count, H5T_NATIVE_DOUBLE,
                     time_buffer.data() + start[s]);
          if (layout.valued) {
            write_rows(path, value.get(), s, written[s], count, H5T_NATIVE_FLOAT,
                       value_buffer.data() + start[s]);
          }
          written[s] += count;
        }
        result.spikes += events;
      },
      kBlockSpikes, range.first, range.last);
}

void write_nir_data(const TraceReader& reader, const TraceInfo& info, const ExportOptions& options,
                    const fs::path& path, ProgressCounter& progress, ExportResult& result) {
  hdf5::silence_errors();
  Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) {
    fail_output(path, "cannot create the HDF5 file (no such folder, or not writable?)");
  }
  hdf5::write_attribute(file.get(), "__type__", std::string("NIRGraphData"));
  Handle nodes = create_group(path, file.get(), "nodes");
  for (const PopulationInfo& p : options.populations) {
    if (!p.has_spikes) continue;
    write_node(reader, info, p, options.window, nodes.get(), path, progress, result);
    ++result.populations;
  }
  nodes.reset();  // HDF5 writes the file's last metadata when it closes, once nothing is open
  if (!file.close()) fail_output(path, "cannot write (disk full?)");
}

}  // namespace

ExportResult export_trace(const TraceReader& reader, const TraceInfo& info,
                          const ExportOptions& options, const fs::path& output) {
  ExportResult result;
  const std::uint64_t passes = options.format == ExportFormat::nir_data ? 2 : 1;
  ProgressCounter progress(options.progress, passes * spikes_to_read(reader, info, options));
  write_atomically(output, [&](const fs::path& partial) {
    if (options.format == ExportFormat::csv) {
      write_csv(reader, info, options, partial, progress, result);
    } else {
      write_nir_data(reader, info, options, partial, progress, result);
    }
  });
  return result;
}

}  // namespace snnsim::analysis
