// Memory-mapped reader for safetensors files: an 8-byte little-endian header length N, N bytes of
// JSON describing each tensor, then the data buffer.
#include "networks/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <tuple>
#include <utility>

#include "networks/json_node.h"
#include "networks/raw_numbers.h"
#include "sim/atomic_write.h"

namespace snnsim {
namespace {

struct DtypeInfo {
  const char* name;
  std::size_t size;
  NumberKind kind;
  bool convertible = true;
};

// Every byte-sized dtype of the format is known, so that offsets can be validated for all of
// them; the 8-bit float formats are refused only when read.
constexpr DtypeInfo kDtypes[] = {
    {"BOOL", 1, NumberKind::boolean},
    {"U8", 1, NumberKind::unsigned_integer},
    {"I8", 1, NumberKind::signed_integer},
    {"F8_E5M2", 1, NumberKind::floating, false},
    {"F8_E4M3", 1, NumberKind::floating, false},
    {"I16", 2, NumberKind::signed_integer},
    {"U16", 2, NumberKind::unsigned_integer},
    {"F16", 2, NumberKind::floating},
    {"BF16", 2, NumberKind::brain_float},
    {"I32", 4, NumberKind::signed_integer},
    {"U32", 4, NumberKind::unsigned_integer},
    {"F32", 4, NumberKind::floating},
    {"I64", 8, NumberKind::signed_integer},
    {"U64", 8, NumberKind::unsigned_integer},
    {"F64", 8, NumberKind::floating},
};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const DtypeInfo& d : kDtypes) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

std::string supported_dtypes(bool convertible_only) {
  std::string list;
  for (const DtypeInfo& d : kDtypes) {
    if (convertible_only && !d.convertible) continue;
    list += (list.empty() ? "" : ", ") + std::string(d.name);
  }
  return list;
}

/// A non-negative JSON integer; throws std::string naming `what` otherwise.
std::uint64_t unsigned_integer(const nlohmann::json& value, const std::string& what) {
  if (!value.is_number_unsigned()) throw what + " must be non-negative integers";
  return value.get<std::uint64_t>();
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : path_(path) {
  const std::string where = path.string() + ": ";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw SafetensorsError(where + "cannot open (" + std::strerror(errno) + ")");
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    throw SafetensorsError(where + "cannot read its size (" + std::strerror(error) + ")");
  }
  const auto file_size = static_cast<std::uint64_t>(info.st_size);
  if (file_size < 8) {
    ::close(fd);
    throw SafetensorsError(where + "not a safetensors file (" + std::to_string(file_size) +
                           " bytes, too short for the 8-byte header length)");
  }
  mapping_ = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int error = errno;
  ::close(fd);  // the mapping stays valid without the descriptor
  if (mapping_ == MAP_FAILED) {
    mapping_ = nullptr;
    throw SafetensorsError(where + "cannot map into memory (" + std::strerror(error) + ")");
  }
  mapping_size_ = file_size;
  // The destructor does not run when the constructor throws, so the mapping is released here.
  try {
    const auto* bytes = static_cast<const unsigned char*>(mapping_);
    const auto header_length = load_raw<std::uint64_t>(bytes);
    if (header_length > file_size - 8) {
      throw SafetensorsError(where + "header length " + std::to_string(header_length) +
                             " goes beyond the end of the file (" + std::to_string(file_size) +
                             " bytes); is this a safetensors file?");
    }
    data_ = bytes + 8 + header_length;
    const std::uint64_t buffer_size = file_size - 8 - header_length;

    nlohmann::json header;
    try {
      header = parse_json(std::string_view(reinterpret_cast<const char*>(bytes + 8), header_length),
                          path.string() + ": JSON header");
    } catch (const NetworkFileError& error) {
      throw SafetensorsError(error.what());
    }
    if (!header.is_object()) throw SafetensorsError(where + "header is not a JSON object");

    std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>> extents;
    for (const auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        if (!entry.is_object())
          throw SafetensorsError(where + "'__metadata__' is not an object of strings");
        for (const auto& [key, value] : entry.items()) {
          if (!value.is_string())
            throw SafetensorsError(where + "'__metadata__' entry '" + key + "' is not a string");
          metadata_[key] = value.get<std::string>();
        }
        continue;
      }
      const std::string tensor_where = where + "tensor '" + name + "': ";
      try {
        if (!entry.is_object()) throw std::string("is not an object");
        for (const char* key : {"dtype", "shape", "data_offsets"}) {
          if (!entry.contains(key)) throw std::string("no '") + key + "'";
        }
        Tensor tensor;
        if (!entry["dtype"].is_string()) throw std::string("'dtype' is not a string");
        tensor.dtype = entry["dtype"].get<std::string>();
        const DtypeInfo* type = find_dtype(tensor.dtype);
        if (type == nullptr) {
          throw "unknown dtype '" + tensor.dtype + "' (expected one of " + supported_dtypes(false) +
              ")";
        }
        if (!entry["shape"].is_array()) throw std::string("'shape' is not an array");
        std::uint64_t expected = type->size;
        for (const nlohmann::json& dimension : entry["shape"]) {
          tensor.shape.push_back(unsigned_integer(dimension, "'shape' entries"));
          if (__builtin_mul_overflow(expected, tensor.shape.back(), &expected))
            throw std::string("impossible size: the shape's product overflows");
        }
        const nlohmann::json& offsets = entry["data_offsets"];
        if (!offsets.is_array() || offsets.size() != 2)
          throw std::string("'data_offsets' is not a pair [begin, end]");
        tensor.begin = unsigned_integer(offsets[0], "'data_offsets'");
        tensor.end = unsigned_integer(offsets[1], "'data_offsets'");
        const std::string range = std::string("[") + std::to_string(tensor.begin) + ", " +
                                  std::to_string(tensor.end) + "]";
        if (tensor.begin > tensor.end) throw "data_offsets " + range + " end before they begin";
        if (tensor.end > buffer_size) {
          throw "data_offsets " + range + " go beyond the data buffer (" +
              std::to_string(buffer_size) + " bytes; truncated file?)";
        }
        if (tensor.end - tensor.begin != expected) {
          throw "data_offsets " + range + " hold " + std::to_string(tensor.end - tensor.begin) +
              " bytes but dtype " + tensor.dtype + " and the shape need " +
              std::to_string(expected);
        }
        extents.emplace_back(tensor.begin, tensor.end, name);
        tensors_.emplace(name, std::move(tensor));
      } catch (const std::string& reason) {
        throw SafetensorsError(tensor_where + reason);
      }
    }
    std::sort(extents.begin(), extents.end());
    for (std::size_t i = 1; i < extents.size(); ++i) {
      const auto& [begin, end, name] = extents[i];
      const auto& [previous_begin, previous_end, previous] = extents[i - 1];
      if (begin < previous_end) {
        throw SafetensorsError(
            where + "tensor '" + name + "': data_offsets [" + std::to_string(begin) + ", " +
            std::to_string(end) + "] overlap those of tensor '" + previous + "' [" +
            std::to_string(previous_begin) + ", " + std::to_string(previous_end) + "]");
      }
    }
  } catch (...) {
    unmap();
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  unmap();
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& other) noexcept
    : path_(std::move(other.path_)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      mapping_size_(std::exchange(other.mapping_size_, 0)),
      data_(std::exchange(other.data_, nullptr)),
      tensors_(std::move(other.tensors_)),
      metadata_(std::move(other.metadata_)) {}

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& other) noexcept {
  if (this != &other) {
    unmap();
    path_ = std::move(other.path_);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_size_ = std::exchange(other.mapping_size_, 0);
    data_ = std::exchange(other.data_, nullptr);
    tensors_ = std::move(other.tensors_);
    metadata_ = std::move(other.metadata_);
  }
  return *this;
}

void SafetensorsFile::unmap() noexcept {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
  mapping_ = nullptr;
  mapping_size_ = 0;
  data_ = nullptr;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : tensors_)
    names.push_back(name);
  return names;
}

