#include "networks/json_node.h"

namespace snnsim {

json parse_json(const std::string& text, const std::string& source_name) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& error) {
    // nlohmann's message names the byte; add the line and column a person needs.
    const std::size_t byte = std::min<std::size_t>(error.byte, text.size());
    const std::size_t line = 1 + std::count(text.begin(), text.begin() + byte, '\n');
    const std::size_t column = byte - text.rfind('\n', byte == 0 ? 0 : byte - 1);
    std::string reason = error.what();
    if (const auto at = reason.find("parse error"); at != std::string::npos)
      reason = reason.substr(at);
    throw NetworkFileError(source_name + ":" + std::to_string(line) + ":" + std::to_string(column) +
                           ": not valid JSON: " + reason);
  }
}

}  // namespace snnsim
