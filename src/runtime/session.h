#pragma once

// One ONNX graph loaded into an ONNX Runtime session, with its declared interface read once
// into plain structs. The only other file that touches ONNX Runtime is tensor.cc.
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/huge_pages.h"
#include "runtime/tensor.h"

namespace opusrt::runtime {

// One dimension of a declared shape: a fixed size, or a symbolic name (size < 0).
struct Dim {
  int64_t size = -1;
  std::string symbol;
  bool is_fixed() const { return size >= 0; }
  std::string to_string() const;
};

struct IoInfo {
  std::string name;
  ElementType type = ElementType::kUndefined;
  std::string type_name;  // as ONNX spells it, for messages and `inspect`
  std::vector<Dim> shape;
  std::string shape_string() const;
};

struct SessionConfig {
  int intra_op_threads = 0;  // 0: ONNX Runtime's default (one per physical core)
  int inter_op_threads = 1;
  // Intra-op workers spin a while after each parallel section instead of sleeping. Right for a
  // graph run many times in a row (a cached decoder step); wrong for one run once per batch (the
  // encoder, the split no-cache decoder): each session has its own pool, so that pool's workers
  // go on spinning on the cores the next graph's workers need (on 2 cores, the first three
  // decoder steps after an encoder run took twice as long).
  bool allow_spinning = true;
  // Back the memory the load adds (the weights) with transparent huge pages (runtime/huge_pages.h).
  bool huge_pages = true;
  // Load the graph's prepared copy (`opusrt prepare`; runtime/prepared_graph.h) when one is there
  // and made from the file as it is now. Results are the same; load time and memory are not.
  bool use_prepared = true;
};

struct NamedTensor {
  std::string_view name;
  const Tensor* tensor;
};

// Time spent inside ONNX Runtime's Run, for the benchmark's engine-overhead figure.
struct RunStats {
  uint64_t calls = 0;
  uint64_t nanoseconds = 0;
};

class Session {
 public:
  Session(const std::filesystem::path& onnx_file, const SessionConfig& config);
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  const std::filesystem::path& path() const { return path_; }
  const SessionConfig& config() const { return config_; }
  // The file ONNX Runtime read: path(), or its prepared copy.
  const std::filesystem::path& loaded_from() const { return loaded_from_; }
  const std::vector<IoInfo>& inputs() const { return inputs_; }
  const std::vector<IoInfo>& outputs() const { return outputs_; }
  const IoInfo* find_input(std::string_view name) const;
  const IoInfo* find_output(std::string_view name) const;
  const IoInfo& input(std::string_view name) const;    // throws naming the file and the input
  const IoInfo& output(std::string_view name) const;   // throws naming the file and the output

  // Runs the graph. Every declared input must be given; outputs come back in the order asked.
  // Thread-safe: ONNX Runtime allows concurrent Run calls on one session.
  std::vector<Tensor> run(std::span<const NamedTensor> inputs, std::span<const std::string> output_names) const;

  // What the load asked of transparent huge pages (zero when SessionConfig::huge_pages is off).
  const HugePageReport& huge_pages() const { return huge_pages_; }

  RunStats run_stats() const;
  void reset_run_stats() const;

 private:
  struct Impl;
  std::filesystem::path path_;
  SessionConfig config_;
  std::filesystem::path loaded_from_;
  std::vector<IoInfo> inputs_;
  std::vector<IoInfo> outputs_;
  HugePageReport huge_pages_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opusrt::runtime
