#include "networks/json_node.h"

#include <iterator>
#include <map>

namespace snnsim {
namespace {

/// A character iterator over the text that records the last character nlohmann's parser read,
/// so that a duplicate key can be given its line (the SAX interface is not told positions).
class TrackedCharacter {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackedCharacter(const char* at, const char** last_read) : at_(at), last_read_(last_read) {}
  reference operator*() const {
    *last_read_ = at_;
    return *at_;
  }
  TrackedCharacter& operator++() {
    ++at_;
    return *this;
  }
  bool operator==(const TrackedCharacter& other) const { return at_ == other.at_; }
  bool operator!=(const TrackedCharacter& other) const { return at_ != other.at_; }

 private:
  const char* at_;
  const char** last_read_;
};

/// Builds the document as nlohmann's parser reports it (its SAX interface), refusing a key that
/// appears twice in one object: nlohmann keeps the last silently, so a second "weight" would
/// override the first unseen.
class DocumentBuilder {
 public:
  DocumentBuilder(std::string_view text, const char* const& last_read,
                  const std::string& source_name)
      : text_(text), last_read_(last_read), source_name_(source_name) {}

  json take() { return std::move(root_); }

  bool null() { return add(nullptr); }
  bool boolean(bool value) { return add(value); }
  bool number_integer(json::number_integer_t value) { return add(value); }
  bool number_unsigned(json::number_unsigned_t value) { return add(value); }
  bool number_float(json::number_float_t value, const std::string&) { return add(value); }
  bool string(json::string_t& value) { return add(std::move(value)); }
  bool binary(json::binary_t& value) { return add(std::move(value)); }
  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& key) {
    OpenContainer& object = open_.back();
    object.key = key;
    const auto [first, inserted] = object.key_lines.emplace(key, current_line());
    if (!inserted) {
      throw NetworkFileError(source_name_ + ":" + std::to_string(line_) + ": " + pointer() +
                             ": duplicate key '" + key + "' (first on line " +
                             std::to_string(first->second) +
                             "); a key may appear only once in an object");
    }
    return true;
  }

  bool parse_error(std::size_t byte, const std::string&, const json::exception& error) {
    // nlohmann's message names the byte; add the line and column a person needs. A number
    // beyond the range of a double ("1e400") comes here too, as an out_of_range error.
    std::string reason = error.what();
    if (const auto at = reason.find("parse error"); at != std::string::npos) {
      reason = reason.substr(at);
    } else if (const auto end = reason.find("] "); end != std::string::npos) {
      reason = reason.substr(end + 2);
    }
    byte = std::min(byte, text_.size());
    const std::size_t line =
        1 + static_cast<std::size_t>(std::count(text_.begin(), text_.begin() + byte, '\n'));
    const std::size_t column = byte - text_.rfind('\n', byte == 0 ? 0 : byte - 1);
    throw NetworkFileError(source_name_ + ":" + std::to_string(line) + ":" +
                           std::to_string(column) + ": not valid JSON: " + reason);
  }

 private:
  /// An object or array being parsed, and for an object the keys seen so far with their lines.
  struct OpenContainer {
    json* value;
    std::map<std::string, std::size_t> key_lines;
    std::string key;  ///< the latest
  };

  /// Places `value` in the container being parsed (or as the document) and returns it. The
  /// containers on the stack stay where they are: nothing is added to one while a child is open.
  json* place(json value) {
    if (open_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    OpenContainer& parent = open_.back();
    if (parent.value->is_array()) {
      parent.value->push_back(std::move(value));
      return &parent.value->back();
    }
    json& slot = (*parent.value)[parent.key];
    slot = std::move(value);
    return &slot;
  }
  bool add(json value) {
    place(std::move(value));
    return true;
  }
  bool open(json container) {
    open_.push_back({place(std::move(container)), {}, {}});
    return true;
  }
  bool close() {
    open_.pop_back();
    return true;
  }

  /// The JSON pointer of the latest key.
  std::string pointer() const {
    std::string pointer;
    for (const OpenContainer& container : open_) {
      pointer += '/';
      pointer += container.value->is_object() ? json_pointer_token(container.key)
                                              : std::to_string(container.value->size() - 1);
    }
    return pointer;
  }

  /// The line of the last character read, counted as the parser goes (keys come in order).
  std::size_t current_line() {
    const auto offset = static_cast<std::size_t>(last_read_ - text_.data());
    line_ += static_cast<std::size_t>(
        std::count(text_.begin() + counted_, text_.begin() + offset, '\n'));
    counted_ = offset;
    return line_;
  }

  std::string_view text_;
  const char* const& last_read_;
  const std::string& source_name_;
  json root_;
  std::vector<OpenContainer> open_;
  std::size_t line_ = 1, counted_ = 0;
};

}  // namespace

json parse_json(std::string_view text, const std::string& source_name) {
  const char* last_read = text.data();
  DocumentBuilder builder(text, last_read, source_name);
  json::sax_parse(TrackedCharacter(text.data(), &last_read),
                  TrackedCharacter(text.data() + text.size(), &last_read), &builder);
  return builder.take();
}

}  // namespace snnsim
