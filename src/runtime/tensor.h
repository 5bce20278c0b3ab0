#pragma once

// A small value type over one ONNX Runtime tensor, so that code above src/runtime/ never sees
// ONNX Runtime's headers. A Tensor owns its OrtValue; moving it hands the buffer on without a
// copy, which is how a decoder step's `present.*` outputs become the next step's past.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

struct OrtValue;

namespace opusrt::runtime {

enum class ElementType { kUndefined, kFloat32, kFloat16, kInt64, kInt32, kBool, kOther };

std::string to_string(ElementType type);
size_t element_size(ElementType type);

class Tensor {
 public:
  Tensor() = default;
  // Takes ownership of a value ONNX Runtime returned.
  explicit Tensor(OrtValue* value);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  // A zero-filled tensor allocated by ONNX Runtime's CPU allocator.
  static Tensor zeros(ElementType type, std::span<const int64_t> shape);
  static Tensor from_int64(std::span<const int64_t> shape, std::span<const int64_t> values);
  static Tensor from_float(std::span<const int64_t> shape, std::span<const float> values);
  static Tensor from_bool(std::span<const int64_t> shape, std::span<const bool> values);
  // A deep copy (used where a buffer must outlive the value it came from).
  Tensor clone() const;

  bool empty() const { return value_ == nullptr; }
  ElementType type() const;
  std::vector<int64_t> shape() const;
  size_t element_count() const;

  template <typename T>
  T* data();
  template <typename T>
  const T* data() const;
  // The values as float32 whatever the element type (float16 is widened), for logits.
  std::vector<float> to_float_vector() const;

  OrtValue* get() const { return value_.get(); }

 private:
  struct Release {
    void operator()(OrtValue* value) const noexcept;
  };
  void* raw_data() const;
  std::unique_ptr<OrtValue, Release> value_;
};

template <typename T>
T* Tensor::data() {
  return static_cast<T*>(raw_data());
}
template <typename T>
const T* Tensor::data() const {
  return static_cast<const T*>(raw_data());
}

std::string shape_to_string(std::span<const int64_t> shape);

// A new tensor whose row i (along axis 0) is row rows[i] of `source`: the one copy a beam
// reorder or a batch shrink costs. Any element type; rows may repeat.
Tensor gather_rows(const Tensor& source, std::span<const int64_t> rows);

}  // namespace opusrt::runtime
