// Reader and writer for NumPy's .npy format
// (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
#include "networks/npy.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "networks/raw_numbers.h"
#include "sim/one_line.h"

namespace snnsim {
namespace {

// .npy stores the bytes of the array as they are; big-endian dtypes are refused and the
// little-endian ones copied directly (networks/raw_numbers.h).

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr const char* kSupported =
    "'<f2', '<f4', '<f8', '|i1', '<i2', '<i4', '<i8', '|u1', '<u2', '<u4', '<u8' or '|b1'";

struct Dtype {
  NumberKind kind;
  std::size_t size;
};

std::string format_shape(const std::vector<std::size_t>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + (shape.size() == 1 ? ",)" : ")");
}

/// Reasons for refusing a file, thrown by the header parsing below and given a path by read_npy.
struct Malformed {
  std::string reason;
};
struct Unsupported {
  std::string reason;
};

struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<std::size_t> shape;
};

/// Parses the header, a Python dict literal such as
/// "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }". Throws Malformed or
/// Unsupported.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  Header parse() {
    Header header;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (!accept('}')) {
      const std::string key = parse_string("a quoted key");
      expect(':');
      bool* seen = nullptr;
      if (key == "descr") {
        seen = &seen_descr;
        if (peek() == '[') throw Unsupported{"structured arrays (record dtypes) are not supported"};
        header.descr = parse_string("a dtype string for 'descr'");
      } else if (key == "fortran_order") {
        seen = &seen_order;
        header.fortran_order = parse_bool();
      } else if (key == "shape") {
        seen = &seen_shape;
        header.shape = parse_shape();
      } else {
        throw Malformed{"unexpected key '" + one_line(key) + "'"};
      }
      if (*seen) throw Malformed{"key '" + one_line(key) + "' appears twice"};
      *seen = true;
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) throw Malformed{"unexpected text after the closing '}'"};
    if (!seen_descr) throw Malformed{"no 'descr' key"};
    if (!seen_order) throw Malformed{"no 'fortran_order' key"};
    if (!seen_shape) throw Malformed{"no 'shape' key"};
    return header;
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && std::strchr(" \t\r\n", text_[pos_]) != nullptr)
      ++pos_;
  }
  char peek() {
    skip_space();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  bool accept(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!accept(c))
      throw Malformed{std::string("expected '") + c + "' at offset " + std::to_string(pos_)};
  }
  std::string parse_string(const char* what) {
    const char quote = peek();
    if (quote != '\'' && quote != '"') throw Malformed{std::string("expected ") + what};
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) throw Malformed{"unterminated string"};
    std::string value(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return value;
  }
  bool parse_bool() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (text_.substr(pos_).starts_with(word)) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    throw Malformed{"expected True or False for 'fortran_order'"};
  }
  std::vector<std::size_t> parse_shape() {
    std::vector<std::size_t> shape;
    expect('(');
    while (!accept(')')) {
      skip_space();
      std::size_t dimension = 0;
      const std::size_t start = pos_;
      for (; pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9'; ++pos_) {
        const std::size_t digit = text_[pos_] - '0';
        if (dimension > (std::numeric_limits<std::size_t>::max() - digit) / 10)
          throw Unsupported{"impossible array size: a dimension of 'shape' is too large"};
        dimension = dimension * 10 + digit;
      }
      if (pos_ == start) throw Malformed{"expected a tuple of non-negative integers for 'shape'"};
      accept('L');  // written by Python 2
      shape.push_back(dimension);
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

/// The dtype named by `descr`; throws Unsupported.
Dtype parse_dtype(const std::string& descr) {
  // Appended, not "'" + one_line(descr): g++ 12 gives a false -Wrestrict for that temporary.
  const std::string quoted = std::string("'").append(one_line(descr)).append("'");
  const Unsupported unsupported{"unsupported dtype " + quoted + " (expected " + kSupported + ")"};
  if (descr.size() < 2) throw unsupported;
  const char order = descr[0];
  const char kind = descr[1];
  if (kind == 'O') throw Unsupported{"object arrays are not supported"};
  const std::string size_text = descr.substr(2);
  NumberKind k;
  if (kind == 'f' && (size_text == "2" || size_text == "4" || size_text == "8")) {
    k = NumberKind::floating;
  } else if (kind == 'i' &&
             (size_text == "1" || size_text == "2" || size_text == "4" || size_text == "8")) {
    k = NumberKind::signed_integer;
  } else if (kind == 'u' &&
             (size_text == "1" || size_text == "2" || size_text == "4" || size_text == "8")) {
    k = NumberKind::unsigned_integer;
  } else if (kind == 'b' && size_text == "1") {
    k = NumberKind::boolean;
  } else {
    throw unsupported;
  }
  const Dtype type{k, static_cast<std::size_t>(size_text[0] - '0')};
  // One-byte values have no byte order, so every marker means the same for them.
  if (type.size == 1 && std::strchr("<>=|", order) != nullptr) return type;
  if (order == '>') {
    throw Unsupported{"big-endian dtype " + quoted +
                      " is not supported; convert with arr.astype('<" + descr.substr(1) + "')"};
  }
  if (order != '<' && order != '=') throw unsupported;
  return type;
}

}  // namespace

NpyArray read_npy(const std::filesystem::path& path) {
  const auto fail = [&](const std::string& reason) {
    return NpyError(path.string() + ": " + reason);
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) throw fail(std::filesystem::exists(path) ? "cannot open for reading" : "no such file");
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);

  unsigned char prefix[12] = {};
  in.read(reinterpret_cast<char*>(prefix), 8);
  if (in.gcount() < 8 || std::string_view(reinterpret_cast<char*>(prefix), 6) != kMagic)
    throw fail("not an .npy file (it does not start with the magic string \"\\x93NUMPY\")");
  const int major = prefix[6], minor = prefix[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    throw fail("unsupported .npy format version " + std::to_string(major) + "." +
               std::to_string(minor) + " (expected 1.0, 2.0 or 3.0)");
  }
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  in.read(reinterpret_cast<char*>(prefix + 8), static_cast<std::streamsize>(length_bytes));
  if (static_cast<std::size_t>(in.gcount()) < length_bytes)
    throw fail("malformed header: the file ends inside the header length");
  const std::uint64_t header_length =
      major == 1 ? load_raw<std::uint16_t>(prefix + 8) : load_raw<std::uint32_t>(prefix + 8);
  const std::uint64_t data_offset = 8 + length_bytes + header_length;
  if (data_offset > file_size) {
    throw fail("malformed header: it should be " + std::to_string(header_length) +
               " bytes long but the file holds only " +
               std::to_string(file_size - 8 - length_bytes) + " bytes of it");
  }
  std::string text(header_length, '\0');
  in.read(text.data(), static_cast<std::streamsize>(header_length));

  Header header;
  Dtype type{};
  try {
    header = HeaderParser(text).parse();
    type = parse_dtype(header.descr);
  } catch (const Malformed& m) {
    throw fail("malformed header: " + m.reason +
               " (expected a Python dict with 'descr', 'fortran_order' and 'shape')");
  } catch (const Unsupported& u) {
    throw fail(u.reason);
  }
  if (header.fortran_order)
    throw fail("Fortran-order arrays are not supported; save with np.ascontiguousarray");

  std::size_t count = 1;
  for (std::size_t dimension : header.shape) {
    if (__builtin_mul_overflow(count, dimension, &count))
      throw fail("impossible array size: shape " + format_shape(header.shape) + " overflows");
  }
  std::size_t expected = 0;
  if (__builtin_mul_overflow(count, type.size, &expected)) {
    throw fail("impossible array size: shape " + format_shape(header.shape) + " of '" +
               header.descr + "' overflows");
  }
  const std::uint64_t found = file_size - data_offset;
  if (found != expected) {
    const std::string sizes = "expected " + std::to_string(expected) + " bytes for shape " +
                              format_shape(header.shape) + " of '" + header.descr + "', found " +
                              std::to_string(found);
    throw fail(found < expected ? "data is truncated: " + sizes
                                : "extra bytes after the data: " + sizes);
  }

  NpyArray array{header.shape, std::vector<float>(count)};
  std::vector<unsigned char> bytes(expected);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(expected));
  if (static_cast<std::size_t>(in.gcount()) != expected) throw fail("read error in the data");
  for (std::size_t i = 0; i < count; ++i)
    array.values[i] = number_to_float(bytes.data() + i * type.size, type.kind, type.size);
  return array;
}

