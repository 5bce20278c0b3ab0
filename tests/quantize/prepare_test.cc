// prepare_model() and the runtime's use of its copies (runtime/prepared_graph.h): what it writes,
// that a session loads the copy only while the source is unchanged, that the copy computes
// exactly what the source does, and that a failure never leaves a copy looking fresh.
#include <chrono>
#include <fstream>

#include <gtest/gtest.h>

#include "model/model_files.h"
#include "opusrt/error.h"
#include "quantize/onnx_model_file.h"
#include "quantize/prepare.h"
#include "quantize_test_util.h"
#include "runtime/prepared_graph.h"
#include "runtime/session.h"
#include "test_env.h"

namespace opusrt::test {
namespace {

const std::vector<std::string> kGraphs = {"encoder_model", "decoder_model_merged", "decoder_model",
                                          "decoder_with_past_model"};

fs::path copy_model(const fs::path& from, const fs::path& to, const std::vector<std::string>& suffixes = {""}) {
  fs::create_directories(to);
  for (const std::string& suffix : suffixes)
    for (const std::string& graph : kGraphs) fs::copy_file(from / (graph + suffix + ".onnx"), to / (graph + suffix + ".onnx"));
  for (const auto* names : {&ModelFiles::required_support_files(), &ModelFiles::optional_support_files()})
    for (const std::string& name : *names)
      if (fs::exists(from / name)) fs::copy_file(from / name, to / name);
  return to;
}

runtime::SessionConfig session_config(bool use_prepared) {
  runtime::SessionConfig config;
  config.intra_op_threads = 1;
  config.huge_pages = false;
  config.use_prepared = use_prepared;
  return config;
}

// The encoder's last_hidden_state for fixed ids, from the source or the prepared copy.
std::vector<float> encode(const fs::path& graph, bool use_prepared, fs::path* loaded_from = nullptr) {
  const runtime::Session session(graph, session_config(use_prepared));
  if (loaded_from) *loaded_from = session.loaded_from();
  const std::vector<int64_t> ids = {5, 9, 17, 3, 2, 11, 0};
  const std::vector<int64_t> mask(ids.size(), 1);
  const int64_t shape[] = {1, static_cast<int64_t>(ids.size())};
  const runtime::Tensor input_ids = runtime::Tensor::from_int64(shape, ids);
  const runtime::Tensor attention_mask = runtime::Tensor::from_int64(shape, mask);
  const runtime::NamedTensor inputs[] = {{"input_ids", &input_ids}, {"attention_mask", &attention_mask}};
  const std::string outputs[] = {"last_hidden_state"};
  std::vector<runtime::NamedTensor> ordered;
  for (const runtime::IoInfo& info : session.inputs())
    for (const runtime::NamedTensor& in : inputs)
      if (in.name == info.name) ordered.push_back(in);
  return session.run(ordered, outputs).front().to_float_vector();
}

TEST(PrepareModel, WritesExternalDataCopiesThatSessionsLoadAndThatComputeTheSame) {
  TempDir dir("prepare");
  const fs::path model = copy_model(tiny_model_dir(), dir.path() / "tiny");
  const std::vector<std::string> before = listing(model);
  const std::vector<PreparedGraph> prepared = prepare_model(model, {});
  ASSERT_EQ(prepared.size(), kGraphs.size());
  std::vector<std::string> outside;  // only .opusrt-prepared/ was added
  for (const std::string& entry : listing(model))
    if (!entry.starts_with(".opusrt-prepared")) outside.push_back(entry);
  EXPECT_EQ(outside, before);
  for (const std::string& graph : kGraphs)
    for (const char* suffix : {".onnx", ".onnx_data", ".onnx.source"})
      EXPECT_TRUE(fs::is_regular_file(model / ".opusrt-prepared" / (graph + suffix))) << graph + suffix;
  EXPECT_EQ(listing(model / ".opusrt-prepared").size(), 3 * kGraphs.size());  // no staging left
  for (const PreparedGraph& graph : prepared) {
    SCOPED_TRACE(graph.source.string());
    EXPECT_FALSE(graph.already_fresh);
    EXPECT_EQ(graph.output, model / ".opusrt-prepared" / graph.source.filename());
    EXPECT_TRUE(fs::is_regular_file(graph.output.string() + "_data"));
    EXPECT_EQ(runtime::fresh_prepared_graph(graph.source), graph.output);
    // Every large weight lives in the data file; the graph file keeps the structure.
    const quantize::OnnxModelFile copy = quantize::read_onnx_model(graph.output);
    EXPECT_TRUE(copy.had_external_data);
    EXPECT_LT(fs::file_size(graph.output), fs::file_size(graph.source) / 2);
  }
  const fs::path encoder = model / "encoder_model.onnx";
  fs::path loaded;
  const std::vector<float> from_copy = encode(encoder, true, &loaded);
  EXPECT_EQ(loaded, model / ".opusrt-prepared" / "encoder_model.onnx");
  const std::vector<float> from_source = encode(encoder, false, &loaded);
  EXPECT_EQ(loaded, encoder);
  EXPECT_EQ(from_copy, from_source);  // bit for bit: the same graph and values, only stored elsewhere

  // A second run finds everything up to date and writes nothing.
  for (const PreparedGraph& graph : prepare_model(model, {})) EXPECT_TRUE(graph.already_fresh) << graph.source;
  PrepareOptions force;
  force.variants = {"fp32"};
  force.force = true;
  for (const PreparedGraph& graph : prepare_model(model, force)) EXPECT_FALSE(graph.already_fresh) << graph.source;
}

TEST(PrepareModel, AChangedSourceIsLoadedAsItIsUntilPreparedAgain) {
  TempDir dir("prepare-stale");
  const fs::path model = copy_model(tiny_model_dir(), dir.path() / "tiny");
  prepare_model(model, {});
  const fs::path encoder = model / "encoder_model.onnx";
  // The same bytes with a new modification time: the stamp no longer matches.
  fs::last_write_time(encoder, fs::last_write_time(encoder) + std::chrono::seconds(5));
  EXPECT_FALSE(runtime::fresh_prepared_graph(encoder).has_value());
  fs::path loaded;
  encode(encoder, true, &loaded);
  EXPECT_EQ(loaded, encoder);
  // Another graph in its place (the decoder's bytes; a different size): still the source.
  prepare_model(model, {});
  ASSERT_TRUE(runtime::fresh_prepared_graph(encoder).has_value());
  fs::copy_file(tiny_model_dir() / "encoder_model_quantized.onnx", encoder, fs::copy_options::overwrite_existing);
  EXPECT_FALSE(runtime::fresh_prepared_graph(encoder).has_value());
  // Prepared again, the copy follows.
  const std::vector<PreparedGraph> again = prepare_model(model, {});
  EXPECT_FALSE(again.front().already_fresh);
  EXPECT_TRUE(runtime::fresh_prepared_graph(encoder).has_value());
  // A missing or damaged stamp means the source.
  fs::remove(runtime::prepared_stamp_path(encoder));
  EXPECT_FALSE(runtime::fresh_prepared_graph(encoder).has_value());
}

TEST(PrepareModel, VariantsArePreparedByName) {
  TempDir dir("prepare-variant");
  const fs::path model = copy_model(tiny_model_dir(), dir.path() / "tiny", {"", "_q4"});
  PrepareOptions options;
  options.variants = {"q4"};
  const std::vector<PreparedGraph> prepared = prepare_model(model, options);
  ASSERT_EQ(prepared.size(), kGraphs.size());
  for (const PreparedGraph& graph : prepared) EXPECT_TRUE(graph.source.filename().string().ends_with("_q4.onnx"));
  EXPECT_FALSE(runtime::fresh_prepared_graph(model / "encoder_model.onnx").has_value());  // fp32 was not asked
  options.variants = {"fp32", "q4"};
  const std::vector<PreparedGraph> both = prepare_model(model, options);
  EXPECT_EQ(both.size(), 2 * kGraphs.size());
}

TEST(PrepareModel, ErrorsNameWhatIsWrongAndLeaveNoFreshCopy) {
  TempDir dir("prepare-errors");
  auto error_of = [](const fs::path& model, const PrepareOptions& options) -> std::string {
    try {
      prepare_model(model, options);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of(dir.path() / "nowhere", {}).find("nowhere"), std::string::npos);
  const fs::path model = copy_model(tiny_model_dir(), dir.path() / "tiny");
  PrepareOptions unknown;
  unknown.variants = {"q3"};
  EXPECT_NE(error_of(model, unknown).find("q3"), std::string::npos);
  // A graph that does not parse: an error naming it, and no copy of it that looks fresh.
  { std::ofstream(model / "decoder_model.onnx", std::ios::binary | std::ios::trunc) << "not a graph"; }
  const std::string error = error_of(model, {});
  EXPECT_NE(error.find("decoder_model.onnx"), std::string::npos) << error;
  EXPECT_FALSE(runtime::fresh_prepared_graph(model / "decoder_model.onnx").has_value());
  for (const std::string& entry : listing(model / ".opusrt-prepared"))
    EXPECT_FALSE(entry.starts_with(".staging")) << entry;  // the staging directory is gone
}

}  // namespace
}  // namespace opusrt::test
