#pragma once

// Where the tests find their data. The ctest fixture `generate_fixtures` writes the project's
// own models and references into OPUSRT_FIXTURES_DIR; ../shared/models is optional.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_paths.h"

namespace opusrt::test {

// An environment variable of that name overrides the path CMake compiled in.
inline std::filesystem::path env_path(const char* name) {
  const char* value = std::getenv(name);
  if (value != nullptr && *value != '\0') return value;
  const std::string key = name;
  if (key == "OPUSRT_FIXTURES_DIR") return OPUSRT_TEST_FIXTURES_DIR;
  if (key == "OPUSRT_SHARED_MODELS_DIR") return OPUSRT_TEST_SHARED_MODELS_DIR;
  if (key == "OPUSRT_CLI") return OPUSRT_TEST_CLI;
  if (key == "OPUSRT_SOURCE_DIR") return OPUSRT_TEST_SOURCE_DIR;
  ADD_FAILURE() << "unknown test path " << name;
  return {};
}

// The tiny fixture model (Optimum layout) with reference.json + reference_logits.f32.
inline std::filesystem::path tiny_model_dir() { return env_path("OPUSRT_FIXTURES_DIR") / "tiny"; }

// The same weights in the Xenova layout (onnx/ subfolder).
inline std::filesystem::path tiny_xenova_dir() { return env_path("OPUSRT_FIXTURES_DIR") / "tiny-xenova"; }

inline std::filesystem::path fixtures_dir() { return env_path("OPUSRT_FIXTURES_DIR"); }

// ../shared/models/marian-tiny when present; tests that need it GTEST_SKIP() otherwise.
inline std::optional<std::filesystem::path> shared_marian_tiny() {
  std::filesystem::path dir = env_path("OPUSRT_SHARED_MODELS_DIR") / "marian-tiny";
  if (!std::filesystem::exists(dir / "reference.json")) return std::nullopt;
  return dir;
}

#define OPUSRT_REQUIRE_SHARED_MODEL(var)                                                        \
  auto var##_opt = ::opusrt::test::shared_marian_tiny();                                        \
  if (!var##_opt) GTEST_SKIP() << "../shared/models/marian-tiny not present: conformance skipped"; \
  const std::filesystem::path var = *var##_opt

// A copy of a model directory (its top level) in which the only graphs are those of `variant`
// (*_<variant>.onnx): loading it without that variant fails.
inline void copy_with_only_variant(const std::filesystem::path& from, const std::filesystem::path& to,
                                   const std::string& variant) {
  std::filesystem::create_directories(to);
  const std::string suffix = "_" + variant + ".onnx";
  for (const auto& entry : std::filesystem::directory_iterator(from)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file()) continue;
    if (name.ends_with(".onnx") && !name.ends_with(suffix)) continue;
    std::filesystem::copy_file(entry.path(), to / name, std::filesystem::copy_options::overwrite_existing);
  }
}

// A model directory's reference.json (the generated fixtures' and the shared one's).
inline nlohmann::json read_reference_json(const std::filesystem::path& dir) {
  std::ifstream in(dir / "reference.json");
  if (!in) ADD_FAILURE() << "missing " << (dir / "reference.json");
  return nlohmann::json::parse(in);
}

}  // namespace opusrt::test