void write_npy(const std::filesystem::path& path, const std::vector<std::size_t>& shape,
               std::span<const float> values) {
  std::size_t count = 1;
  for (std::size_t dimension : shape)
    count *= dimension;
  if (count != values.size()) {
    throw NpyError(path.string() + ": shape " + format_shape(shape) + " holds " +
                   std::to_string(count) + " values but " + std::to_string(values.size()) +
                   " were given");
  }
  std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': " + format_shape(shape) + ", }";
  // Pads so that the data starts on a 64-byte boundary, as NumPy does; the header ends in '\n'.
  const std::size_t unpadded = kMagic.size() + 4 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  if (header.size() > std::numeric_limits<std::uint16_t>::max())
    throw NpyError(path.string() + ": shape " + format_shape(shape) + " is too long for a header");

  std::filesystem::path partial = path;
  partial += ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    const auto length = static_cast<std::uint16_t>(header.size());
    const char version[2] = {1, 0};
    out.write(kMagic.data(), static_cast<std::streamsize>(kMagic.size()));
    out.write(version, 2);
    out.write(reinterpret_cast<const char*>(&length), 2);
    out << header;
    out.write(reinterpret_cast<const char*>(values.data()),
              static_cast<std::streamsize>(values.size_bytes()));
    out.close();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(partial, ignored);
      throw NpyError(path.string() + ": cannot write " + partial.string());
    }
  }
  std::error_code error;
  std::filesystem::rename(partial, path, error);
  if (error) {
    std::filesystem::remove(partial, error);
    throw NpyError(path.string() + ": cannot rename " + partial.string() + " into place");
  }
}

}  // namespace snnsim
