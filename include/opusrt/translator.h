#pragma once

// opusrt's public C++ API: one Translator per model directory, shared by any number of threads.
//
//   opusrt::Translator translator("opus-mt-en-zh/");            // Optimum or Xenova layout
//   opusrt::Translation t = translator.translate("Hello world.", {.target_lang = "cmn_Hans"});
//   std::cout << t.text;
//
// Pipeline: text -> MarianTokenizer -> Encoder -> decoder step (KV cache) -> logits processors
// -> search -> MarianTokenizer::decode -> text. Errors are opusrt::Error (opusrt/error.h) with
// a message naming the file, field, tensor or input at fault.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "opusrt/error.h"

namespace opusrt {

// How decoder steps are run; every mode gives the same tokens.
enum class DecoderMode {
  kAuto,       // the merged graph when the export has it, else the split pair
  kMerged,     // decoder_model_merged.onnx, branch chosen by use_cache_branch
  kSplit,      // decoder_model.onnx at step 0, decoder_with_past_model.onnx afterwards
  kRecompute,  // no KV cache: each step reruns the whole prefix (quadratic; a test oracle)
};
const char* to_string(DecoderMode mode);
DecoderMode parse_decoder_mode(std::string_view text);  // "auto" | "merged" | "split" | "recompute"

// Fixed for a Translator's lifetime.
struct TranslatorConfig {
  DecoderMode decoder = DecoderMode::kAuto;
  std::string variant;       // "" (fp32) or a file suffix: "quantized", "fp16", "int8", "uint8", "q4", ...
  int intra_op_threads = 0;  // 0: ONNX Runtime's default (one per physical core)
  // Back the loaded weights with transparent huge pages (Linux): fewer TLB misses per decoder
  // step, about 15 % faster on the opus-mt-en-zh size; costs load time. Off: plain pages.
  bool huge_pages = true;
};

// Per call; unset fields take the model's generation_config.json values (transformers'
// generate() semantics throughout).
struct TranslateOptions {
  std::optional<int> num_beams;               // 1: greedy; default: generation_config num_beams
  std::optional<int64_t> max_new_tokens;      // default: up to generation_config max_length
  std::optional<double> length_penalty;       // beam score = sum log-probs / length ^ length_penalty
  std::optional<std::string> early_stopping;  // beam search: "true" | "false" | "never"
  std::optional<int> num_return_sequences;    // n-best, at most num_beams; fills Translation::n_best
  std::string target_lang;                    // e.g. "cmn_Hans": prepends >>cmn_Hans<< unless the text has a >>xx<<

  // Logits processors (transformers' names and semantics).
  std::optional<int64_t> min_new_tokens;      // eos banned until this many tokens were generated
  std::optional<double> repetition_penalty;   // > 1 discourages tokens already in the output
  std::optional<int64_t> no_repeat_ngram_size;  // no n-gram of this size twice
  std::vector<std::vector<int64_t>> bad_words_ids;  // added to generation_config's (which bans pad)
  std::vector<int64_t> suppress_tokens;       // never generated

  // Sampling instead of greedy / beam search; a seed makes runs reproducible.
  std::optional<bool> do_sample;
  std::optional<double> temperature;
  std::optional<int64_t> top_k;               // 0: off
  std::optional<double> top_p;                // 1: off
  uint64_t seed = 0;

  // Forced start of the output (interactive use, re-translating a growing source): decoding
  // continues after it. Text goes through target.spm; ids are used as given.
  std::string target_prefix;
  std::vector<int64_t> target_prefix_ids;

  // Streaming: called for each new token of a sentence with the text decoded so far (for beam
  // search, token by token once the best hypothesis is known). `index` is the position in the batch.
  std::function<void(size_t index, int64_t token, std::string_view partial_text)> on_token;
};

struct Timings {
  double encoder_ms = 0;
  double decoder_ms = 0;
  double total_ms = 0;  // tokenize + encoder + decoder + detokenize
};

struct Alternative {
  std::string text;
  std::vector<int64_t> output_ids;
  double score = 0;
};

struct Translation {
  std::string text;
  std::vector<int64_t> source_ids;  // as MarianTokenizer gives them, </s> last
  std::vector<int64_t> output_ids;  // as transformers generate() returns them: start token first, </s> last unless cut
  double score = 0;                 // beam: transformers' sequence_score; greedy: the same formula on its path
  std::vector<Alternative> n_best;  // with num_return_sequences > 1: best first (the first is this translation)
  Timings timings;                  // for a batch, the batch's times
};

// How translate_text cuts a text into units the model translates.
enum class SplitMode {
  kAuto,       // the whole text as one unit when it fits the model, else sentences (never cropped)
  kSentences,  // always sentence by sentence (ICU), joined back with the original whitespace
  kNone,       // the text exactly as given, as one unit (blank text too, as transformers would);
               // an error if it does not fit
};
SplitMode parse_split_mode(std::string_view text);  // "auto" | "sentences" | "none"

struct TextTranslation {
  std::string text;                 // the translation, with the source's whitespace and line breaks
  std::vector<std::string> pieces;  // the source units translated, in order
  std::vector<Translation> units;   // their translations (ids, scores, n-best), same order
};

struct ModelInfo {
  std::filesystem::path directory;
  DecoderMode decoder_mode = DecoderMode::kAuto;  // resolved: merged, split or recompute
  int64_t d_model = 0, encoder_layers = 0, decoder_layers = 0, decoder_attention_heads = 0;
  int64_t vocab_size = 0, max_position_embeddings = 0;
  int64_t decoder_start_token_id = 0, eos_token_id = 0, pad_token_id = 0;
  int default_num_beams = 1;
  int64_t default_max_length = 0;
  std::vector<std::string> language_tokens;  // ">>cmn_Hans<<", ...
};

class Translator {
 public:
  // Loads and checks the model; throws opusrt::Error naming the missing or inconsistent file/field.
  explicit Translator(const std::filesystem::path& model_dir, const TranslatorConfig& config = {});
  ~Translator();
  Translator(Translator&&) noexcept;
  Translator& operator=(Translator&&) noexcept;

  Translation translate(std::string_view text, const TranslateOptions& options = {}) const;
  // One padded batch through the encoder and decoder; results in input order.
  std::vector<Translation> translate_batch(std::span<const std::string> texts,
                                           const TranslateOptions& options = {}) const;

  // Any text, of any length: cut into units (sentences, and pieces of sentences longer than the
  // model's max_position_embeddings), translated in padded batches of `max_batch`, joined back.
  // Blank text is kept as it is (except with SplitMode::kNone).
  TextTranslation translate_text(std::string_view text, const TranslateOptions& options = {},
                                 SplitMode split = SplitMode::kAuto, size_t max_batch = 32) const;
  // Many texts at once: their units share batches (what a file translation wants).
  std::vector<TextTranslation> translate_texts(std::span<const std::string> texts, const TranslateOptions& options = {},
                                               SplitMode split = SplitMode::kAuto, size_t max_batch = 32) const;

  const ModelInfo& model_info() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opusrt
