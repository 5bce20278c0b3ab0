#include "quantize/quantize.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "hub/names.h"
#include "model/model_files.h"
#include "onnx/checker.h"
#include "opusrt/error.h"
#include "quantize/matmul_rewriter.h"
#include "quantize/onnx_model_file.h"
#include "quantize/staging_dir.h"
#include "runtime/session.h"

namespace opusrt {
namespace {

namespace fs = std::filesystem;

// Above this a graph is written with external data even when its source had none (protobuf's
// limit is 2 GiB; the margin covers the graph structure around the weights).
constexpr uint64_t kInlineLimitBytes = uint64_t{1800} << 20;

void check_options(const QuantizeOptions& options) {
  if (options.bits != 4 && options.bits != 8)
    throw Error("bits " + std::to_string(options.bits) + ": must be 4 or 8");
  if (options.block_size != 32 && options.block_size != 64 && options.block_size != 128)
    throw Error("block size " + std::to_string(options.block_size) + ": must be 32, 64 or 128");
  if (options.accuracy_level && (*options.accuracy_level < 0 || *options.accuracy_level > 4))
    throw Error("accuracy level " + std::to_string(*options.accuracy_level) + ": must be 0 to 4");
}

std::string variant_name(const QuantizeOptions& options) {
  const std::string variant = options.variant.empty() ? "q" + std::to_string(options.bits) : options.variant;
  if (!hub::is_valid_variant(variant))
    throw Error("variant '" + variant + "': letters, digits, '_' and '-' only (it becomes a file suffix)");
  if (variant == "fp32") throw Error("variant 'fp32': that name is the unquantized graphs'");
  return variant;
}

std::string with_suffix(const fs::path& graph, const std::string& variant) {
  return graph.stem().string() + "_" + variant + graph.extension().string();
}

std::string data_file_of(const std::string& graph_file) { return graph_file + "_data"; }

fs::path staging_path(const fs::path& dir, const std::string& name) {
  return dir / ("." + name + ".opusrt-quantize-" + std::to_string(::getpid()));
}

bool path_exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(path, ec));
}

// rename(2) that never replaces: EEXIST when `to` exists (a file, or a directory even if empty).
void rename_no_replace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return;
  int error = errno;
  if (error == EINVAL || error == ENOSYS) {
    // A file system without RENAME_NOREPLACE: check, then rename (a race only with another writer).
    if (!path_exists(to)) {
      std::error_code ec;
      fs::rename(from, to, ec);
      if (!ec) return;
      error = ec.value();
    } else {
      error = EEXIST;
    }
  }
  if (error == EEXIST) throw Error(to.string() + ": already exists (created while quantizing); nothing was replaced");
  throw Error(to.string() + ": cannot move the quantized file into place: " + std::strerror(error));
}

struct GraphJob {
  fs::path source;
  std::string output_name;  // file name in the variant's graph directory
};

std::vector<GraphJob> graph_jobs(const ModelFiles& files, const std::string& variant) {
  std::vector<GraphJob> jobs;
  for (const fs::path& graph : files.graphs()) jobs.push_back({graph, with_suffix(graph, variant)});
  return jobs;
}

std::string file_list(const std::vector<GraphJob>& jobs) {
  std::string out;
  for (const GraphJob& job : jobs) out += (out.empty() ? "" : ", ") + job.source.filename().string();
  return out;
}

// The ONNX checker on a rewritten graph. The checker linked is the system's libonnx (Debian 12:
// 1.12, IR version 8), which refuses any newer IR version outright, and newer exporters write
// IR 9 and 10: such a graph is checked under the newest rules the library has, its version
// field put back after (ONNX Runtime's load in quantize_model checks it under its own).
void check_graph(onnx::ModelProto& model, const fs::path& source) {
  const int64_t ir_version = model.ir_version();
  const int64_t known = static_cast<int64_t>(onnx::Version::IR_VERSION);
  if (ir_version > known) model.set_ir_version(known);
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    model.set_ir_version(ir_version);
    throw Error(source.string() + ": the quantized graph fails the ONNX checker: " + e.what());
  }
  model.set_ir_version(ir_version);
}

// Reads, rewrites, checks and writes one graph into `dir`; the counts go to `graph`.
QuantizedGraph quantize_graph(const GraphJob& job, const fs::path& dir, const quantize::RewriteSettings& settings,
                              std::set<std::string>& skip_names_seen) {
  QuantizedGraph graph;
  graph.source = job.source;
  quantize::OnnxModelFile file = quantize::read_onnx_model(job.source);
  graph.source_bytes = file.bytes_on_disk;
  const quantize::RewriteStats stats = quantize::rewrite_matmuls(file.model, settings, job.source.string());
  graph.matmuls = stats.matmuls;
  graph.weights = stats.weights;
  graph.skipped = stats.skipped;
  skip_names_seen.insert(stats.skip_names_seen.begin(), stats.skip_names_seen.end());
  check_graph(file.model, job.source);
  graph.external_data = file.had_external_data || file.model.ByteSizeLong() > kInlineLimitBytes;
  graph.output = dir / job.output_name;
  quantize::OnnxWriteOptions write;
  write.external_data = graph.external_data;
  graph.output_bytes = quantize::write_onnx_model(file.model, graph.output, write);
  graph.external_data = graph.external_data && path_exists(dir / data_file_of(job.output_name));
  return graph;
}

}  // namespace

