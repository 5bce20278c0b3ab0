#include "runtime/tensor.h"

#include <cstring>
#include <sstream>

#include "opusrt/error.h"
#include "runtime/ort_env.h"

namespace opusrt::runtime {
namespace {

ONNXTensorElementDataType to_onnx(ElementType type) {
  switch (type) {
    case ElementType::kFloat32: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    case ElementType::kFloat16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
    case ElementType::kInt64: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
    case ElementType::kInt32: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    case ElementType::kBool: return ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;
    default: throw Error("cannot create a tensor of element type " + to_string(type));
  }
}

ElementType from_onnx(ONNXTensorElementDataType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return ElementType::kFloat32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return ElementType::kFloat16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return ElementType::kInt64;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return ElementType::kInt32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return ElementType::kBool;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED: return ElementType::kUndefined;
    default: return ElementType::kOther;
  }
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
    }
  } else if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

Tensor allocate(ElementType type, std::span<const int64_t> shape) {
  OrtValue* value = nullptr;
  Ort::ThrowOnError(Ort::GetApi().CreateTensorAsOrtValue(cpu_allocator(), shape.data(), shape.size(),
                                                        to_onnx(type), &value));
  return Tensor(value);
}

}  // namespace

std::string to_string(ElementType type) {
  switch (type) {
    case ElementType::kFloat32: return "float";
    case ElementType::kFloat16: return "float16";
    case ElementType::kInt64: return "int64";
    case ElementType::kInt32: return "int32";
    case ElementType::kBool: return "bool";
    case ElementType::kUndefined: return "undefined";
    case ElementType::kOther: break;
  }
  return "other";
}

size_t element_size(ElementType type) {
  switch (type) {
    case ElementType::kFloat32: return 4;
    case ElementType::kFloat16: return 2;
    case ElementType::kInt64: return 8;
    case ElementType::kInt32: return 4;
    case ElementType::kBool: return 1;
    default: throw Error("no element size for element type " + to_string(type));
  }
}

std::string shape_to_string(std::span<const int64_t> shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? "," : "") << shape[i];
  out << ']';
  return out.str();
}

Tensor::Tensor(OrtValue* value) : value_(value) {}

void Tensor::Release::operator()(OrtValue* value) const noexcept { Ort::GetApi().ReleaseValue(value); }

Tensor Tensor::zeros(ElementType type, std::span<const int64_t> shape) {
  Tensor tensor = allocate(type, shape);
  const size_t bytes = tensor.element_count() * element_size(type);
  if (bytes > 0) std::memset(tensor.raw_data(), 0, bytes);
  return tensor;
}

Tensor Tensor::from_int64(std::span<const int64_t> shape, std::span<const int64_t> values) {
  Tensor tensor = allocate(ElementType::kInt64, shape);
  if (tensor.element_count() != values.size())
    throw Error("tensor of shape " + shape_to_string(shape) + " cannot hold " + std::to_string(values.size()) +
                " values");
  if (!values.empty()) std::memcpy(tensor.raw_data(), values.data(), values.size_bytes());
  return tensor;
}

Tensor Tensor::from_float(std::span<const int64_t> shape, std::span<const float> values) {
  Tensor tensor = allocate(ElementType::kFloat32, shape);
  if (tensor.element_count() != values.size())
    throw Error("tensor of shape " + shape_to_string(shape) + " cannot hold " + std::to_string(values.size()) +
                " values");
  if (!values.empty()) std::memcpy(tensor.raw_data(), values.data(), values.size_bytes());
  return tensor;
}

Tensor Tensor::from_bool(std::span<const int64_t> shape, std::span<const bool> values) {
  Tensor tensor = allocate(ElementType::kBool, shape);
  if (tensor.element_count() != values.size())
    throw Error("tensor of shape " + shape_to_string(shape) + " cannot hold " + std::to_string(values.size()) +
                " values");
  auto* out = static_cast<bool*>(tensor.raw_data());
  for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
  return tensor;
}

Tensor Tensor::clone() const {
  if (empty()) return {};
  const std::vector<int64_t> dims = shape();
  Tensor copy = allocate(type(), dims);
  const size_t bytes = element_count() * element_size(type());
  if (bytes > 0) std::memcpy(copy.raw_data(), raw_data(), bytes);
  return copy;
}

Tensor gather_rows(const Tensor& source, std::span<const int64_t> rows) {
  std::vector<int64_t> shape = source.shape();
  if (shape.empty()) throw Error("gather_rows: a scalar has no rows");
  const int64_t source_rows = shape[0];
  const size_t row_bytes =
      source_rows == 0 ? 0 : source.element_count() / static_cast<size_t>(source_rows) * element_size(source.type());
  shape[0] = static_cast<int64_t>(rows.size());
  Tensor out = allocate(source.type(), shape);
  if (row_bytes == 0) return out;
  const auto* from = source.data<std::byte>();
  auto* to = out.data<std::byte>();
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] < 0 || rows[i] >= source_rows)
      throw Error("gather_rows: row " + std::to_string(rows[i]) + " of a tensor with " + std::to_string(source_rows));
    std::memcpy(to + i * row_bytes, from + rows[i] * row_bytes, row_bytes);
  }
  return out;
}

ElementType Tensor::type() const {
  if (empty()) return ElementType::kUndefined;
  Ort::ConstValue view(value_.get());
  return from_onnx(view.GetTensorTypeAndShapeInfo().GetElementType());
}

std::vector<int64_t> Tensor::shape() const {
  if (empty()) return {};
  Ort::ConstValue view(value_.get());
  return view.GetTensorTypeAndShapeInfo().GetShape();
}

size_t Tensor::element_count() const {
  if (empty()) return 0;
  Ort::ConstValue view(value_.get());
  return view.GetTensorTypeAndShapeInfo().GetElementCount();
}

void* Tensor::raw_data() const {
  if (empty()) throw Error("access to the data of an empty tensor");
  void* data = nullptr;
  Ort::ThrowOnError(Ort::GetApi().GetTensorMutableData(value_.get(), &data));
  return data;
}

std::vector<float> Tensor::to_float_vector() const {
  const size_t count = element_count();
  std::vector<float> out(count);
  switch (type()) {
    case ElementType::kFloat32:
      if (count > 0) std::memcpy(out.data(), raw_data(), count * sizeof(float));
      break;
    case ElementType::kFloat16: {
      const auto* in = static_cast<const uint16_t*>(raw_data());
      for (size_t i = 0; i < count; ++i) out[i] = half_to_float(in[i]);
      break;
    }
    default:
      throw Error("expected a float tensor, got " + to_string(type()));
  }
  return out;
}

}  // namespace opusrt::runtime
