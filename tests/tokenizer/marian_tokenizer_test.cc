// Conformance of opusrt::MarianTokenizer with transformers' MarianTokenizer.
//
// Expected values: tokenizer_cases_*.json (tests/tokenizer/make_tokenizer_cases.py, from the
// Python reference scripts/fixtures/marian_tokenizer.py) and the shared model's reference.json
// (written by transformers itself).
#include "tokenizer/marian_tokenizer.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "opusrt/error.h"
#include "test_env.h"

namespace opusrt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json load_json(const fs::path& path) { return json::parse(slurp(path)); }

// Shows a string with its bytes escaped (failure messages of non-ASCII / control text).
std::string printable(std::string_view s, size_t max = 120) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

// A scratch copy of a model directory's tokenizer files, removed on destruction.
class ScratchModel {
 public:
  ScratchModel(const fs::path& from, const std::string& tag) {
    dir_ = fs::temp_directory_path() /
           ("opusrt_tok_" + tag + "_" + std::to_string(::getpid()) + "_" +
            std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const char* name : {"source.spm", "target.spm", "vocab.json", "tokenizer_config.json",
                             "special_tokens_map.json", "target_vocab.json"}) {
      if (fs::exists(from / name)) fs::copy_file(from / name, dir_ / name);
    }
  }
  ~ScratchModel() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const fs::path& dir() const { return dir_; }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(dir_ / name, std::ios::binary | std::ios::trunc) << content;
  }
  void remove(const std::string& name) const { fs::remove(dir_ / name); }

 private:
  fs::path dir_;
};

// Expects construction to fail with an opusrt::Error whose message contains `needle`.
void expect_load_error(const fs::path& dir, const std::string& needle) {
  try {
    MarianTokenizer tok(dir);
    ADD_FAILURE() << "no error; expected one mentioning \"" << needle << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message \"" << e.what() << "\" does not mention \"" << needle << "\"";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected opusrt::Error, got another exception: " << e.what();
  }
}

std::vector<int64_t> ids_of(const json& v) { return v.get<std::vector<int64_t>>(); }

// ---------------------------------------------------------------------------------------------
// Generated cases

void run_cases_file(const fs::path& model_dir, const fs::path& cases_path) {
  ASSERT_TRUE(fs::exists(cases_path)) << cases_path << " is missing (scripts/fixtures/make_test_fixtures.sh)";
  const json cases = load_json(cases_path);
  const MarianTokenizer tok(model_dir);

  EXPECT_EQ(tok.eos_id(), cases.at("eos_id").get<int64_t>());
  EXPECT_EQ(tok.unk_id(), cases.at("unk_id").get<int64_t>());
  EXPECT_EQ(tok.pad_id(), cases.at("pad_id").get<int64_t>());
  EXPECT_EQ(tok.vocab_size(), cases.at("vocab_size").get<size_t>());
  EXPECT_EQ(tok.language_tokens(), cases.at("language_tokens").get<std::vector<std::string>>());

  const auto& encode_cases = cases.at("encode_cases");
  ASSERT_GE(encode_cases.size(), 250u);
  size_t failures = 0;
  for (size_t i = 0; i < encode_cases.size(); ++i) {
    const auto& c = encode_cases[i];
    const std::string text = c.at("text").get<std::string>();
    const auto expected_ids = ids_of(c.at("ids"));
    const auto ids = tok.encode(text);
    const bool ok = ids == expected_ids && tok.encode_pieces(text) == c.at("pieces").get<std::vector<std::string>>() &&
                    tok.decode(ids) == c.at("decoded").get<std::string>();
    EXPECT_EQ(ids, expected_ids) << "encode case " << i << " (" << c.at("kind").get<std::string>()
                                 << "): " << printable(text);
    EXPECT_EQ(tok.encode_pieces(text), c.at("pieces").get<std::vector<std::string>>())
        << "encode case " << i << ": " << printable(text);
    EXPECT_EQ(tok.decode(expected_ids), c.at("decoded").get<std::string>())
        << "encode case " << i << ": " << printable(text);
    if (!ok && ++failures >= 20) FAIL() << "too many failures, stopping";
  }
  // The same texts as forced target prefixes (target.spm, the decoding vocabulary, no </s>).
  size_t target_cases = 0;
  for (size_t i = 0; i < encode_cases.size(); ++i) {
    const auto& c = encode_cases[i];
    const std::string text = c.at("text").get<std::string>();
    const auto expected = ids_of(c.at("target_ids"));
    const auto got = tok.encode_target(text);
    EXPECT_EQ(got, expected) << "target case " << i << " (" << c.at("kind").get<std::string>() << "): " << printable(text);
    target_cases += got == expected;
    if (got != expected && ++failures >= 20) FAIL() << "too many failures, stopping";
  }
  EXPECT_EQ(target_cases, encode_cases.size());

  const auto& decode_cases = cases.at("decode_cases");
  ASSERT_GT(decode_cases.size(), 100u);
  for (size_t i = 0; i < decode_cases.size(); ++i) {
    const auto& c = decode_cases[i];
    const auto ids = ids_of(c.at("ids"));
    const std::string expected = c.at("text").get<std::string>();
    const std::string got = tok.decode(ids);
    EXPECT_EQ(got, expected) << "decode case " << i << " (" << c.at("kind").get<std::string>() << ")";
    if (got != expected && ++failures >= 20) FAIL() << "too many failures, stopping";
  }
}

