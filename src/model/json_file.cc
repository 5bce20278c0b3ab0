#include "model/json_file.h"

#include <fstream>

#include "opusrt/error.h"

namespace opusrt {

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open file");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": invalid JSON: " + e.what());
  }
}

JsonFields::JsonFields(const nlohmann::json& object, std::string file_name)
    : object_(object), file_name_(std::move(file_name)) {
  if (!object_.is_object()) throw Error(file_name_ + ": expected a JSON object at the top level");
}

void JsonFields::fail(const std::string& field, const std::string& problem) const {
  throw Error(file_name_ + ": field '" + field + "' " + problem);
}

bool JsonFields::has(const std::string& field) const {
  auto it = object_.find(field);
  return it != object_.end() && !it->is_null();
}

const nlohmann::json& JsonFields::raw(const std::string& field) const {
  if (!has(field)) fail(field, "is missing");
  return object_.at(field);
}

int64_t JsonFields::require_int(const std::string& field) const {
  std::optional<int64_t> value = optional_int(field);
  if (!value) fail(field, "is missing");
  return *value;
}

std::optional<int64_t> JsonFields::optional_int(const std::string& field) const {
  if (!has(field)) return std::nullopt;
  const nlohmann::json& value = object_.at(field);
  if (!value.is_number_integer()) fail(field, "must be an integer, got " + value.dump());
  return value.get<int64_t>();
}

std::optional<double> JsonFields::optional_number(const std::string& field) const {
  if (!has(field)) return std::nullopt;
  const nlohmann::json& value = object_.at(field);
  if (!value.is_number()) fail(field, "must be a number, got " + value.dump());
  return value.get<double>();
}

std::optional<bool> JsonFields::optional_bool(const std::string& field) const {
  if (!has(field)) return std::nullopt;
  const nlohmann::json& value = object_.at(field);
  if (!value.is_boolean()) fail(field, "must be true or false, got " + value.dump());
  return value.get<bool>();
}

std::optional<std::string> JsonFields::optional_string(const std::string& field) const {
  if (!has(field)) return std::nullopt;
  const nlohmann::json& value = object_.at(field);
  if (!value.is_string()) fail(field, "must be a string, got " + value.dump());
  return value.get<std::string>();
}

}  // namespace opusrt
