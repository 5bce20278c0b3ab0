#include "tokenizer/marian_tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <nlohmann/json.hpp>

#include "opusrt/error.h"
#include "opusrt/utf8.h"

namespace opusrt {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr std::string_view kSpieceUnderline = "\xE2\x96\x81";  // U+2581

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using PieceToId = std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>>;

// ---------------------------------------------------------------------------------------------
// UTF-8

// Decodes the code point at s[i] (s is valid UTF-8); sets len.
char32_t decode_at(std::string_view s, size_t i, size_t& len) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    len = 1;
    return c;
  }
  len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  char32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return cp;
}

// Python's str.isspace().
bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::string_view python_lstrip(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t len = 0;
    if (!is_python_space(decode_at(s, i, len))) break;
    i += len;
  }
  return s.substr(i);
}

std::string_view python_rstrip(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t len = 0;
    if (!is_python_space(decode_at(s, start, len))) break;
    end = start;
  }
  return s.substr(0, end);
}

// Python's str.replace(old, new): every non-overlapping occurrence, left to right.
void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty() || s.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out.append(to);
  }
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

// transformers' PreTrainedTokenizerBase.clean_up_tokenization, in its order.
void clean_up_tokenization(std::string& s) {
  static constexpr std::pair<std::string_view, std::string_view> kRules[] = {
      {" .", "."},   {" ?", "?"},     {" !", "!"},     {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  };
  for (const auto& [from, to] : kRules) replace_all(s, from, to);
}

// ---------------------------------------------------------------------------------------------
// Files

std::string read_file(const fs::path& path, std::string_view name) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(std::string(name) + ": cannot open " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(std::string(name) + ": cannot read " + path.string());
  return std::move(ss).str();
}

struct Vocab {
  PieceToId piece_to_id;
  std::unordered_map<int64_t, std::string> id_to_piece;  // last entry wins for a repeated id
  std::vector<std::string> language_tokens;             // ">>xx<<" keys in file order
};

// SAX reader for a flat {"piece": id, ...} object: keeps file order, no DOM.
class VocabReader {
 public:
  using Json = nlohmann::json;
  VocabReader(std::string_view name, Vocab& vocab) : name_(name), vocab_(vocab) {}

  bool null() { return bad_value("null"); }
  bool boolean(bool) { return bad_value("a boolean"); }
  bool number_integer(Json::number_integer_t v) {
    if (v < 0) return bad_value("negative");
    return add(static_cast<int64_t>(v));
  }
  bool number_unsigned(Json::number_unsigned_t v) {
    if (v > static_cast<Json::number_unsigned_t>(INT64_MAX)) return bad_value("out of range");
    return add(static_cast<int64_t>(v));
  }
  bool number_float(Json::number_float_t, const Json::string_t&) { return bad_value("not an integer"); }
  bool string(Json::string_t&) { return bad_value("a string"); }
  bool binary(Json::binary_t&) { return bad_value("binary"); }
  bool start_object(size_t) {
    if (depth_ != 0) return bad_value("an object");
    ++depth_;
    return true;
  }
  bool key(Json::string_t& k) {
    key_ = std::move(k);
    return true;
  }
  bool end_object() {
    --depth_;
    return true;
  }
  bool start_array(size_t) {
    if (depth_ == 0) throw Error(name_ + ": expected a JSON object mapping pieces to ids, got an array");
    return bad_value("an array");
  }
  bool end_array() { return true; }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception& ex) {
    throw Error(name_ + ": invalid JSON: " + ex.what());
  }

 private:
  bool bad_value(const char* what) {
    if (depth_ == 0) throw Error(name_ + ": expected a JSON object mapping pieces to ids");
    throw Error(name_ + ": entry \"" + key_ + "\" must be a non-negative integer id (" + what + ")");
  }
  bool add(int64_t id) {
    if (depth_ == 0) throw Error(name_ + ": expected a JSON object mapping pieces to ids");
    auto [it, inserted] = vocab_.piece_to_id.emplace(key_, id);
    if (!inserted) throw Error(name_ + ": duplicate entry \"" + key_ + "\"");
    vocab_.id_to_piece[id] = key_;
    if (key_.starts_with(">>") && key_.ends_with("<<")) vocab_.language_tokens.push_back(key_);
    return true;
  }

  std::string name_;
  Vocab& vocab_;
  std::string key_;
  int depth_ = 0;
};

