#pragma once

// The engine's stages wired together by hand, so tests can look inside a run (raw logits per
// step, the KV cache length per step) that the Translator facade keeps to itself.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "decoder/cached_decoder.h"
#include "decoder/decoder_graphs.h"
#include "encoder/encoder.h"
#include "logits/logits_processor.h"
#include "model/model_config.h"
#include "model/model_files.h"
#include "generation/generator.h"
#include "test_env.h"
#include "tokenizer/marian_tokenizer.h"

namespace opusrt::test {

// Every input of the tiny fixture's reference, plus what the reference does not cover: empty,
// whitespace, a language token alone.
inline std::vector<std::string> fixture_inputs() {
  const nlohmann::json reference = read_reference_json(tiny_model_dir());
  std::vector<std::string> texts;
  for (const auto& c : reference["cases"]) texts.push_back(c["text"].get<std::string>());
  texts.insert(texts.end(), {"", "   ", ">>cmn_Hans<<"});
  return texts;
}

struct GreedyRun {
  std::vector<int64_t> output_ids;
  std::vector<std::vector<float>> raw_logits;  // per step, before processors
  std::vector<int64_t> past_lengths;           // decoder past after each step
};

class Engine {
 public:
  // variant: "" (fp32) or a graph file suffix ("quantized", "fp16", ...), as TranslatorConfig::variant.
  Engine(const std::filesystem::path& model_dir, DecoderMode mode, const std::string& variant = "")
      : files(ModelFiles::find(model_dir, variant)),
        config(ModelConfig::load(files.config)),
        generation(GenerationConfig::load(files.generation_config, files.config)),
        tokenizer(files.root),
        encoder(Encoder::load(files.encoder, {}, config)),
        graphs(files, config, {}, mode) {}

  GenerationRequest greedy_request(int64_t max_new_tokens) const {
    GenerationRequest request{generation, max_new_tokens, 0};
    request.config.num_beams = 1;
    request.config.num_return_sequences = 1;
    request.config.do_sample = false;
    return request;
  }

  GreedyRun greedy(const std::vector<int64_t>& source_ids, int64_t max_new_tokens) const {
    Generator generator(graphs, config, encode(source_ids), greedy_request(max_new_tokens), {{}});
    GreedyRun run;
    generator.observe_steps([&](int64_t, const StepLogits& logits, std::span<const int64_t>) {
      auto row = logits.row(0);
      run.raw_logits.emplace_back(row.begin(), row.end());
      run.past_lengths.push_back(generator.decoder().past_length());
    });
    while (!generator.finished()) generator.step();
    run.output_ids = generator.hypotheses(0).front().ids;
    return run;
  }

  std::vector<std::vector<int64_t>> greedy_batch(const std::vector<std::vector<int64_t>>& sources,
                                                 int64_t max_new_tokens) const {
    EncoderOutput encoded = encoder.run(TokenBatch::right_padded(sources, generation.pad_token_id));
    const std::vector<std::vector<int64_t>> no_prefixes(sources.size());
    std::vector<std::vector<int64_t>> outputs;
    for (auto& hypotheses :
         generate(graphs, config, std::move(encoded), greedy_request(max_new_tokens), no_prefixes).hypotheses)
      outputs.push_back(hypotheses.front().ids);
    return outputs;
  }

  EncoderOutput encode(const std::vector<int64_t>& source_ids) const {
    return encoder.run(TokenBatch::right_padded(std::span(&source_ids, 1), generation.pad_token_id));
  }

  ModelFiles files;
  ModelConfig config;
  GenerationConfig generation;
  MarianTokenizer tokenizer;
  Encoder encoder;
  DecoderGraphs graphs;
};

}  // namespace opusrt::test

namespace opusrt {
// Readable test names for parameterised tests over decoder modes.
inline void PrintTo(DecoderMode mode, std::ostream* out) { *out << to_string(mode); }
}  // namespace opusrt
