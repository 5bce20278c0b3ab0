#include "runtime/ort_env.h"

namespace opusrt::runtime {

Ort::Env& ort_env() {
  // ORT_LOGGING_LEVEL_ERROR: ONNX Runtime's warnings about unused initializers and inputs of the
  // merged decoder are expected and would only confuse users.
  static Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "opusrt");
  return env;
}

OrtAllocator* cpu_allocator() {
  static Ort::AllocatorWithDefaultOptions allocator;
  return allocator;
}

const OrtMemoryInfo* cpu_memory_info() {
  static Ort::MemoryInfo info = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  return info;
}

}  // namespace opusrt::runtime
