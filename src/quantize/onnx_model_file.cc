#include "quantize/onnx_model_file.h"

#include <climits>
#include <fstream>
#include <map>
#include <optional>

#include "onnx/proto_utils.h"
#include "opusrt/error.h"

namespace opusrt::quantize {
namespace {

namespace fs = std::filesystem;

// Every tensor a graph holds: initializers, sparse initializers, tensor attributes (Constant),
// and those of its subgraphs.
template <class Visit>
void for_each_tensor(onnx::GraphProto& graph, const Visit& visit) {
  for (onnx::TensorProto& tensor : *graph.mutable_initializer()) visit(tensor);
  for (onnx::SparseTensorProto& sparse : *graph.mutable_sparse_initializer()) {
    visit(*sparse.mutable_values());
    visit(*sparse.mutable_indices());
  }
  for (onnx::NodeProto& node : *graph.mutable_node()) {
    for (onnx::AttributeProto& attribute : *node.mutable_attribute()) {
      if (attribute.has_t()) visit(*attribute.mutable_t());
      for (onnx::TensorProto& tensor : *attribute.mutable_tensors()) visit(tensor);
      if (attribute.has_g()) for_each_tensor(*attribute.mutable_g(), visit);
      for (onnx::GraphProto& subgraph : *attribute.mutable_graphs()) for_each_tensor(subgraph, visit);
    }
  }
}

template <class Visit>
void for_each_initializer(onnx::GraphProto& graph, const Visit& visit) {
  for (onnx::TensorProto& tensor : *graph.mutable_initializer()) visit(tensor);
  for (onnx::NodeProto& node : *graph.mutable_node()) {
    for (onnx::AttributeProto& attribute : *node.mutable_attribute()) {
      if (attribute.has_g()) for_each_initializer(*attribute.mutable_g(), visit);
      for (onnx::GraphProto& subgraph : *attribute.mutable_graphs()) for_each_initializer(subgraph, visit);
    }
  }
}

// Bytes per element of the fixed-size types, nullopt for strings and types this libonnx does not know.
std::optional<uint64_t> element_bytes(int32_t data_type) {
  switch (data_type) {
    case onnx::TensorProto::BOOL:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8: return 1;
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16: return 2;
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::FLOAT: return 4;
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::UINT64:
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::COMPLEX64: return 8;
    case onnx::TensorProto::COMPLEX128: return 16;
    default: return std::nullopt;
  }
}

std::optional<uint64_t> expected_bytes(const onnx::TensorProto& tensor) {
  const std::optional<uint64_t> size = element_bytes(tensor.data_type());
  if (!size) return std::nullopt;
  uint64_t count = 1;
  for (int64_t dim : tensor.dims()) {
    if (dim < 0) return std::nullopt;
    count *= static_cast<uint64_t>(dim);
  }
  return count * *size;
}

uint64_t parse_unsigned(const std::string& text, const std::string& what) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 19)
    throw Error(what + ": '" + text + "' is not a byte count");
  return std::stoull(text);
}

// A location must stay inside the model's directory: relative, without "..".
fs::path data_file_path(const fs::path& model_file, const std::string& location, const std::string& what) {
  const fs::path relative(location);
  if (location.empty() || relative.is_absolute())
    throw Error(what + ": external data location '" + location + "' must be a path relative to the model's directory");
  for (const fs::path& part : relative) {
    if (part == "..") throw Error(what + ": external data location '" + location + "' leaves the model's directory");
  }
  return model_file.parent_path() / relative;
}

class ExternalDataReader {
 public:
  explicit ExternalDataReader(fs::path model_file) : model_file_(std::move(model_file)) {}

  void load(onnx::TensorProto& tensor) {
    if (tensor.data_location() != onnx::TensorProto::EXTERNAL) return;
    const std::string what = model_file_.string() + ": tensor '" + tensor.name() + "'";
    std::string location;
    uint64_t offset = 0;
    std::optional<uint64_t> length;
    for (const onnx::StringStringEntryProto& entry : tensor.external_data()) {
      if (entry.key() == "location") location = entry.value();
      if (entry.key() == "offset") offset = parse_unsigned(entry.value(), what + ": external data offset");
      if (entry.key() == "length") length = parse_unsigned(entry.value(), what + ": external data length");
    }
    const fs::path path = data_file_path(model_file_, location, what);
    std::ifstream& in = open(path, what);
    const uint64_t file_size = sizes_.at(path.string());
    if (offset > file_size || (length && *length > file_size - offset)) {
      throw Error(what + ": external data " + path.string() + " is " + std::to_string(file_size) +
                  " bytes, too short for offset " + std::to_string(offset) +
                  (length ? " + length " + std::to_string(*length) : std::string()));
    }
    const uint64_t bytes = length.value_or(file_size - offset);
    if (const std::optional<uint64_t> expected = expected_bytes(tensor); expected && *expected != bytes) {
      throw Error(what + ": external data " + path.string() + " holds " + std::to_string(bytes) +
                  " bytes, the tensor's shape needs " + std::to_string(*expected));
    }
    std::string data(bytes, '\0');
    in.clear();
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(data.data(), static_cast<std::streamsize>(bytes));
    if (!in) throw Error(what + ": cannot read " + std::to_string(bytes) + " bytes of external data from " + path.string());
    tensor.set_raw_data(std::move(data));
    tensor.clear_external_data();
    tensor.set_data_location(onnx::TensorProto::DEFAULT);
  }

