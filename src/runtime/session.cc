#include "runtime/session.h"

#include <atomic>
#include <chrono>
#include <fstream>

#include "opusrt/error.h"
#include "runtime/huge_pages.h"
#include "runtime/ort_env.h"
#include "runtime/prepared_graph.h"

namespace opusrt::runtime {
namespace {

IoInfo describe(const std::string& name, const Ort::TypeInfo& type_info) {
  IoInfo info;
  info.name = name;
  if (type_info.GetONNXType() != ONNX_TYPE_TENSOR) {
    info.type = ElementType::kOther;
    info.type_name = "non-tensor";
    return info;
  }
  auto tensor_info = type_info.GetTensorTypeAndShapeInfo();
  const ONNXTensorElementDataType onnx_type = tensor_info.GetElementType();
  switch (onnx_type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: info.type = ElementType::kFloat32; break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: info.type = ElementType::kFloat16; break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: info.type = ElementType::kInt64; break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: info.type = ElementType::kInt32; break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: info.type = ElementType::kBool; break;
    default: info.type = ElementType::kOther; break;
  }
  info.type_name = info.type == ElementType::kOther ? "onnx-type-" + std::to_string(onnx_type) : to_string(info.type);
  const std::vector<int64_t> sizes = tensor_info.GetShape();
  const std::vector<const char*> symbols = tensor_info.GetSymbolicDimensions();
  for (size_t i = 0; i < sizes.size(); ++i) {
    Dim dim;
    dim.size = sizes[i];
    if (i < symbols.size() && symbols[i] != nullptr) dim.symbol = symbols[i];
    info.shape.push_back(std::move(dim));
  }
  return info;
}

}  // namespace

std::string Dim::to_string() const {
  if (is_fixed()) return std::to_string(size);
  return symbol.empty() ? "?" : "'" + symbol + "'";
}

std::string IoInfo::shape_string() const {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + shape[i].to_string();
  return out + "]";
}

struct Session::Impl {
  Ort::Session session{nullptr};
  std::atomic<uint64_t> run_calls{0};
  std::atomic<uint64_t> run_nanoseconds{0};
};

RunStats Session::run_stats() const { return {impl_->run_calls.load(), impl_->run_nanoseconds.load()}; }

void Session::reset_run_stats() const {
  impl_->run_calls = 0;
  impl_->run_nanoseconds = 0;
}

Session::Session(const std::filesystem::path& onnx_file, const SessionConfig& config)
    : path_(onnx_file), config_(config), impl_(std::make_unique<Impl>()) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(onnx_file, ec))
    throw Error(onnx_file.string() + ": file not found");
  try {
    Ort::SessionOptions options;
    options.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
    options.SetIntraOpNumThreads(config.intra_op_threads);
    options.SetInterOpNumThreads(config.inter_op_threads);
    options.AddConfigEntry("session.intra_op.allow_spinning", config.allow_spinning ? "1" : "0");
    const std::vector<AddressRange> before = config.huge_pages ? anonymous_mappings() : std::vector<AddressRange>{};
    loaded_from_ = config.use_prepared ? fresh_prepared_graph(onnx_file).value_or(onnx_file) : onnx_file;
    impl_->session = Ort::Session(ort_env(), loaded_from_.c_str(), options);
    if (config.huge_pages) huge_pages_ = back_with_huge_pages(added_huge_page_spans(before, anonymous_mappings()));

    Ort::AllocatorWithDefaultOptions allocator;
    for (size_t i = 0; i < impl_->session.GetInputCount(); ++i) {
      auto name = impl_->session.GetInputNameAllocated(i, allocator);
      inputs_.push_back(describe(name.get(), impl_->session.GetInputTypeInfo(i)));
    }
    for (size_t i = 0; i < impl_->session.GetOutputCount(); ++i) {
      auto name = impl_->session.GetOutputNameAllocated(i, allocator);
      outputs_.push_back(describe(name.get(), impl_->session.GetOutputTypeInfo(i)));
    }
  } catch (const Ort::Exception& e) {
    throw Error(onnx_file.string() + ": ONNX Runtime could not load the graph" +
                (loaded_from_ != onnx_file ? " (its prepared copy " + loaded_from_.string() + ")" : std::string()) +
                ": " + e.what());
  }
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

const IoInfo* Session::find_input(std::string_view name) const {
  for (const IoInfo& info : inputs_)
    if (info.name == name) return &info;
  return nullptr;
}

const IoInfo* Session::find_output(std::string_view name) const {
  for (const IoInfo& info : outputs_)
    if (info.name == name) return &info;
  return nullptr;
}

const IoInfo& Session::input(std::string_view name) const {
  if (const IoInfo* info = find_input(name)) return *info;
  throw Error(path_.string() + ": the graph has no input '" + std::string(name) + "'");
}

const IoInfo& Session::output(std::string_view name) const {
  if (const IoInfo* info = find_output(name)) return *info;
  throw Error(path_.string() + ": the graph has no output '" + std::string(name) + "'");
}

std::vector<Tensor> Session::run(std::span<const NamedTensor> inputs, std::span<const std::string> output_names) const {
  // ONNX Runtime wants every declared input (the merged decoder included); a missing one is a
  // bug in the caller, reported with the graph and the input it lacked.
  if (inputs.size() != inputs_.size()) {
    for (const IoInfo& declared : inputs_) {
      bool given = false;
      for (const NamedTensor& in : inputs) given = given || in.name == declared.name;
      if (!given) throw Error(path_.string() + ": input '" + declared.name + "' was not fed");
    }
    throw Error(path_.string() + ": " + std::to_string(inputs.size()) + " inputs fed, the graph declares " +
                std::to_string(inputs_.size()));
  }
  // Fed in declared order (as GraphInputs does), the declared names serve as they are; any
  // other order gets copies, which ONNX Runtime needs NUL-terminated.
  std::vector<std::string> input_name_storage;
  input_name_storage.reserve(inputs.size());
  std::vector<const char*> input_names;
  std::vector<const OrtValue*> input_values;
  input_names.reserve(inputs.size());
  input_values.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const NamedTensor& in = inputs[i];
    if (in.tensor == nullptr || in.tensor->empty())
      throw Error(path_.string() + ": input '" + std::string(in.name) + "' is empty");
    if (in.name == inputs_[i].name) {
      input_names.push_back(inputs_[i].name.c_str());
    } else {
      input_name_storage.emplace_back(in.name);
      input_names.push_back(input_name_storage.back().c_str());
    }
    input_values.push_back(in.tensor->get());
  }
  std::vector<const char*> output_name_ptrs;
  output_name_ptrs.reserve(output_names.size());
  for (const std::string& name : output_names) output_name_ptrs.push_back(name.c_str());

  std::vector<OrtValue*> outputs(output_names.size(), nullptr);
  const auto start = std::chrono::steady_clock::now();
  OrtStatus* status = Ort::GetApi().Run(impl_->session, nullptr, input_names.data(), input_values.data(),
                                        input_values.size(), output_name_ptrs.data(), output_name_ptrs.size(),
                                        outputs.data());
  impl_->run_nanoseconds += static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
  ++impl_->run_calls;
  std::vector<Tensor> result;
  result.reserve(outputs.size());
  for (OrtValue* value : outputs) result.emplace_back(value);  // owned even on failure
  if (status != nullptr) {
    std::string message = Ort::GetApi().GetErrorMessage(status);
    Ort::GetApi().ReleaseStatus(status);
    throw Error(path_.string() + ": ONNX Runtime Run failed: " + message);
  }
  return result;
}

}  // namespace opusrt::runtime
