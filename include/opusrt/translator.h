#pragma once

// opusrt's public C++ API: one Translator per model directory, shared by any number of threads.
//
//   opusrt::Translator translator("opus-mt-en-zh/");            // Optimum or Xenova layout
//   opusrt::Translation t = translator.translate("Hello world.", {.target_lang = "cmn_Hans"});
//   std::cout << t.text;
//
//   // Streaming: a callback per new token; returning false stops that text.
//   translator.translate("Hello world.", options, [](size_t, int64_t, std::string_view partial) {
//     std::cout << partial << "\n";
//     return true;
//   });
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
#include "opusrt/types.h"

namespace opusrt {

// Fixed for a Translator's lifetime.
struct TranslatorConfig {
  std::string variant;       // "" (fp32) or a file suffix: "quantized", "fp16", "int8", "uint8", "q4", ...; "q8": _q8, else _quantized
  int intra_op_threads = 0;  // 0: ONNX Runtime's default (one per physical core)

  // Tuning (every setting gives the same translations):
  DecoderMode decoder = DecoderMode::kAuto;  // which decoder graphs run the steps (opusrt/types.h)
  // Back the loaded weights with transparent huge pages (Linux): fewer TLB misses per decoder
  // step, about 15 % faster on the opus-mt-en-zh size; costs load time. Off: plain pages.
  bool huge_pages = true;
};

// Per call; unset fields take the model's generation_config.json values (transformers'
// generate() semantics throughout). A plain value: copyable and comparable (a server batches
// requests whose options are equal).
struct TranslateOptions {
  std::optional<int> num_beams;               // 1: greedy; default: generation_config num_beams
  std::optional<int64_t> max_new_tokens;      // default: up to generation_config max_length
  std::optional<double> length_penalty;       // beam score = sum log-probs / length ^ length_penalty
  std::optional<EarlyStopping> early_stopping;  // beam search stopping rule (opusrt/types.h)
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
  // continues after it. Text goes through target.spm; ids are used as given (after the text's).
  // It costs about one decoder step whatever its length (one prefill run), and it is what
  // transformers does with decoder_input_ids = [decoder_start] + prefix: max_new_tokens and
  // min_new_tokens count the tokens after it, and beam scores are normalised by them. With
  // translate_text, it belongs to the text's first unit only.
  std::string target_prefix;
  std::vector<int64_t> target_prefix_ids;

  bool operator==(const TranslateOptions&) const = default;
};

// Streaming: called for each new token of a text with the text decoded so far (greedy and
// sampling: as each token is chosen; beam search: token by token once the best hypothesis is
// known). `index` is the text's position in the call. Return false to stop decoding that text
// (its translation is then what was generated so far); true to go on.
using TokenCallback = std::function<bool(size_t index, int64_t token, std::string_view partial_text)>;

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
  bool stopped = false;             // the streaming callback stopped it: output_ids are what came so far
  // translate_batch: why this text could not be translated (invalid UTF-8, too long, ...);
  // empty when it was. The other texts of the batch are translated regardless.
  std::string error;
  bool ok() const { return error.empty(); }
};

struct TextTranslation {
  std::string text;                 // the translation, with the source's whitespace and line breaks
  std::vector<std::string> pieces;  // the source units translated, in order
  std::vector<Translation> units;   // their translations (ids, scores, n-best), same order
  // translate_texts: why this text could not be translated (its first failing unit's error);
  // empty when it was. The other texts are translated regardless.
  std::string error;
  bool ok() const { return error.empty(); }
};

struct ModelInfo {
  std::filesystem::path directory;
  DecoderMode decoder_mode = DecoderMode::kAuto;  // resolved: merged, split or recompute
  int intra_op_threads = 0;                       // as configured (0: ONNX Runtime's default, one per core)
  int64_t d_model = 0, encoder_layers = 0, decoder_layers = 0, decoder_attention_heads = 0;
  int64_t vocab_size = 0, max_position_embeddings = 0;
  int64_t decoder_vocab_size = 0;  // output ids; != vocab_size (source ids) with separate vocabs
  int64_t decoder_start_token_id = 0, eos_token_id = 0, pad_token_id = 0;
  int default_num_beams = 1;
  bool default_do_sample = false;  // generation_config.json's do_sample
  int64_t default_max_length = 0;
  std::vector<std::string> language_tokens;  // ">>cmn_Hans<<", ...
  // What a user should know about this export, one sentence each (e.g. that it has no KV cache
  // and decodes slowly); the CLI and the server print them when they load the model.
  std::vector<std::string> warnings;
};

class Translator {
 public:
  // Loads and checks the model; throws opusrt::Error naming the missing or inconsistent file/field.
  explicit Translator(const std::filesystem::path& model_dir, const TranslatorConfig& config = {});
  ~Translator();
  Translator(Translator&&) noexcept;
  Translator& operator=(Translator&&) noexcept;

  // One text as one unit; throws opusrt::Error when it cannot be translated (invalid UTF-8,
  // longer than the model takes, bad options).
  Translation translate(std::string_view text, const TranslateOptions& options = {},
                        const TokenCallback& on_token = {}) const;
  // One padded batch through the encoder and decoder; results in input order. A text that
  // cannot be translated gets Translation::error and the others are translated; options that
  // are wrong for every text throw opusrt::Error.
  std::vector<Translation> translate_batch(std::span<const std::string> texts, const TranslateOptions& options = {},
                                           const TokenCallback& on_token = {}) const;

  // Any text, of any length: cut into units (sentences, and pieces of sentences longer than the
  // model's max_position_embeddings), translated in padded batches of `max_batch`, joined back.
  // Blank text is kept as it is (except with SplitMode::kNone). Throws opusrt::Error when a
  // unit cannot be translated. The cut and the join are opusrt::TextUnits (opusrt/text_units.h),
  // for callers that batch the units themselves.
  TextTranslation translate_text(std::string_view text, const TranslateOptions& options = {},
                                 SplitMode split = SplitMode::kAuto, size_t max_batch = 32,
                                 const TokenCallback& on_token = {}) const;
  // Many texts at once: their units share batches (what a file translation wants). A text that
  // cannot be translated gets TextTranslation::error; the others are translated. The
  // callback's index numbers the units of all texts in order (TextTranslation::units, text
  // after text); its partial text is the unit's.
  std::vector<TextTranslation> translate_texts(std::span<const std::string> texts, const TranslateOptions& options = {},
                                               SplitMode split = SplitMode::kAuto, size_t max_batch = 32,
                                               const TokenCallback& on_token = {}) const;

  const ModelInfo& model_info() const;

 private:
  friend class IncrementalSession;  // opusrt/incremental.h: reuses the loaded model
  friend class TextUnits;           // opusrt/text_units.h: measures pieces with the tokenizer
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opusrt