TEST(MarianTokenizer, TinyFixtureCases) {
  run_cases_file(test::tiny_model_dir(), test::fixtures_dir() / "tokenizer_cases_tiny.json");
}

// A model with separate vocabularies: source ids through vocab.json, output ids through
// target_vocab.json (which has twice as many entries, <pad> among them, not last).
TEST(MarianTokenizer, SeparateVocabsFixtureCases) {
  run_cases_file(test::fixtures_dir() / "tiny-separate", test::fixtures_dir() / "tokenizer_cases_tiny-separate.json");
}

TEST(MarianTokenizer, SeparateVocabsTargetSideUsesTheTargetVocab) {
  const fs::path dir = test::fixtures_dir() / "tiny-separate";
  const MarianTokenizer tok(dir);
  const json target_vocab = load_json(dir / "target_vocab.json");
  EXPECT_EQ(tok.target_vocab_size(), target_vocab.size());
  EXPECT_GT(tok.target_vocab_size(), tok.vocab_size());
  EXPECT_EQ(target_vocab.at("<pad>").get<int64_t>(), tok.pad_id());
  // A forced target prefix is target.spm pieces in target_vocab.json ids: it decodes back to
  // the text (these have nothing NFKC changes), and some of its ids do not exist on the source side.
  size_t beyond_source = 0;
  for (const std::string text : {"你好世界。", "大家早上好。", "今天天气很好。"}) {
    const std::vector<int64_t> ids = tok.encode_target(text);
    EXPECT_EQ(tok.decode(ids), text);
    for (int64_t id : ids) beyond_source += id >= static_cast<int64_t>(tok.vocab_size());
  }
  EXPECT_GT(beyond_source, 0u);
}

