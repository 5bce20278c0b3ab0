#pragma once

// Where the tests find their data. The ctest fixture `generate_fixtures` writes the project's
// own models and references into OPUSRT_FIXTURES_DIR; ../shared/models is optional.
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace opusrt::test {

inline std::filesystem::path env_path(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    ADD_FAILURE() << "environment variable " << name << " is not set (run the tests through ctest)";
    return {};
  }
  return value;
}

// The tiny fixture model (Optimum layout) with reference.json + reference_logits.f32.
inline std::filesystem::path tiny_model_dir() { return env_path("OPUSRT_FIXTURES_DIR") / "tiny"; }

// The same weights in the Xenova layout (onnx/ subfolder).
inline std::filesystem::path tiny_xenova_dir() { return env_path("OPUSRT_FIXTURES_DIR") / "tiny-xenova"; }

inline std::filesystem::path fixtures_dir() { return env_path("OPUSRT_FIXTURES_DIR"); }

// ../shared/models/marian-tiny when present; tests that need it GTEST_SKIP() otherwise.
inline std::optional<std::filesystem::path> shared_marian_tiny() {
  const char* value = std::getenv("OPUSRT_SHARED_MODELS_DIR");
  if (value == nullptr) return std::nullopt;
  std::filesystem::path dir = std::filesystem::path(value) / "marian-tiny";
  if (!std::filesystem::exists(dir / "reference.json")) return std::nullopt;
  return dir;
}

#define OPUSRT_REQUIRE_SHARED_MODEL(var)                                                        \
  auto var##_opt = ::opusrt::test::shared_marian_tiny();                                        \
  if (!var##_opt) GTEST_SKIP() << "../shared/models/marian-tiny not present: conformance skipped"; \
  const std::filesystem::path var = *var##_opt

}  // namespace opusrt::test
