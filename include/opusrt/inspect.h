#pragma once

// `opusrt inspect` as a library call: every graph's declared interface, and a live check of the
// decoder's KV cache on a real step 0 / step 1 (the successor of the old Python checker).
#include <filesystem>
#include <string>
#include <vector>

namespace opusrt {

struct TensorDescription {
  std::string name;
  std::string type;   // "float", "int64", "bool", ...
  std::string shape;  // e.g. ['batch_size', 8, 'past_decoder_sequence_length + 1', 64]
};

struct GraphDescription {
  std::string file;
  std::vector<TensorDescription> inputs;
  std::vector<TensorDescription> outputs;
};

struct InspectCheck {
  std::string name;
  bool passed = false;
  std::string detail;  // what was measured, or why it failed
};

// Shapes of every present.* output of one decoder run.
struct StepShapes {
  std::string label;  // e.g. "merged step 0 (no cache)"
  std::vector<TensorDescription> presents;
};

struct InspectReport {
  std::vector<GraphDescription> graphs;
  std::vector<StepShapes> steps;
  std::vector<InspectCheck> checks;
  bool passed() const {
    for (const InspectCheck& check : checks)
      if (!check.passed) return false;
    return !checks.empty();
  }
};

// Loads every graph of the export, runs step 0 and step 1 from the decoder start token for each
// decoder the export has (merged, split), and checks: the config matches the graphs, the
// decoder past grows by exactly one, the encoder K/V have the source length, cached and
// recomputed step-1 logits agree, merged and split agree, placeholder pasts 0 and 1 agree.
// Problems become failed checks, not exceptions (except an unreadable directory).
InspectReport inspect_model(const std::filesystem::path& model_dir, int intra_op_threads = 0);

}  // namespace opusrt
