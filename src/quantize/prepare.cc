#include "quantize/prepare.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "model/model_files.h"
#include "opusrt/error.h"
#include "quantize/last_position_logits.h"
#include "quantize/onnx_model_file.h"
#include "quantize/staging_dir.h"
#include "runtime/prepared_graph.h"
#include "runtime/session.h"

namespace opusrt {
namespace {
namespace fs = std::filesystem;

void remove_file(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) throw Error(path.string() + ": cannot remove the stale prepared file: " + ec.message());
}

void move_into_place(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);  // replaces `to` atomically: a reader sees the old file or the new one
  if (ec) throw Error(to.string() + ": cannot move the prepared file into place: " + ec.message());
}

// A staging directory inside `.opusrt-prepared/` (created first), removed with whatever is left in it.
quantize::StagingDir staging_in(const fs::path& prepared_dir) {
  std::error_code ec;
  fs::create_directories(prepared_dir, ec);
  if (ec) throw Error(prepared_dir.string() + ": cannot create the prepared-copy directory: " + ec.message());
  return quantize::StagingDir(prepared_dir / (".staging-" + std::to_string(::getpid())));
}

PreparedGraph prepare_graph(const fs::path& source, const PrepareOptions& options) {
  PreparedGraph result;
  result.source = source;
  result.output = runtime::prepared_graph_path(source);
  // The source's stamp, then how the copy is made: a copy made with other options is not fresh.
  const std::string source_state = runtime::source_stamp(source);
  const std::string stamp = source_state + "logits: " +
                            (options.last_position_logits ? "last position" : "every position") + "\n";
  // (A recorded stamp equal to `stamp` begins with the source's: what fresh_prepared_graph asks.)
  std::error_code ec;
  if (!options.force && fs::is_regular_file(result.output, ec) && runtime::recorded_stamp(source) == stamp) {
    result.already_fresh = true;
    return result;
  }
  const fs::path stamp_path = runtime::prepared_stamp_path(source);
  const quantize::StagingDir staging = staging_in(result.output.parent_path());
  quantize::OnnxModelFile file = quantize::read_onnx_model(source);
  if (runtime::source_stamp(source) != source_state)
    throw Error(source.string() + ": changed while it was being read; run prepare again");
  if (options.last_position_logits) {
    const quantize::LastPositionStats sliced = quantize::slice_logits_to_last_position(file.model);
    result.logits_sliced = sliced.graphs_sliced;
    result.logits_left = sliced.graphs_left;
  }
  const fs::path staged = staging.path() / source.filename();
  quantize::OnnxWriteOptions write;
  write.external_data = true;  // the point: every initializer of 1 KiB or more goes to <file>_data
  result.bytes = quantize::write_onnx_model(file.model, staged, write);
  if (options.check_with_onnxruntime) {
    runtime::SessionConfig config;
    config.intra_op_threads = 1;
    config.huge_pages = false;
    config.use_prepared = false;
    runtime::Session check(staged, config);
  }
  // The stamp goes first and comes back last, so a copy half moved never looks fresh.
  remove_file(stamp_path);
  const fs::path staged_data = staged.string() + "_data";
  const fs::path output_data = result.output.string() + "_data";
  if (fs::exists(staged_data, ec)) {
    move_into_place(staged_data, output_data);
  } else {
    remove_file(output_data);  // a graph without large weights: no data file, and no stale one
  }
  move_into_place(staged, result.output);
  const fs::path staged_stamp = staging.path() / stamp_path.filename();
  {
    std::ofstream out(staged_stamp, std::ios::binary);
    out << stamp;
    out.close();
    if (!out) throw Error(staged_stamp.string() + ": cannot write the prepared copy's stamp");
  }
  move_into_place(staged_stamp, stamp_path);
  return result;
}

}  // namespace

std::vector<PreparedGraph> prepare_model(const fs::path& model_dir, const PrepareOptions& options) {
  if (options.variants.empty()) throw Error("prepare: no variant given");
  std::vector<fs::path> graphs;
  for (const std::string& variant : options.variants) {
    const ModelFiles files = ModelFiles::find(model_dir, variant == "fp32" ? "" : variant);
    for (const fs::path& graph : files.graphs())
      if (std::find(graphs.begin(), graphs.end(), graph) == graphs.end()) graphs.push_back(graph);
  }
  std::vector<PreparedGraph> prepared;
  for (const fs::path& graph : graphs) prepared.push_back(prepare_graph(graph, options));
  return prepared;
}

}  // namespace opusrt
