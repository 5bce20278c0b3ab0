#include "runtime/prepared_graph.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "opusrt/error.h"

namespace opusrt::runtime {
namespace fs = std::filesystem;

namespace {
constexpr const char* kPreparedDir = ".opusrt-prepared";
// What a copy is made of beyond its source: a copy written by an older `opusrt prepare` (format
// 1: external weights only) is stale, and is written again by the next prepare.
constexpr const char* kPreparedFormat = "opusrt-prepared 2: external weights, logits of the last position\n";

std::string file_stamp(const fs::path& file) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(file, ec);
  if (ec) throw Error(file.string() + ": cannot read its size: " + ec.message());
  const fs::file_time_type modified = fs::last_write_time(file, ec);
  if (ec) throw Error(file.string() + ": cannot read its modification time: " + ec.message());
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(modified.time_since_epoch()).count();
  return file.filename().string() + " bytes " + std::to_string(size) + " mtime_ns " + std::to_string(ns) + "\n";
}
}  // namespace

fs::path prepared_graph_path(const fs::path& graph) { return graph.parent_path() / kPreparedDir / graph.filename(); }

fs::path prepared_stamp_path(const fs::path& graph) {
  return graph.parent_path() / kPreparedDir / (graph.filename().string() + ".source");
}

std::string source_stamp(const fs::path& graph) {
  std::string stamp = kPreparedFormat + file_stamp(graph);
  const fs::path data = graph.string() + "_data";
  std::error_code ec;
  if (fs::is_regular_file(data, ec)) stamp += file_stamp(data);
  return stamp;
}

std::string recorded_stamp(const fs::path& graph) {
  std::ifstream in(prepared_stamp_path(graph), std::ios::binary);
  if (!in) return "";
  std::ostringstream recorded;
  recorded << in.rdbuf();
  return recorded.str();
}

std::optional<fs::path> fresh_prepared_graph(const fs::path& graph) {
  const fs::path copy = prepared_graph_path(graph);
  std::error_code ec;
  if (!fs::is_regular_file(copy, ec)) return std::nullopt;
  const std::string recorded = recorded_stamp(graph);
  try {
    // What follows the source's stamp describes how the copy was made (prepare's options).
    if (recorded.empty() || !recorded.starts_with(source_stamp(graph))) return std::nullopt;
  } catch (const Error&) {
    return std::nullopt;
  }
  return copy;
}

}  // namespace opusrt::runtime
