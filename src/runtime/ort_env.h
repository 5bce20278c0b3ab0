#pragma once

// The process-wide ONNX Runtime environment: the one piece of global state opusrt keeps,
// created on first use and shared by every session.
#include <onnxruntime_cxx_api.h>

namespace opusrt::runtime {

Ort::Env& ort_env();
OrtAllocator* cpu_allocator();
const OrtMemoryInfo* cpu_memory_info();

}  // namespace opusrt::runtime