QuantizeResult quantize_model(const fs::path& model_dir, const QuantizeOptions& options) {
  check_options(options);
  QuantizeResult result;
  result.variant = variant_name(options);
  const ModelFiles files = ModelFiles::find(model_dir, "");
  const std::vector<GraphJob> jobs = graph_jobs(files, result.variant);
  const bool xenova_layout = files.onnx_dir != files.root;

  // Where the variant goes, refused before any work when something is in the way.
  fs::path graph_dir;  // final directory of the variant's graphs
  std::optional<quantize::StagingDir> staging;
  fs::path staged_graph_dir;
  if (options.out.empty()) {
    result.model_dir = files.root;
    graph_dir = files.onnx_dir;
    for (const GraphJob& job : jobs) {
      for (const std::string& name : {job.output_name, data_file_of(job.output_name)}) {
        if (path_exists(graph_dir / name))
          throw Error((graph_dir / name).string() + ": already exists; remove it or choose another --variant");
      }
    }
    staging.emplace(staging_path(graph_dir, result.variant));
    staged_graph_dir = staging->path();
  } else {
    const fs::path out = options.out.has_filename() ? options.out : options.out.parent_path();
    if (path_exists(out)) throw Error(out.string() + ": already exists; --out must name a new directory");
    const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
    std::error_code ec;
    if (!fs::is_directory(parent, ec)) throw Error(parent.string() + ": directory not found (the parent of --out)");
    result.model_dir = out;
    graph_dir = xenova_layout ? out / "onnx" : out;
    staging.emplace(staging_path(parent, out.filename().string()));
    staged_graph_dir = xenova_layout ? staging->path() / "onnx" : staging->path();
    if (xenova_layout) fs::create_directory(staged_graph_dir);
  }

  quantize::RewriteSettings settings;
  settings.quantization = {options.bits, options.block_size, options.symmetric};
  settings.accuracy_level = options.accuracy_level;
  settings.skip = {options.skip.begin(), options.skip.end()};
  std::set<std::string> skip_names_seen;
  size_t matmuls = 0;
  for (const GraphJob& job : jobs) {
    result.graphs.push_back(quantize_graph(job, staged_graph_dir, settings, skip_names_seen));
    matmuls += result.graphs.back().matmuls;
  }
  if (matmuls == 0) {
    size_t skipped = 0;
    for (const QuantizedGraph& graph : result.graphs) skipped += graph.skipped;
    throw Error(files.onnx_dir.string() + ": no MatMul with a constant 2-D float32 weight in " + file_list(jobs) +
                (skipped > 0 ? " besides the " + std::to_string(skipped) + " skipped" : std::string()) +
                ": nothing to quantize");
  }
  for (const std::string& name : settings.skip) {
    if (skip_names_seen.count(name) == 0)
      throw Error("skip '" + name + "': no MatMul node, MatMul input or weight of that name in " + file_list(jobs));
  }
  if (options.check_with_onnxruntime) {
    runtime::SessionConfig config;
    config.intra_op_threads = 1;
    config.huge_pages = false;
    for (const QuantizedGraph& graph : result.graphs) runtime::Session check(graph.output, config);
  }

  // Into place.
  if (options.out.empty()) {
    std::vector<fs::path> moved;
    try {
      for (QuantizedGraph& graph : result.graphs) {
        const std::string name = graph.output.filename().string();
        for (const std::string& file : {name, data_file_of(name)}) {
          if (!path_exists(staged_graph_dir / file)) continue;
          rename_no_replace(staged_graph_dir / file, graph_dir / file);
          moved.push_back(graph_dir / file);
        }
        graph.output = graph_dir / name;
      }
    } catch (...) {
      std::error_code ec;
      for (const fs::path& path : moved) fs::remove(path, ec);
      throw;
    }
  } else {
    for (const std::vector<std::string>* names :
         {&ModelFiles::required_support_files(), &ModelFiles::optional_support_files()}) {
      for (const std::string& name : *names) {
        std::error_code ec;
        if (!fs::is_regular_file(files.root / name, ec)) continue;
        fs::copy_file(files.root / name, staging->path() / name, ec);
        if (ec) throw Error((files.root / name).string() + ": cannot copy to " + options.out.string() + ": " + ec.message());
        result.copied.push_back(result.model_dir / name);
      }
    }
    rename_no_replace(staging->path(), result.model_dir);
    staging->release();
    for (QuantizedGraph& graph : result.graphs) graph.output = graph_dir / graph.output.filename();
  }
  return result;
}

}  // namespace opusrt
