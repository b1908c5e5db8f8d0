#pragma once
// The JSON cursor the network-file readers share: a value with its JSON pointer, so that every
// error names the file and the place in it ("net.json: /nodes/conv1/stride: expected ...").
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "networks/network_file.h"
#include "networks/quantity.h"

namespace snnsim {

using nlohmann::json;

/// Parses `text`; a syntax error becomes a NetworkFileError naming the line and column, and a key
/// that appears twice in one object one naming its line and JSON pointer (nlohmann would keep
/// the last silently).
json parse_json(std::string_view text, const std::string& source_name);

/// `key` as a JSON pointer token ("a/b" -> "a~1b", RFC 6901).
inline std::string json_pointer_token(const std::string& key) {
  std::string escaped;
  for (char ch : key)
    escaped += ch == '~' ? "~0" : ch == '/' ? "~1" : std::string(1, ch);
  return escaped;
}

inline std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out;
}

inline std::string describe_json_type(const json& value) {
  if (value.is_object()) return "an object";
  if (value.is_array()) return "an array";
  if (value.is_string()) return "the string " + value.dump();
  if (value.is_boolean()) return "a boolean";
  if (value.is_null()) return "null";
  return "the number " + value.dump();
}

/// A value of the network file with its JSON pointer, for errors that say where.
class Node {
 public:
  Node(const json& value, std::string pointer, const std::string& source,
       const ParameterScope& scope)
      : value_(value), pointer_(std::move(pointer)), source_(source), scope_(scope) {}

  const json& value() const { return value_; }
  const std::string& pointer() const { return pointer_; }
  std::string where() const { return source_ + ": " + (pointer_.empty() ? "/" : pointer_); }

  [[noreturn]] void fail(const std::string& what) const {
    throw NetworkFileError(where() + ": " + what);
  }

  void require_object() const {
    if (!value_.is_object()) fail("expected an object; found " + describe_json_type(value_));
  }
  void require_array() const {
    if (!value_.is_array()) fail("expected an array; found " + describe_json_type(value_));
  }

  /// Rejects keys outside `allowed` (a misspelled key is an error, never ignored).
  void allow_keys(std::initializer_list<std::string_view> allowed) const {
    allow_keys(std::span(allowed.begin(), allowed.size()));
  }
  void allow_keys(std::span<const std::string_view> allowed) const {
    require_object();
    for (const auto& [key, unused] : value_.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::vector<std::string> names(allowed.begin(), allowed.end());
      child_pointer_node(key).fail("unknown key '" + key + "'; expected one of: " + join(names));
    }
  }

  bool has(const std::string& key) const { return value_.is_object() && value_.contains(key); }

  Node at(const std::string& key) const {
    require_object();
    if (!value_.contains(key)) fail("missing required key '" + key + "'");
    return child_pointer_node(key);
  }

  Node operator[](std::size_t index) const {
    return Node(value_[index], pointer_ + "/" + std::to_string(index), source_, scope_);
  }
  std::size_t size() const { return value_.size(); }

  std::string string() const {
    if (!value_.is_string()) fail("expected a string; found " + describe_json_type(value_));
    return value_.get<std::string>();
  }

  bool boolean() const {
    if (!value_.is_boolean()) fail("expected true or false; found " + describe_json_type(value_));
    return value_.get<bool>();
  }

  double quantity(Dimension dimension) const {
    try {
      return parse_quantity(value_, dimension, scope_);
    } catch (const QuantityError& error) {
      fail(error.what());
    }
  }

  /// A whole number in [minimum, maximum], written as a number or an expression.
  std::uint64_t whole_number(std::uint64_t minimum, std::uint64_t maximum,
                             std::string_view what) const {
    const double x = quantity(Dimension::dimensionless);
    if (x != std::floor(x) || x < static_cast<double>(minimum) ||
        x > static_cast<double>(maximum)) {
      std::ostringstream message;
      message << "expected " << what << ", a whole number from " << minimum << " to " << maximum
              << "; found " << x;
      fail(message.str());
    }
    return static_cast<std::uint64_t>(x);
  }

  /// One of `choices`, as a string.
  std::size_t choice(const std::vector<std::string>& choices) const {
    const std::string text = string();
    const auto found = std::find(choices.begin(), choices.end(), text);
    if (found == choices.end())
      fail("expected one of: " + join(choices) + "; found \"" + text + "\"");
    return static_cast<std::size_t>(found - choices.begin());
  }

 private:
  Node child_pointer_node(const std::string& key) const {
    return Node(value_.at(key), pointer_ + "/" + json_pointer_token(key), source_, scope_);
  }

  const json& value_;
  std::string pointer_;
  const std::string& source_;
  const ParameterScope& scope_;
};

/// Names become HDF5 group names and command-line arguments: keep them plain.
inline void check_name(const Node& node, const std::string& name) {
  const bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.';
  });
  if (!plain)
    node.fail("expected a name of letters, digits, '_', '-' or '.'; found \"" + name + "\"");
}

/// Checks "format", "version" and "kind" (absent means "population"); a file of the other kind
/// is pointed to the command that runs it.
inline void check_format(const Node& top, std::string_view kind) {
  if (top.at("format").string() != "snnsim-network") {
    top.at("format").fail("expected \"snnsim-network\"");
  }
  if (top.at("version").value() != 1) top.at("version").fail("expected 1, the only version so far");
  const std::string found = top.has("kind") ? top.at("kind").string() : "population";
  if (found == kind) return;
  if (found == "layer_graph") top.at("kind").fail("a layer graph: run it with snnsim infer");
  if (found == "population") top.fail("a population network: run it with snnsim run");
  top.at("kind").fail("expected \"population\" or \"layer_graph\"; found \"" + found + "\"");
}

}  // namespace snnsim