Vocab load_vocab(const fs::path& path, std::string_view name) {
  const std::string text = read_file(path, name);
  Vocab vocab;
  VocabReader reader(name, vocab);
  json::sax_parse(text, &reader);
  if (vocab.piece_to_id.empty()) throw Error(std::string(name) + ": the vocabulary is empty");
  return vocab;
}

std::optional<json> load_optional_json(const fs::path& path, std::string_view name) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  const std::string text = read_file(path, name);
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(std::string(name) + ": invalid JSON: " + e.what());
  }
  if (!doc.is_object()) throw Error(std::string(name) + ": expected a JSON object");
  return doc;
}

// A special-token field: "</s>" or {"content": "</s>", ...}; nullopt when absent or null.
std::optional<std::string> token_field(const json& doc, std::string_view file, const char* field) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->get<std::string>();
  }
  throw Error(std::string(file) + ": field '" + field + "' must be a string or an object with a string \"content\"");
}

std::optional<bool> bool_field(const json& doc, std::string_view file, const char* field) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) throw Error(std::string(file) + ": field '" + field + "' must be a boolean");
  return it->get<bool>();
}

std::optional<std::vector<std::string>> token_list_field(const json& doc, std::string_view file, const char* field) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (!it->is_array()) throw Error(std::string(file) + ": field '" + field + "' must be an array");
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (v.is_string()) {
      out.push_back(v.get<std::string>());
    } else if (v.is_object() && v.contains("content") && v["content"].is_string()) {
      out.push_back(v["content"].get<std::string>());
    } else {
      throw Error(std::string(file) + ": field '" + field + "' must hold strings or {\"content\": ...} objects");
    }
  }
  return out;
}

void load_spm(sentencepiece::SentencePieceProcessor& sp, const fs::path& path, std::string_view name) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(std::string(name) + ": not found: " + path.string());
  const auto status = sp.Load(path.string());
  if (!status.ok()) throw Error(std::string(name) + ": cannot load " + path.string() + ": " + status.ToString());
}

struct AddedToken {
  std::string content;
  int64_t id = 0;
  bool lstrip = false;
  bool rstrip = false;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

struct MarianTokenizer::Impl {
  sentencepiece::SentencePieceProcessor source_spm;
  sentencepiece::SentencePieceProcessor target_spm;
  Vocab vocab;                       // vocab.json
  std::optional<Vocab> target_vocab;  // target_vocab.json (separate_vocabs)
  std::string decode_vocab_name = "vocab.json";
  std::filesystem::path dir;  // the model directory, for messages

  std::string eos, unk, pad;
  int64_t eos_id = 0, unk_id = 0, pad_id = 0;
  std::vector<std::string> special_tokens;  // all_special_tokens
  std::unordered_set<int64_t> special_ids;  // all_special_ids
  std::vector<AddedToken> added;            // never split; longest first
  PieceToId added_ids;
  struct AddedById {
    std::string content;
    bool legacy = false;  // not a special token: decoded verbatim as a sub-text of its own
  };
  std::unordered_map<int64_t, AddedById> added_by_id;
  bool clean_up = true;

  const Vocab& decode_vocab() const { return target_vocab ? *target_vocab : vocab; }

  // One side of the tokenizer: the source (source.spm, vocab.json) or the target (target.spm, the
  // decoding vocabulary), as transformers' MarianTokenizer switches them for text_target.
  struct Side {
    const sentencepiece::SentencePieceProcessor& spm;
    const Vocab& vocab;
    const char* spm_name;
    const char* input_name;  // for messages: "the input", "the target prefix"
    int64_t unk_id;          // this vocabulary's <unk>
  };
  Side source_side() const { return {source_spm, vocab, "source.spm", "the input", unk_id}; }
  Side target_side() const {
    const Vocab& target = decode_vocab();
    const auto unk_entry = target.piece_to_id.find(unk);
    return {target_spm, target, "target.spm", "the target prefix",
            unk_entry == target.piece_to_id.end() ? unk_id : unk_entry->second};
  }

