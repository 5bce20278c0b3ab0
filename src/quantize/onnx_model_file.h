#pragma once

// Reading and writing ONNX model files with Debian's libonnx (onnx::ModelProto), external data
// included.
//
//   onnx::ModelProto model = read_onnx_model("dir/decoder_model_merged.onnx");  // weights in memory
//   ... edit it ...
//   write_onnx_model(model, "out/decoder_model_merged_q4.onnx", {.external_data = true});
//   // -> out/decoder_model_merged_q4.onnx + out/decoder_model_merged_q4.onnx_data
//
// libonnx 1.12's C++ API parses and checks models but leaves external data to its Python side,
// so the external-data rules are implemented here, as ONNX specifies them: a tensor with
// data_location EXTERNAL names a file `location` relative to the model's directory, an
// `offset` (default 0) and a `length` (default: to the end of the file).
#include <cstdint>
#include <filesystem>
#include <string>

#include "onnx/onnx_pb.h"

namespace opusrt::quantize {

struct OnnxModelFile {
  onnx::ModelProto model;           // every tensor's bytes in memory
  bool had_external_data = false;   // some tensor's bytes came from a data file
  uint64_t bytes_on_disk = 0;       // the .onnx file plus the data files it names
};

// Parses the file and loads every external tensor's bytes into raw_data (initializers, sparse
// initializers and Constant values, subgraphs included). Errors name the file, and for
// external data the tensor and the data file (missing, too short, a location outside the
// model's directory).
OnnxModelFile read_onnx_model(const std::filesystem::path& file);

struct OnnxWriteOptions {
  // Initializers of at least `external_threshold_bytes` go to <file>_data (e.g.
  // encoder_model_q4.onnx_data), each at an offset aligned to 4096 bytes.
  bool external_data = false;
  uint64_t external_threshold_bytes = 1024;
};

// Writes `model`, whose tensors hold their bytes in memory. With external_data the large ones
// are moved to the data file (the model is left pointing at it). Protobuf cannot serialize more
// than 2 GB: a model that large without external_data is an error naming the file. Returns the
// bytes written (model file plus data file).
uint64_t write_onnx_model(onnx::ModelProto& model, const std::filesystem::path& file, const OnnxWriteOptions& options);

}  // namespace opusrt::quantize
