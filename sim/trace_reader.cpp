#include "sim/trace_reader.h"

#include <stdexcept>

#include "sim/hdf5_util.h"

namespace snnsim {

using hdf5::Handle;

namespace {
/// The names of a group's members, alphabetically.
std::vector<std::string> link_names(hid_t group) {
  std::vector<std::string> names;
  H5Literate(
      group, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->emplace_back(name);
        return 0;
      },
      &names);
  return names;
}
}  // namespace

struct TraceReader::Impl {
  std::string path;
  Handle file;

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(path + ": " + what);
  }

  Handle open_attribute(hid_t object, const std::string& name) const {
    if (H5Aexists(object, name.c_str()) <= 0) fail("missing attribute '" + name + "'");
    Handle attribute(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose);
    if (!attribute.valid()) fail("cannot read attribute '" + name + "' (damaged file?)");
    return attribute;
  }

  template <class T>
  T read_scalar(hid_t object, const std::string& name, hid_t memory_type) const {
    const Handle attribute = open_attribute(object, name);
    T value{};
    if (H5Aread(attribute.get(), memory_type, &value) < 0)
      fail("cannot read attribute '" + name + "'");
    return value;
  }

  std::string read_string(hid_t object, const std::string& name) const {
    const Handle attribute = open_attribute(object, name);
    const Handle type(H5Aget_type(attribute.get()), H5Tclose);
    if (H5Tget_class(type.get()) != H5T_STRING) fail("attribute '" + name + "' is not a string");
    if (H5Tis_variable_str(type.get()) > 0) {
      char* text = nullptr;
      if (H5Aread(attribute.get(), type.get(), &text) < 0)
        fail("cannot read attribute '" + name + "'");
      std::string value = text != nullptr ? text : "";
      H5free_memory(text);
      return value;
    }
    std::string value(H5Tget_size(type.get()), '\0');
    if (H5Aread(attribute.get(), type.get(), value.data()) < 0)
      fail("cannot read attribute '" + name + "'");
    return value.substr(0, value.find('\0'));
  }

  Handle open(const std::string& object_path, herr_t (*close)(hid_t),
              hid_t (*opener)(hid_t, const char*, hid_t), const std::string& what) const {
    if (H5Lexists(file.get(), object_path.c_str(), H5P_DEFAULT) <= 0) fail("no " + what);
    Handle handle(opener(file.get(), object_path.c_str(), H5P_DEFAULT), close);
    if (!handle.valid()) fail("cannot open " + what + " (damaged file?)");
    return handle;
  }

  Handle open_population(const std::string& population) const {
    if (H5Lexists(file.get(), "/populations", H5P_DEFAULT) <= 0 ||
        H5Lexists(file.get(), ("/populations/" + population).c_str(), H5P_DEFAULT) <= 0) {
      fail("no population '" + population + "'");
    }
    return open("/populations/" + population, H5Gclose, H5Gopen2,
                "population '" + population + "'");
  }

  template <class T>
  std::vector<T> read_vector(const std::string& dataset_path, hid_t memory_type) const {
    const Handle dataset = open(dataset_path, H5Dclose, H5Dopen2, "dataset '" + dataset_path + "'");
    const Handle space(H5Dget_space(dataset.get()), H5Sclose);
    hsize_t dims[2] = {0, 0};
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 1 || rank > 2) fail("dataset '" + dataset_path + "' has an unexpected shape");
    H5Sget_simple_extent_dims(space.get(), dims, nullptr);
    std::vector<T> values(dims[0] * (rank == 2 ? dims[1] : 1));
    if (!values.empty() &&
        H5Dread(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
      fail("cannot read dataset '" + dataset_path + "' (damaged or truncated file?)");
    }
    return values;
  }
};

TraceReader::TraceReader(const std::filesystem::path& path) : impl_(std::make_unique<Impl>()) {
  hdf5::silence_errors();
  impl_->path = path.string();
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) impl_->fail("no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) impl_->fail("not an HDF5 file");
  impl_->file = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!impl_->file.valid()) impl_->fail("cannot open the HDF5 file (damaged or truncated?)");
  if (H5Aexists(impl_->file.get(), "format") <= 0 ||
      impl_->read_string(impl_->file.get(), "format") != "snnsim-trace") {
    impl_->fail("not a snnsim trace (no root attribute format = \"snnsim-trace\")");
  }
  if (attribute_uint("version") != 1) impl_->fail("unsupported trace version");
}

TraceReader::~TraceReader() = default;

std::string TraceReader::attribute_string(const std::string& name) const {
  return impl_->read_string(impl_->file.get(), name);
}
double TraceReader::attribute_double(const std::string& name) const {
  return impl_->read_scalar<double>(impl_->file.get(), name, H5T_NATIVE_DOUBLE);
}
std::uint64_t TraceReader::attribute_uint(const std::string& name) const {
  return impl_->read_scalar<std::uint64_t>(impl_->file.get(), name, H5T_NATIVE_UINT64);
}
bool TraceReader::complete() const {
  return impl_->read_scalar<std::int32_t>(impl_->file.get(), "complete", H5T_NATIVE_INT32) != 0;
}

std::vector<std::string> TraceReader::population_names() const {
  return link_names(impl_->open("/populations", H5Gclose, H5Gopen2, "populations group").get());
}

NeuronIndex TraceReader::population_size(const std::string& population) const {
  const Handle group = impl_->open_population(population);
  return static_cast<NeuronIndex>(
      impl_->read_scalar<std::uint64_t>(group.get(), "size", H5T_NATIVE_UINT64));
}

TraceSpikes TraceReader::read_spikes(const std::string& population) const {
  impl_->open_population(population);
  const std::string base = "/populations/" + population + "/spikes/";
  TraceSpikes spikes{impl_->read_vector<Step>(base + "step", H5T_NATIVE_UINT64),
                     impl_->read_vector<NeuronIndex>(base + "index", H5T_NATIVE_UINT32)};
  if (spikes.steps.size() != spikes.indices.size())
    impl_->fail("spike datasets of '" + population + "' differ in length");
  return spikes;
}

std::vector<std::string> TraceReader::state_variables(const std::string& population) const {
  impl_->open_population(population);
  const std::string path = "/populations/" + population + "/state";
  if (H5Lexists(impl_->file.get(), path.c_str(), H5P_DEFAULT) <= 0) return {};
  return link_names(impl_->open(path, H5Gclose, H5Gopen2, "state group").get());
}

TraceState TraceReader::read_state(const std::string& population,
                                   const std::string& variable) const {
  impl_->open_population(population);
  const std::string path = "/populations/" + population + "/state/" + variable;
  TraceState state;
  state.values = impl_->read_vector<float>(path, H5T_NATIVE_FLOAT);
  const Handle dataset = impl_->open(path, H5Dclose, H5Dopen2, "dataset '" + path + "'");
  state.unit = impl_->read_string(dataset.get(), "unit");
  state.interval_steps =
      impl_->read_scalar<std::uint64_t>(dataset.get(), "interval_steps", H5T_NATIVE_UINT64);
  const Handle attribute = impl_->open_attribute(dataset.get(), "neurons");
  const Handle space(H5Aget_space(attribute.get()), H5Sclose);
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  state.neurons.resize(count > 0 ? static_cast<std::size_t>(count) : 0);
  if (!state.neurons.empty() &&
      H5Aread(attribute.get(), H5T_NATIVE_UINT32, state.neurons.data()) < 0) {
    impl_->fail("cannot read the neuron list of '" + path + "'");
  }
  state.samples = state.neurons.empty() ? 0 : state.values.size() / state.neurons.size();
  return state;
}

}  // namespace snnsim
