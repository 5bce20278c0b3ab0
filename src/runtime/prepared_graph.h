#pragma once

// A prepared copy of a graph file: the same graph, its weights moved into an external data file
// and, in decoder graphs, the output projection run on the last position only
// (quantize/last_position_logits.h), written by `opusrt prepare` into `.opusrt-prepared/` next to
// the graph, with a stamp of the source file it was made from and of the copy's format. Sessions
// load it in place of the source while the stamp matches.
//
//   // after `opusrt prepare --model DIR`:
//   std::optional<fs::path> copy = fresh_prepared_graph(DIR / "decoder_model_merged.onnx");
//   // -> DIR/.opusrt-prepared/decoder_model_merged.onnx (+ .onnx_data, + .source), or nullopt
//   //    when there is none or the source changed since (size or modification time).
//
// Why: ONNX Runtime parses weights stored inside the protobuf into memory, copies them into
// tensors, then pre-packs the MatMul weights; weights in an external file are mapped instead.
// On the opus-mt-en-zh-size merged decoder (369 MB) that took the load from 1.0 s to 0.52 s and
// the resident memory after it from 486 MB to 263 MB (the pre-packed copies no longer sit next
// to parsed ones). ONNX Runtime's own "save the optimized model" cannot do it: the graph it
// writes for the merged decoder (an If with two subgraphs) fails its own loader (duplicate
// initializer names), and the optimisation level does not change the load time.
#include <filesystem>
#include <optional>
#include <string>

namespace opusrt::runtime {

// `.opusrt-prepared/<graph file name>` in the graph's directory.
std::filesystem::path prepared_graph_path(const std::filesystem::path& graph);
// The stamp beside it: `<graph file name>.source`.
std::filesystem::path prepared_stamp_path(const std::filesystem::path& graph);
// What identifies the source as it is now: the prepared format's version, the size and
// modification time (ns) of the graph file and of its `<file>_data` when it has one. Throws
// naming the file when it cannot be read.
std::string source_stamp(const std::filesystem::path& graph);
// The stamp file's text as `opusrt prepare` wrote it: source_stamp(graph) at the time, then a line
// per option the copy was made with. Empty when there is none.
std::string recorded_stamp(const std::filesystem::path& graph);
// The prepared copy when it exists and its stamp begins with source_stamp(graph); nullopt otherwise
// (never throws: a missing or unreadable copy means loading the source).
std::optional<std::filesystem::path> fresh_prepared_graph(const std::filesystem::path& graph);

}  // namespace opusrt::runtime