  // Added tokens keep their (vocab.json) ids on both sides, as in transformers.
  int64_t token_to_id(std::string_view token, const Side& side) const {
    if (auto it = added_ids.find(token); it != added_ids.end()) return it->second;
    if (auto it = side.vocab.piece_to_id.find(token); it != side.vocab.piece_to_id.end()) return it->second;
    return side.unk_id;
  }

  // Leftmost added token at or after `from`; longest at that position.
  const AddedToken* find_added(std::string_view text, size_t from, size_t& at) const {
    if (added.empty()) return nullptr;
    for (size_t i = from; i < text.size(); ++i) {
      for (const auto& tok : added) {
        if (text.compare(i, tok.content.size(), tok.content) == 0) {
          at = i;
          return &tok;
        }
      }
    }
    return nullptr;
  }

  // MarianTokenizer._tokenize on one chunk: language code + sentencepiece pieces -> ids.
  void encode_chunk(std::string_view chunk, const Side& side, std::vector<int64_t>& ids) const {
    std::string rest;
    rest.reserve(chunk.size());
    size_t line_start = 0;
    while (true) {
      const size_t nl = chunk.find('\n', line_start);
      const size_t line_end = nl == std::string_view::npos ? chunk.size() : nl;
      const std::string_view line = chunk.substr(line_start, line_end - line_start);
      const size_t p = line.find(">>");
      const size_t q = line.rfind("<<");
      if (p != std::string_view::npos && q != std::string_view::npos && q >= p + 3) {
        if (line_start == 0 && p == 0) ids.push_back(token_to_id(line.substr(0, q + 2), side));
        rest.append(line.substr(0, p));
        rest.append(line.substr(q + 2));
      } else {
        rest.append(line);
      }
      if (nl == std::string_view::npos) break;
      rest.push_back('\n');
      line_start = nl + 1;
    }
    std::vector<std::string> pieces;
    const auto status = side.spm.Encode(rest, &pieces);
    if (!status.ok()) throw Error(std::string(side.spm_name) + ": encoding failed: " + status.ToString());
    for (const auto& piece : pieces) ids.push_back(token_to_id(piece, side));
  }

  std::vector<int64_t> encode(std::string_view text) const {
    std::vector<int64_t> ids = encode_without_eos(text, source_side());
    ids.push_back(eos_id);
    return ids;
  }

  // tokenizer(text_target=...) minus its </s>: the same steps as encode() on the target side.
  std::vector<int64_t> encode_target(std::string_view text) const { return encode_without_eos(text, target_side()); }

  std::vector<int64_t> encode_without_eos(std::string_view text, const Side& side) const {
    if (const auto bad = find_invalid_utf8(text)) {
      throw Error("invalid UTF-8 at byte " + std::to_string(*bad) + " of " + side.input_name);
    }
    // tokens_trie.split + lstrip/rstrip of the neighbours of added tokens.
    struct Chunk {
      std::string_view text;
      const AddedToken* token;
    };
    std::vector<Chunk> chunks;
    size_t start = 0;
    for (size_t at = 0; const AddedToken* tok = find_added(text, start, at);) {
      if (at > start) chunks.push_back({text.substr(start, at - start), nullptr});
      chunks.push_back({text.substr(at, tok->content.size()), tok});
      start = at + tok->content.size();
    }
    if (start < text.size()) chunks.push_back({text.substr(start), nullptr});
    for (size_t i = 0; i < chunks.size(); ++i) {
      const AddedToken* tok = chunks[i].token;
      if (tok == nullptr) continue;
      if (tok->rstrip && i + 1 < chunks.size() && !chunks[i + 1].token) chunks[i + 1].text = python_lstrip(chunks[i + 1].text);
      if (tok->lstrip && i > 0 && !chunks[i - 1].token) chunks[i - 1].text = python_rstrip(chunks[i - 1].text);
    }
    std::vector<int64_t> ids;
    ids.reserve(text.size() / 3 + 2);
    for (const auto& chunk : chunks) {
      if (chunk.token) {
        ids.push_back(chunk.token->id);
      } else if (!chunk.text.empty()) {
        encode_chunk(chunk.text, side, ids);
      }
    }
    return ids;
  }