TEST(MarianTokenizer, CheckSizesNamesTheVocabularyAtFault) {
  const fs::path separate = test::fixtures_dir() / "tiny-separate";
  const MarianTokenizer tok(separate);
  const auto source = static_cast<int64_t>(tok.vocab_size()), target = static_cast<int64_t>(tok.target_vocab_size());
  EXPECT_NO_THROW(tok.check_sizes(source, target, "config.json"));
  const auto message_of = [](const auto& call) -> std::string {
    try {
      call();
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_NE(message_of([&] { tok.check_sizes(source + 1, target, "config.json"); }).find("vocab.json: has"),
            std::string::npos);
  const std::string wrong_target = message_of([&] { tok.check_sizes(source, target - 1, "config.json"); });
  EXPECT_NE(wrong_target.find((separate / "target_vocab.json").string() + ": has " + std::to_string(target)),
            std::string::npos)
      << wrong_target;
  EXPECT_NE(wrong_target.find("decoder_vocab_size = " + std::to_string(target - 1)), std::string::npos);
  // A shared vocab must have the decoder's size too; the message says the vocab is shared.
  const MarianTokenizer shared(test::tiny_model_dir());
  const auto size = static_cast<int64_t>(shared.vocab_size());
  EXPECT_EQ(shared.target_vocab_size(), shared.vocab_size());
  EXPECT_NE(message_of([&] { shared.check_sizes(size, size + 5, "config.json"); }).find("separate_vocabs is false"),
            std::string::npos);
}

TEST(MarianTokenizer, SharedModelCases) {
  OPUSRT_REQUIRE_SHARED_MODEL(model);
  const fs::path cases = test::fixtures_dir() / "tokenizer_cases_shared.json";
  if (!fs::exists(cases)) GTEST_SKIP() << cases << " not generated (shared model absent at fixture time)";
  run_cases_file(model, cases);
}

// transformers' own output for the shared model: every case's source ids/pieces and every
// greedy / beam / n-best text.
TEST(MarianTokenizer, SharedReferenceJson) {
  OPUSRT_REQUIRE_SHARED_MODEL(model);
  const json ref = load_json(model / "reference.json");
  const MarianTokenizer tok(model);
  EXPECT_EQ(tok.eos_id(), ref.at("meta").at("eos_token_id").get<int64_t>());
  EXPECT_EQ(tok.pad_id(), ref.at("meta").at("pad_token_id").get<int64_t>());
  EXPECT_EQ(tok.unk_id(), ref.at("meta").at("unk_token_id").get<int64_t>());
  EXPECT_EQ(tok.vocab_size(), ref.at("meta").at("vocab_size").get<size_t>());

  const auto& cases = ref.at("cases");
  ASSERT_EQ(cases.size(), 30u);
  size_t decoded = 0;
  for (const auto& c : cases) {
    const std::string text = c.at("text").get<std::string>();
    const int index = c.at("index").get<int>();
    EXPECT_EQ(tok.encode(text), ids_of(c.at("source_ids"))) << "case " << index << ": " << printable(text);
    EXPECT_EQ(tok.encode_pieces(text), c.at("source_pieces").get<std::vector<std::string>>()) << "case " << index;
    std::vector<const json*> outputs = {&c.at("greedy"), &c.at("beam")};
    for (const auto& nb : c.at("beam").at("n_best")) outputs.push_back(&nb);
    for (const json* out : outputs) {
      EXPECT_EQ(tok.decode(ids_of(out->at("output_ids"))), out->at("text").get<std::string>()) << "case " << index;
      ++decoded;
    }
  }
  EXPECT_GE(decoded, 60u);

  const auto& batched = ref.at("batched_greedy");
  const auto texts_in = batched.at("texts_in").get<std::vector<std::string>>();
  for (size_t i = 0; i < texts_in.size(); ++i) {
    const auto padded = ids_of(batched.at("input_ids")[i]);
    const auto ids = tok.encode(texts_in[i]);
    ASSERT_LE(ids.size(), padded.size());
    EXPECT_TRUE(std::equal(ids.begin(), ids.end(), padded.begin())) << "batched row " << i;
    for (size_t k = ids.size(); k < padded.size(); ++k) EXPECT_EQ(padded[k], tok.pad_id());
    EXPECT_EQ(tok.decode(ids_of(batched.at("output_ids")[i])), batched.at("texts")[i].get<std::string>())
        << "batched row " << i;
  }
}

// ---------------------------------------------------------------------------------------------
// Behaviour that does not depend on the expected-value files

TEST(MarianTokenizer, EmptyAndWhitespaceGiveOnlyEos) {
  const MarianTokenizer tok(test::tiny_model_dir());
  const std::vector<int64_t> eos_only = {tok.eos_id()};
  EXPECT_EQ(tok.encode(""), eos_only);
  EXPECT_EQ(tok.encode("     "), eos_only);
  EXPECT_EQ(tok.encode(" \t\n\r\n "), eos_only);
  EXPECT_EQ(tok.decode(std::vector<int64_t>{}), "");
  EXPECT_EQ(tok.decode(std::vector<int64_t>{tok.pad_id(), tok.unk_id(), tok.eos_id()}), "");
}

TEST(MarianTokenizer, AccessorsMatchVocabJson) {
  const fs::path dir = test::tiny_model_dir();
  const MarianTokenizer tok(dir);
  const ordered_json vocab = ordered_json::parse(slurp(dir / "vocab.json"));
  EXPECT_EQ(tok.vocab_size(), vocab.size());
  std::vector<std::string> languages;
  int64_t max_id = -1;
  for (const auto& [piece, id] : vocab.items()) {
    EXPECT_EQ(tok.token_id(piece), std::optional<int64_t>(id.get<int64_t>())) << piece;
    max_id = std::max(max_id, id.get<int64_t>());
    if (piece.starts_with(">>") && piece.ends_with("<<")) languages.push_back(piece);
  }
  EXPECT_EQ(static_cast<size_t>(max_id + 1), tok.vocab_size());
  EXPECT_EQ(tok.language_tokens(), languages);
  EXPECT_EQ(tok.token_id("</s>"), std::optional<int64_t>(tok.eos_id()));
  EXPECT_EQ(tok.token_id("<unk>"), std::optional<int64_t>(tok.unk_id()));
  EXPECT_EQ(tok.token_id("<pad>"), std::optional<int64_t>(tok.pad_id()));
  EXPECT_EQ(tok.token_id("definitely not a piece \xE2\x98\x83"), std::nullopt);
  for (const auto& lang : languages) {
    // A leading language token is one id, with or without a space after it.
    const auto with_space = tok.encode(lang + " hello");
    const auto without = tok.encode(lang + "hello");
    ASSERT_FALSE(with_space.empty());
    EXPECT_EQ(with_space.front(), *tok.token_id(lang)) << lang;
    EXPECT_EQ(with_space, without) << lang;
  }
}

TEST(MarianTokenizer, LanguageCodeHandling) {
  const MarianTokenizer tok(test::tiny_model_dir());
  const auto plain = tok.encode("hello world");
  // Unknown code at the start: one <unk>, then the text.
  auto unknown = tok.encode(">>zz_Zzzz<< hello world");
  ASSERT_FALSE(unknown.empty());
  EXPECT_EQ(unknown.front(), tok.unk_id());
  unknown.erase(unknown.begin());
  EXPECT_EQ(unknown, plain);
  // A code in the middle is removed (transformers' re.sub), not kept.
  EXPECT_EQ(tok.encode("hello >>zz<< world"), tok.encode("hello  world"));
  // A code after a newline is removed too; the newline stays.
  EXPECT_EQ(tok.encode("hello\n>>zz<< world"), tok.encode("hello\n world"));
}

TEST(MarianTokenizer, InvalidUtf8Throws) {
  const MarianTokenizer tok(test::tiny_model_dir());
  struct Bad {
    std::string bytes;
    size_t offset;
    const char* what;
  };
  const std::vector<Bad> bad = {
      {"\x80", 0, "lone continuation byte"},
      {"abc\xBF def", 3, "lone continuation byte inside"},
      {"ok \xC3", 3, "truncated 2-byte sequence at the end"},
      {"\xE4\xB8", 0, "truncated 3-byte sequence"},
      {"\xE4\xB8x", 0, "3-byte sequence cut by ASCII"},
      {"xy\xF0\x9F\x98", 2, "truncated 4-byte sequence"},
      {"\xC0\xAF", 0, "overlong '/' (C0)"},
      {"\xC1\xBF", 0, "overlong (C1)"},
      {"\xE0\x80\xAF", 0, "overlong 3-byte"},
      {"\xF0\x80\x80\xAF", 0, "overlong 4-byte"},
      {"a\xED\xA0\x80", 1, "UTF-16 high surrogate"},
      {"\xED\xBF\xBF", 0, "UTF-16 low surrogate"},
      {"\xED\xA0\xBD\xED\xB8\x80", 0, "CESU-8 surrogate pair"},
      {"\xF4\x90\x80\x80", 0, "above U+10FFFF"},
      {"\xF5\x80\x80\x80", 0, "F5 lead byte"},
      {"\xFF", 0, "0xFF"},
      {"\xFE\xFF", 0, "0xFE 0xFF"},
      {">>cmn_Hans<< \xFF", 13, "after a language tag"},
      {"</s>\x80", 4, "after a special token"},
  };
  for (const auto& b : bad) {
    for (int which = 0; which < 2; ++which) {
      try {
        if (which == 0) {
          (void)tok.encode(b.bytes);
        } else {
          (void)tok.encode_pieces(b.bytes);
        }
        ADD_FAILURE() << b.what << ": no exception";
      } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "invalid UTF-8 at byte " + std::to_string(b.offset) + " of the input")
            << b.what;
      } catch (...) {
        ADD_FAILURE() << b.what << ": not an opusrt::Error";
      }
    }
  }
  // Boundary code points that ARE valid.
  for (const std::string& good : std::vector<std::string>{"\x7F", "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80",
                                 "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF", std::string("a\0b", 3)}) {
    EXPECT_NO_THROW((void)tok.encode(good)) << printable(good);
  }
}

