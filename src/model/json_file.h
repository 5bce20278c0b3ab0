#pragma once

// Reading typed fields out of a model's JSON files, with errors that name the file and field.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace opusrt {

nlohmann::json read_json_file(const std::filesystem::path& path);

class JsonFields {
 public:
  JsonFields(const nlohmann::json& object, std::string file_name);

  bool has(const std::string& field) const;
  int64_t require_int(const std::string& field) const;
  std::optional<int64_t> optional_int(const std::string& field) const;
  std::optional<double> optional_number(const std::string& field) const;
  std::optional<bool> optional_bool(const std::string& field) const;
  std::optional<std::string> optional_string(const std::string& field) const;
  const nlohmann::json& raw(const std::string& field) const;  // the field, known to be present
  [[noreturn]] void fail(const std::string& field, const std::string& problem) const;

 private:
  const nlohmann::json& object_;
  std::string file_name_;
};

}  // namespace opusrt