  uint64_t data_bytes() const {
    uint64_t total = 0;
    for (const auto& [path, size] : sizes_) total += size;
    return total;
  }

 private:
  std::ifstream& open(const fs::path& path, const std::string& what) {
    const std::string key = path.string();
    auto it = files_.find(key);
    if (it != files_.end()) return it->second;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw Error(what + ": external data file " + key + " not found");
    const uint64_t size = fs::file_size(path, ec);
    if (ec) throw Error(what + ": cannot read external data file " + key + ": " + ec.message());
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(what + ": cannot open external data file " + key);
    sizes_[key] = size;
    return files_.emplace(key, std::move(in)).first->second;
  }

  fs::path model_file_;
  std::map<std::string, std::ifstream> files_;
  std::map<std::string, uint64_t> sizes_;
};

}  // namespace

OnnxModelFile read_onnx_model(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw Error(file.string() + ": file not found");
  const uint64_t size = fs::file_size(file, ec);
  if (ec) throw Error(file.string() + ": cannot read: " + ec.message());
  // Protobuf's own limit; larger models keep their weights in external data.
  if (size >= (uint64_t{2048} << 20))
    throw Error(file.string() + ": " + std::to_string(size) + " bytes, over protobuf's 2 GB limit for one message");
  std::string bytes(size, '\0');
  {
    std::ifstream in(file, std::ios::binary);
    in.read(bytes.data(), static_cast<std::streamsize>(size));
    if (!in) throw Error(file.string() + ": cannot read the file");
  }
  OnnxModelFile out;
  if (!onnx::ParseProtoFromBytes(&out.model, bytes.data(), bytes.size()))
    throw Error(file.string() + ": not an ONNX model (protobuf parse failed)");
  bytes.clear();
  bytes.shrink_to_fit();
  if (!out.model.has_graph()) throw Error(file.string() + ": an ONNX model without a graph");

  ExternalDataReader reader(file);
  for_each_tensor(*out.model.mutable_graph(), [&](onnx::TensorProto& tensor) {
    if (tensor.data_location() == onnx::TensorProto::EXTERNAL) out.had_external_data = true;
    reader.load(tensor);
  });
  out.bytes_on_disk = size + reader.data_bytes();
  return out;
}

uint64_t write_onnx_model(onnx::ModelProto& model, const fs::path& file, const OnnxWriteOptions& options) {
  constexpr uint64_t kAlignment = 4096;
  uint64_t written = 0;
  if (options.external_data) {
    const std::string data_name = file.filename().string() + "_data";
    const fs::path data_path = file.parent_path() / data_name;
    std::ofstream data;
    uint64_t offset = 0;
    const std::string padding(kAlignment, '\0');
    for_each_initializer(*model.mutable_graph(), [&](onnx::TensorProto& tensor) {
      if (!tensor.has_raw_data() || tensor.raw_data().size() < options.external_threshold_bytes) return;
      if (!data.is_open()) {
        data.open(data_path, std::ios::binary | std::ios::trunc);
        if (!data) throw Error(data_path.string() + ": cannot create the external data file");
      }
      const uint64_t aligned = (offset + kAlignment - 1) / kAlignment * kAlignment;
      data.write(padding.data(), static_cast<std::streamsize>(aligned - offset));
      const std::string& raw = tensor.raw_data();
      data.write(raw.data(), static_cast<std::streamsize>(raw.size()));
      tensor.clear_external_data();
      auto add = [&](const std::string& key, const std::string& value) {
        onnx::StringStringEntryProto* entry = tensor.add_external_data();
        entry->set_key(key);
        entry->set_value(value);
      };
      add("location", data_name);
      add("offset", std::to_string(aligned));
      add("length", std::to_string(raw.size()));
      offset = aligned + raw.size();
      tensor.clear_raw_data();
      tensor.set_data_location(onnx::TensorProto::EXTERNAL);
    });
    if (data.is_open()) {
      data.close();
      if (!data) throw Error(data_path.string() + ": writing the external data failed (disk full?)");
      written += offset;
    }
  }
  if (model.ByteSizeLong() > static_cast<size_t>(INT_MAX)) {
    throw Error(file.string() + ": " + std::to_string(model.ByteSizeLong()) +
                " bytes, over protobuf's 2 GB limit; it needs external data");
  }
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(file.string() + ": cannot create the file");
  if (!model.SerializeToOstream(&out)) throw Error(file.string() + ": serializing the model failed");
  out.close();
  if (!out) throw Error(file.string() + ": writing the model failed (disk full?)");
  return written + model.ByteSizeLong();
}

}  // namespace opusrt::quantize