TEST(MarianTokenizer, DecodeRejectsIdsOutsideTheVocab) {
  const MarianTokenizer tok(test::tiny_model_dir());
  const auto size = static_cast<int64_t>(tok.vocab_size());
  for (const int64_t id : {size, size + 1, int64_t{-1}, std::numeric_limits<int64_t>::max(),
                           std::numeric_limits<int64_t>::min()}) {
    const std::vector<int64_t> ids = {tok.pad_id(), 5, id, tok.eos_id()};
    try {
      (void)tok.decode(ids);
      ADD_FAILURE() << "no error for id " << id;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::to_string(id)), std::string::npos) << e.what();
    }
  }
  // Specials are skipped before the check; in-range ids are fine.
  EXPECT_NO_THROW((void)tok.decode(std::vector<int64_t>{tok.pad_id(), size - 1, tok.eos_id()}));
}

TEST(MarianTokenizer, MissingAndBrokenFilesNameTheFile) {
  const fs::path src = test::tiny_model_dir();
  {
    ScratchModel m(src, "novocab");
    m.remove("vocab.json");
    expect_load_error(m.dir(), "vocab.json");
  }
  {
    ScratchModel m(src, "badvocab");
    m.write("vocab.json", "{\"<unk>\": 1, \"</s>\": 0,");
    expect_load_error(m.dir(), "vocab.json");
  }
  {
    ScratchModel m(src, "vocabarray");
    m.write("vocab.json", "[1, 2, 3]");
    expect_load_error(m.dir(), "vocab.json");
  }
  {
    ScratchModel m(src, "vocabstring");
    m.write("vocab.json", "{\"</s>\": 0, \"<unk>\": \"one\", \"<pad>\": 2}");
    expect_load_error(m.dir(), "vocab.json: entry \"<unk>\"");
  }
  {
    ScratchModel m(src, "vocabnounk");
    m.write("vocab.json", "{\"</s>\": 0, \"<pad>\": 2}");
    expect_load_error(m.dir(), "vocab.json");
  }
  {
    ScratchModel m(src, "nosource");
    m.remove("source.spm");
    expect_load_error(m.dir(), "source.spm");
  }
  {
    ScratchModel m(src, "notarget");
    m.remove("target.spm");
    expect_load_error(m.dir(), "target.spm");
  }
  {
    ScratchModel m(src, "badsource");
    m.write("source.spm", "this is not a sentencepiece model");
    expect_load_error(m.dir(), "source.spm");
  }
  {
    ScratchModel m(src, "badconfig");
    m.write("tokenizer_config.json", "{ not json");
    expect_load_error(m.dir(), "tokenizer_config.json");
  }
  {
    ScratchModel m(src, "badeos");
    m.write("tokenizer_config.json", "{\"eos_token\": 17}");
    expect_load_error(m.dir(), "tokenizer_config.json: field 'eos_token'");
  }
  {
    ScratchModel m(src, "badcleanup");
    m.write("tokenizer_config.json", "{\"clean_up_tokenization_spaces\": \"yes\"}");
    expect_load_error(m.dir(), "tokenizer_config.json: field 'clean_up_tokenization_spaces'");
  }
  {
    ScratchModel m(src, "unknowneos");
    m.write("tokenizer_config.json", "{\"eos_token\": \"<eos-not-in-vocab>\"}");
    m.remove("special_tokens_map.json");
    expect_load_error(m.dir(), "eos_token");
  }
  {
    ScratchModel m(src, "notargetvocab");
    m.write("tokenizer_config.json", "{\"separate_vocabs\": true}");
    expect_load_error(m.dir(), "target_vocab.json");
  }
  expect_load_error(fs::temp_directory_path() / "opusrt_no_such_model_dir", "source.spm");
}