  bool is_special_string(std::string_view s) const {
    return std::find(special_tokens.begin(), special_tokens.end(), s) != special_tokens.end();
  }

  std::string decode_pieces(const std::vector<std::string_view>& pieces) const {
    if (pieces.empty()) return {};
    std::string out;
    const auto status = target_spm.Decode(pieces, &out);
    if (!status.ok()) throw Error("target.spm: decoding failed: " + status.ToString());
    return out;
  }

  // MarianTokenizer.convert_tokens_to_string on one run of pieces.
  std::string convert_tokens_to_string(const std::vector<std::string_view>& tokens) const {
    std::vector<std::string_view> current;
    current.reserve(tokens.size());
    std::string out;
    for (const std::string_view piece : tokens) {
      if (is_special_string(piece)) {  // specials bypass sentencepiece
        out += decode_pieces(current);
        out += piece;
        out += ' ';
        current.clear();
      } else {
        current.push_back(piece);
      }
    }
    out += decode_pieces(current);
    replace_all(out, kSpieceUnderline, " ");
    return std::string(python_rstrip(python_lstrip(out)));
  }

  std::string decode(std::span<const int64_t> ids) const {
    const Vocab& dv = decode_vocab();
    std::vector<std::string_view> run;
    run.reserve(ids.size());
    std::string text;
    bool first = true;
    auto emit = [&](std::string_view sub_text) {  // sub-texts are joined with " "
      if (!first) text += ' ';
      text += sub_text;
      first = false;
    };
    for (const int64_t id : ids) {
      if (special_ids.contains(id)) continue;
      if (const auto added_it = added_by_id.find(id); added_it != added_by_id.end()) {
        if (added_it->second.legacy) {
          if (!run.empty()) emit(convert_tokens_to_string(run));
          run.clear();
          emit(added_it->second.content);
        } else {
          run.push_back(added_it->second.content);
        }
        continue;
      }
      const auto it = dv.id_to_piece.find(id);
      if (it == dv.id_to_piece.end()) {
        throw Error("decode: token id " + std::to_string(id) + " is not in " + decode_vocab_name + " (" +
                    std::to_string(dv.piece_to_id.size()) + " entries)");
      }
      run.push_back(it->second);
    }
    if (!run.empty()) emit(convert_tokens_to_string(run));
    if (clean_up) clean_up_tokenization(text);
    return text;
  }
};

MarianTokenizer::MarianTokenizer(const std::filesystem::path& model_dir) {
  auto impl = std::make_unique<Impl>();

  const auto config = load_optional_json(model_dir / "tokenizer_config.json", "tokenizer_config.json");
  const json empty = json::object();
  const json& cfg = config ? *config : empty;
  // transformers 4.36 from_pretrained: with added_tokens_decoder in tokenizer_config.json (the
  // current format) special_tokens_map.json is not read; in the legacy format it overrides.
  const bool legacy = !cfg.contains("added_tokens_decoder");
  std::optional<json> stm;
  if (legacy) stm = load_optional_json(model_dir / "special_tokens_map.json", "special_tokens_map.json");

  std::string eos_origin = "default", unk_origin = "default", pad_origin = "default";
  auto special = [&](const char* field, const char* fallback, std::string& origin) {
    // Both files are validated even when one of them is not used.
    const auto from_cfg = token_field(cfg, "tokenizer_config.json", field);
    const auto from_stm = stm ? token_field(*stm, "special_tokens_map.json", field) : std::nullopt;
    if (from_stm) {
      origin = std::string("special_tokens_map.json field '") + field + "'";
      return *from_stm;
    }
    if (from_cfg) {
      origin = std::string("tokenizer_config.json field '") + field + "'";
      return *from_cfg;
    }
    return std::string(fallback);
  };
  impl->eos = special("eos_token", "</s>", eos_origin);
  impl->unk = special("unk_token", "<unk>", unk_origin);
  impl->pad = special("pad_token", "<pad>", pad_origin);
  std::vector<std::string> additional;
  {
    const auto from_cfg = token_list_field(cfg, "tokenizer_config.json", "additional_special_tokens");
    const auto from_stm = stm ? token_list_field(*stm, "special_tokens_map.json", "additional_special_tokens")
                              : std::nullopt;
    if (from_stm) {
      additional = *from_stm;
    } else if (from_cfg) {
      additional = *from_cfg;
    }
  }
  impl->clean_up = bool_field(cfg, "tokenizer_config.json", "clean_up_tokenization_spaces").value_or(true);
  const bool separate_vocabs = bool_field(cfg, "tokenizer_config.json", "separate_vocabs").value_or(false);

  impl->dir = model_dir;
  load_spm(impl->source_spm, model_dir / "source.spm", "source.spm");
  load_spm(impl->target_spm, model_dir / "target.spm", "target.spm");
  impl->vocab = load_vocab(model_dir / "vocab.json", "vocab.json");
  if (separate_vocabs) {
    impl->target_vocab = load_vocab(model_dir / "target_vocab.json", "target_vocab.json");
    impl->decode_vocab_name = "target_vocab.json";
  }

  // added_tokens_decoder: {"<id>": {"content": ..., "lstrip": ..., "rstrip": ...}, ...}
  if (auto it = cfg.find("added_tokens_decoder"); it != cfg.end() && !it->is_null()) {
    if (!it->is_object()) throw Error("tokenizer_config.json: field 'added_tokens_decoder' must be an object");
    for (const auto& [key, value] : it->items()) {
      AddedToken tok;
      const auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), tok.id);
      if (ec != std::errc() || ptr != key.data() + key.size() || tok.id < 0) {
        throw Error("tokenizer_config.json: field 'added_tokens_decoder' has a key that is not a token id: \"" + key +
                    "\"");
      }
      if (!value.is_object() || !value.contains("content") || !value["content"].is_string()) {
        throw Error("tokenizer_config.json: field 'added_tokens_decoder' entry " + key +
                    " needs a string \"content\"");
      }
      tok.content = value["content"].get<std::string>();
      if (tok.content.empty()) throw Error("tokenizer_config.json: field 'added_tokens_decoder' entry " + key + " is empty");
      tok.lstrip = bool_field(value, "tokenizer_config.json: added_tokens_decoder entry", "lstrip").value_or(false);
      tok.rstrip = bool_field(value, "tokenizer_config.json: added_tokens_decoder entry", "rstrip").value_or(false);
      if (impl->added_ids.emplace(tok.content, tok.id).second) impl->added.push_back(std::move(tok));
    }
  }

  // The special tokens are always added tokens; their ids come from added_tokens_decoder or
  // from vocab.json.
  auto special_id = [&](const std::string& token, const std::string& origin, const char* what) -> int64_t {
    if (auto it = impl->added_ids.find(token); it != impl->added_ids.end()) return it->second;
    if (auto it = impl->vocab.piece_to_id.find(token); it != impl->vocab.piece_to_id.end()) {
      AddedToken tok{token, it->second, false, false};
      impl->added_ids.emplace(token, tok.id);
      impl->added.push_back(std::move(tok));
      return it->second;
    }
    throw Error("vocab.json: " + std::string(what) + " token \"" + token + "\" (" + origin + ") is not in the vocab");
  };
  // unk first: transformers requires it in vocab.json itself.
  if (!impl->vocab.piece_to_id.contains(impl->unk)) {
    throw Error("vocab.json: unk token \"" + impl->unk + "\" (" + unk_origin + ") is not in the vocab");
  }
  impl->unk_id = special_id(impl->unk, unk_origin, "unk");
  impl->eos_id = special_id(impl->eos, eos_origin, "eos");
  impl->pad_id = special_id(impl->pad, pad_origin, "pad");
  impl->special_tokens = {impl->eos, impl->unk, impl->pad};
  impl->special_ids = {impl->eos_id, impl->unk_id, impl->pad_id};
  for (const auto& token : additional) {
    if (token.empty()) continue;
    impl->special_tokens.push_back(token);
    impl->special_ids.insert(special_id(token, "additional_special_tokens", "additional special"));
  }
  for (const auto& tok : impl->added) {
    const bool legacy = std::find(impl->special_tokens.begin(), impl->special_tokens.end(), tok.content) ==
                        impl->special_tokens.end();
    impl->added_by_id.try_emplace(tok.id, Impl::AddedById{tok.content, legacy});
  }
  std::stable_sort(impl->added.begin(), impl->added.end(),
                   [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
  impl_ = std::move(impl);
}

MarianTokenizer::~MarianTokenizer() = default;
MarianTokenizer::MarianTokenizer(MarianTokenizer&&) noexcept = default;
MarianTokenizer& MarianTokenizer::operator=(MarianTokenizer&&) noexcept = default;

std::vector<int64_t> MarianTokenizer::encode(std::string_view text) const { return impl_->encode(text); }

std::vector<std::string> MarianTokenizer::encode_pieces(std::string_view text) const {
  const std::vector<int64_t> ids = impl_->encode(text);
  std::vector<std::string> pieces;
  pieces.reserve(ids.size());
  for (const int64_t id : ids) {
    if (const auto added = impl_->added_by_id.find(id); added != impl_->added_by_id.end()) {
      pieces.push_back(added->second.content);
    } else if (const auto it = impl_->vocab.id_to_piece.find(id); it != impl_->vocab.id_to_piece.end()) {
      pieces.push_back(it->second);
    } else {
      pieces.push_back(impl_->unk);
    }
  }
  return pieces;
}

std::string MarianTokenizer::decode(std::span<const int64_t> ids) const { return impl_->decode(ids); }

std::vector<int64_t> MarianTokenizer::encode_target(std::string_view text) const { return impl_->encode_target(text); }

int64_t MarianTokenizer::eos_id() const { return impl_->eos_id; }
int64_t MarianTokenizer::pad_id() const { return impl_->pad_id; }
int64_t MarianTokenizer::unk_id() const { return impl_->unk_id; }
size_t MarianTokenizer::vocab_size() const { return impl_->vocab.piece_to_id.size(); }
size_t MarianTokenizer::target_vocab_size() const { return impl_->decode_vocab().piece_to_id.size(); }

void MarianTokenizer::check_sizes(int64_t vocab_size, int64_t decoder_vocab_size, const std::string& config_name) const {
  if (static_cast<int64_t>(this->vocab_size()) != vocab_size)
    throw Error((impl_->dir / "vocab.json").string() + ": has " + std::to_string(this->vocab_size()) +
                " entries, " + config_name +
                " vocab_size = " + std::to_string(vocab_size));
  if (static_cast<int64_t>(target_vocab_size()) != decoder_vocab_size)
    throw Error((impl_->dir / impl_->decode_vocab_name).string() + ": has " + std::to_string(target_vocab_size()) +
                " entries, " +
                config_name + " decoder_vocab_size = " + std::to_string(decoder_vocab_size) +
                (impl_->target_vocab ? "" : " (tokenizer_config.json: separate_vocabs is false)"));
}

std::optional<int64_t> MarianTokenizer::token_id(std::string_view piece) const {
  if (auto it = impl_->added_ids.find(piece); it != impl_->added_ids.end()) return it->second;
  if (auto it = impl_->vocab.piece_to_id.find(piece); it != impl_->vocab.piece_to_id.end()) return it->second;
  return std::nullopt;
}

std::vector<std::string> MarianTokenizer::language_tokens() const { return impl_->vocab.language_tokens; }

}  // namespace opusrt