bool SafetensorsFile::contains(const std::string& name) const {
  return tensors_.contains(name);
}

const SafetensorsFile::Tensor& SafetensorsFile::find(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it != tensors_.end()) return it->second;
  constexpr std::size_t kListed = 10;
  std::string listing;
  std::size_t listed = 0;
  for (const auto& [other, tensor] : tensors_) {
    if (listed++ == kListed) {
      listing += ", ... (" + std::to_string(tensors_.size()) + " in all)";
      break;
    }
    listing += (listing.empty() ? "" : ", ") + other;
  }
  throw SafetensorsError(
      path_.string() + ": no tensor '" + name + "' (" +
      (tensors_.empty() ? "the file has no tensors" : "the file has: " + listing) + ")");
}

std::vector<std::size_t> SafetensorsFile::shape(const std::string& name) const {
  return find(name).shape;
}

std::string SafetensorsFile::dtype(const std::string& name) const {
  return find(name).dtype;
}

std::vector<float> SafetensorsFile::read_float(const std::string& name) const {
  const Tensor& tensor = find(name);
  const DtypeInfo& type = *find_dtype(tensor.dtype);
  if (!type.convertible) {
    throw SafetensorsError(path_.string() + ": tensor '" + name + "': dtype " + tensor.dtype +
                           " cannot be converted to float32 (supported: " + supported_dtypes(true) +
                           ")");
  }
  const std::size_t count = (tensor.end - tensor.begin) / type.size;
  std::vector<float> values(count);
  const unsigned char* bytes = data_ + tensor.begin;
  for (std::size_t i = 0; i < count; ++i)
    values[i] = number_to_float(bytes + i * type.size, type.kind, type.size);
  return values;
}

std::map<std::string, std::string> SafetensorsFile::metadata() const {
  return metadata_;
}

void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, SafetensorsTensor>>& tensors) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const std::uint64_t bytes = tensor.values.size() * sizeof(float);
    header[name] = {
        {"dtype", "F32"}, {"shape", tensor.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::uint64_t length = text.size();
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i)
    file[i] = static_cast<char>(length >> (8 * i));
  file += text;
  for (const auto& [name, tensor] : tensors)
    file.append(reinterpret_cast<const char*>(tensor.values.data()),
                tensor.values.size() * sizeof(float));
  write_text_atomically(path, file);
}

}  // namespace snnsim