TEST(MarianTokenizer, ConfigIsOptionalAndCleanUpIsHonoured) {
  const fs::path src = test::tiny_model_dir();
  const MarianTokenizer ref(src);
  ScratchModel m(src, "noconfig");
  m.remove("tokenizer_config.json");
  m.remove("special_tokens_map.json");
  const MarianTokenizer defaults(m.dir());
  for (const char* text : {"Hello world.", "It's a test , isn't it ?", ">>cmn_Hans<< x", ""}) {
    EXPECT_EQ(defaults.encode(text), ref.encode(text)) << text;
  }
  EXPECT_EQ(defaults.eos_id(), ref.eos_id());
  EXPECT_EQ(defaults.pad_id(), ref.pad_id());
  EXPECT_EQ(defaults.unk_id(), ref.unk_id());

  // Clean-up on (default) vs off, on ids whose detokenisation has " ," / " ." etc.
  m.write("tokenizer_config.json", "{\"clean_up_tokenization_spaces\": false}");
  const MarianTokenizer raw(m.dir());
  const auto comma = ref.token_id(",");
  const auto dot = ref.token_id(".");
  const auto word = ref.token_id("\xE2\x96\x81the");
  const auto space = ref.token_id("\xE2\x96\x81");
  if (!comma || !dot || !word || !space) GTEST_SKIP() << "the fixture vocab lacks the pieces of this test";
  const std::vector<int64_t> ids = {*word, *space, *comma, *word, *space, *dot};  // "the , the ."
  const std::string cleaned = defaults.decode(ids);
  const std::string kept = raw.decode(ids);
  EXPECT_EQ(kept, "the , the .");
  EXPECT_EQ(cleaned, "the, the.");
}

