#pragma once

// MarianTokenizer: the C++ twin of transformers' MarianTokenizer (transformers 4.36 semantics),
// reading a Marian / OPUS-MT model directory:
//   source.spm, target.spm      SentencePiece models (encode with source, decode with target)
//   vocab.json                  piece -> id (shared by encoder and decoder)
//   target_vocab.json           piece -> id used for decoding when separate_vocabs is true
//   tokenizer_config.json       optional: eos/unk/pad tokens, clean_up_tokenization_spaces,
//                               separate_vocabs, added_tokens_decoder
//   special_tokens_map.json     optional: eos/unk/pad tokens; as in transformers 4.36
//                               from_pretrained it is read only when tokenizer_config.json has
//                               no added_tokens_decoder (legacy format), and then wins over it
// scripts/fixtures/marian_tokenizer.py is the Python reference with the same semantics.
//
// encode(text):
//   * the text is split on the special tokens (eos/unk/pad/added tokens), leftmost first; a
//     special token in the text becomes that token's id;
//   * in every other chunk a language code `>>xx<<` at the very start of the chunk becomes ONE
//     token (its vocab.json id, <unk> when the vocab lacks it). As in transformers, the
//     pattern is the greedy regex `>>.+<<` (not crossing "\n"): within a line it spans from the
//     first `>>` to the LAST `<<`, and every such span is deleted from the chunk, also one that
//     is not at the start (transformers' re.sub), before the chunk is encoded;
//   * the rest is encoded by source.spm; pieces map to ids through vocab.json (unknown -> unk);
//   * </s> is appended, no BOS. No other normalisation (no strip): "" and whitespace-only
//     input give just {eos_id()}.
// decode(ids): specials (eos, unk, pad) are skipped, the rest map to pieces through vocab.json
//   (target_vocab.json with separate_vocabs), runs of pieces are detokenised with target.spm
//   (pieces target.spm does not know pass through verbatim), U+2581 becomes ' ', the result is
//   stripped of (Unicode, Python str.strip) whitespace. A non-special entry of
//   added_tokens_decoder is not detokenised: it becomes a sub-text of its own and the sub-texts
//   are joined with " " (transformers' legacy added tokens). Then, if clean_up_tokenization_spaces
//   (default true), " ." -> ".", " ?" -> "?", " !" -> "!", " ," -> ",", " ' " -> "'",
//   " n't" -> "n't", " 'm" -> "'m", " 's" -> "'s", " 've" -> "'ve", " 're" -> "'re" in turn.
//
// Errors: every failure throws opusrt::Error.
//   * Invalid UTF-8 input to encode()/encode_pieces() (lone continuation byte, truncated
//     sequence, overlong encoding, UTF-16 surrogate, code point > U+10FFFF, bytes 0xC0/0xC1/
//     0xF5..0xFF) is rejected before anything else with
//     "invalid UTF-8 at byte N of the input" (N = 0-based offset of the first bad sequence).
//     Input is never repaired or replaced.
//   * decode() of an id that is neither special nor in the vocabulary throws, naming the id.
//   * Construction errors name the file (and field) at fault.
//
// All const member functions are thread-safe; no file IO happens after construction.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace opusrt {

class MarianTokenizer {
 public:
  // Loads source.spm, target.spm, vocab.json (and target_vocab.json when separate_vocabs),
  // tokenizer_config.json / special_tokens_map.json when present (defaults: </s>, <unk>,
  // <pad>, clean-up on, shared vocab).
  explicit MarianTokenizer(const std::filesystem::path& model_dir);
  ~MarianTokenizer();
  MarianTokenizer(MarianTokenizer&&) noexcept;
  MarianTokenizer& operator=(MarianTokenizer&&) noexcept;
  MarianTokenizer(const MarianTokenizer&) = delete;
  MarianTokenizer& operator=(const MarianTokenizer&) = delete;

  // Source ids with </s> appended (== transformers tokenizer(text)["input_ids"]).
  std::vector<int64_t> encode(std::string_view text) const;

  // The vocab.json piece of every id encode() returns, one per id ("<unk>" for unknown
  // pieces, "</s>" last) == convert_ids_to_tokens(encode(text)).
  std::vector<std::string> encode_pieces(std::string_view text) const;

  // Target-side ids of a text, without </s>: the form of a forced target prefix
  // (== transformers tokenizer(text_target=text)["input_ids"] minus its </s>): encode()'s steps
  // (added tokens, a leading ">>xx<<", ...) with target.spm and the decoding vocabulary.
  std::vector<int64_t> encode_target(std::string_view text) const;

  // == transformers tokenizer.decode(ids, skip_special_tokens=True).
  std::string decode(std::span<const int64_t> ids) const;

  int64_t eos_id() const;
  int64_t pad_id() const;
  int64_t unk_id() const;

  // Number of entries in vocab.json (== max id + 1 for Marian's dense vocabularies).
  size_t vocab_size() const;
  // Number of entries of the vocabulary output ids decode through: target_vocab.json with
  // separate vocabs, else vocab.json (== vocab_size()).
  size_t target_vocab_size() const;

  // Throws naming the vocabulary file at fault when vocab.json does not have `vocab_size`
  // entries or the decoding vocabulary does not have `decoder_vocab_size` (the sizes of the
  // model's config, named `config_name` in the message).
  void check_sizes(int64_t vocab_size, int64_t decoder_vocab_size, const std::string& config_name) const;

  // vocab.json id of a piece (or of a special token), nullopt when absent.
  std::optional<int64_t> token_id(std::string_view piece) const;

  // Every ">>xx<<" entry of vocab.json (the source vocabulary), in file order. transformers'
  // supported_language_codes is empty for separate vocabularies, yet its tokenizer still turns a
  // leading ">>xx<<" of the source into that vocab.json id; opusrt lists them either way, so that a
  // target language can be chosen on such a model too.
  std::vector<std::string> language_tokens() const;

 private:
  struct Impl;
  std::unique_ptr<const Impl> impl_;
};

}  // namespace opusrt