// A non-special entry of added_tokens_decoder: never split when encoding; when decoding it is
// a sub-text of its own and sub-texts are joined with " " (transformers' legacy added tokens).
TEST(MarianTokenizer, NonSpecialAddedToken) {
  const fs::path src = test::tiny_model_dir();
  const MarianTokenizer ref(src);
  const auto extra_id = static_cast<int64_t>(ref.vocab_size());
  json cfg = fs::exists(src / "tokenizer_config.json") ? load_json(src / "tokenizer_config.json") : json::object();
  cfg["added_tokens_decoder"][std::to_string(extra_id)] = {
      {"content", "<extra>"}, {"lstrip", false}, {"rstrip", false}, {"special", false}};
  ScratchModel m(src, "added");
  m.write("tokenizer_config.json", cfg.dump());
  const MarianTokenizer tok(m.dir());
  EXPECT_EQ(tok.token_id("<extra>"), std::optional<int64_t>(extra_id));

  const auto ids = tok.encode("hello<extra>world");
  std::vector<int64_t> expected = ref.encode("hello");
  expected.back() = extra_id;  // replaces </s>
  const auto world = ref.encode("world");
  expected.insert(expected.end(), world.begin(), world.end());
  EXPECT_EQ(ids, expected);
  const auto pieces = tok.encode_pieces("hello<extra>world");
  EXPECT_NE(std::find(pieces.begin(), pieces.end(), "<extra>"), pieces.end());

  std::vector<int64_t> hello = ref.encode("hello");
  hello.pop_back();
  std::vector<int64_t> seq = hello;
  seq.push_back(extra_id);
  seq.insert(seq.end(), hello.begin(), hello.end());
  EXPECT_EQ(tok.decode(seq), ref.decode(hello) + " <extra> " + ref.decode(hello));
  EXPECT_EQ(tok.decode(std::vector<int64_t>{extra_id}), "<extra>");
  EXPECT_THROW((void)ref.decode(std::vector<int64_t>{extra_id}), Error);
}

TEST(MarianTokenizer, MoveAndConcurrentUse) {
  MarianTokenizer a(test::tiny_model_dir());
  const auto expected = a.encode("The quick brown fox jumps over the lazy dog.");
  MarianTokenizer b(std::move(a));
  EXPECT_EQ(b.encode("The quick brown fox jumps over the lazy dog."), expected);

  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        const auto ids = b.encode("The quick brown fox jumps over the lazy dog.");
        if (ids != expected) ++mismatches;
        (void)b.decode(ids);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace opusrt
