// The C API (include/opusrt/opusrt.h): same results as the C++ Translator, every error a status
// with a useful opusrt_last_error(), nothing leaked (the suite also runs under ASan + UBSan).
#include "opusrt/opusrt.h"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "opusrt/translator.h"
#include "test_env.h"

// c_callers.c: C code may pass any int as one of the header's enums (C++ code may not).
extern "C" opusrt_status c_api_test_timing_ms(const opusrt_result* result, size_t index, int timing, double* out_ms);
extern "C" const char* c_api_test_status_string(int status);

namespace opusrt::test {
namespace {

namespace fs = std::filesystem;

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

struct TranslatorFree {
  void operator()(opusrt_translator* t) const { opusrt_free(t); }
};
struct OptionsFree {
  void operator()(opusrt_options* o) const { opusrt_options_free(o); }
};
struct ConfigFree {
  void operator()(opusrt_config* c) const { opusrt_config_free(c); }
};
struct ResultFree {
  void operator()(opusrt_result* r) const { opusrt_result_free(r); }
};
using TranslatorPtr = std::unique_ptr<opusrt_translator, TranslatorFree>;
using OptionsPtr = std::unique_ptr<opusrt_options, OptionsFree>;
using ConfigPtr = std::unique_ptr<opusrt_config, ConfigFree>;
using ResultPtr = std::unique_ptr<opusrt_result, ResultFree>;

std::string last_error() { return opusrt_last_error(); }

TranslatorPtr create(const fs::path& dir, const opusrt_config* config = nullptr) {
  opusrt_translator* t = nullptr;
  const opusrt_status status = opusrt_create(dir.c_str(), config, &t);
  EXPECT_EQ(status, OPUSRT_OK) << last_error();
  return TranslatorPtr(t);
}

OptionsPtr make_options(int64_t max_new_tokens, int32_t num_beams, const char* target_lang = nullptr) {
  opusrt_options* o = nullptr;
  EXPECT_EQ(opusrt_options_create(&o), OPUSRT_OK);
  EXPECT_EQ(opusrt_options_set_max_new_tokens(o, max_new_tokens), OPUSRT_OK) << last_error();
  EXPECT_EQ(opusrt_options_set_num_beams(o, num_beams), OPUSRT_OK) << last_error();
  EXPECT_EQ(opusrt_options_set_target_lang(o, target_lang), OPUSRT_OK) << last_error();
  return OptionsPtr(o);
}

// What the C API hands back for one text, copied out of the result.
struct CTranslation {
  std::string text;
  std::vector<int64_t> output_ids, source_ids;
  double encoder_ms = -1, decoder_ms = -1, total_ms = -1;
};

std::vector<CTranslation> read_result(const opusrt_result* result) {
  size_t count = 0;
  EXPECT_EQ(opusrt_result_count(result, &count), OPUSRT_OK);
  std::vector<CTranslation> out(count);
  for (size_t i = 0; i < count; ++i) {
    const char* text = nullptr;
    size_t length = 0;
    EXPECT_EQ(opusrt_result_text(result, i, &text, &length), OPUSRT_OK);
    EXPECT_EQ(std::strlen(text), length);
    out[i].text.assign(text, length);
    const int64_t* ids = nullptr;
    size_t n = 0;
    EXPECT_EQ(opusrt_result_output_ids(result, i, &ids, &n), OPUSRT_OK);
    out[i].output_ids.assign(ids, ids + n);
    EXPECT_EQ(opusrt_result_source_ids(result, i, &ids, &n), OPUSRT_OK);
    out[i].source_ids.assign(ids, ids + n);
    EXPECT_EQ(opusrt_result_timing_ms(result, i, OPUSRT_TIMING_ENCODER, &out[i].encoder_ms), OPUSRT_OK);
    EXPECT_EQ(opusrt_result_timing_ms(result, i, OPUSRT_TIMING_DECODER, &out[i].decoder_ms), OPUSRT_OK);
    EXPECT_EQ(opusrt_result_timing_ms(result, i, OPUSRT_TIMING_TOTAL, &out[i].total_ms), OPUSRT_OK);
  }
  return out;
}

std::vector<CTranslation> c_translate(const opusrt_translator* t, const opusrt_options* options,
                                      const std::vector<std::string>& texts) {
  std::vector<const char*> pointers;
  for (const std::string& text : texts) pointers.push_back(text.c_str());
  opusrt_result* raw = nullptr;
  const opusrt_status status = opusrt_translate(t, options, pointers.data(), nullptr, pointers.size(), &raw);
  EXPECT_EQ(status, OPUSRT_OK) << last_error();
  EXPECT_STREQ(opusrt_last_error(), "");
  ResultPtr result(raw);
  return result ? read_result(result.get()) : std::vector<CTranslation>{};
}

void expect_same(const std::vector<CTranslation>& c, const std::vector<Translation>& cpp) {
  ASSERT_EQ(c.size(), cpp.size());
  for (size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(c[i].output_ids, cpp[i].output_ids) << "text " << i;
    EXPECT_EQ(c[i].source_ids, cpp[i].source_ids) << "text " << i;
    EXPECT_EQ(c[i].text, cpp[i].text) << "text " << i;
    EXPECT_GE(c[i].encoder_ms, 0);
    EXPECT_GE(c[i].decoder_ms, 0);
    EXPECT_GE(c[i].total_ms, c[i].decoder_ms);
  }
}

const std::vector<std::string> kTexts = {
    "Hello world.",
    "The file could not be opened because it is being used by another process.",
    "Crème brûlée, jalapeño, naïve café, Ångström and façade.",
    "I love pizza 🍕🍕 and coffee ☕! 👍🏽",
    ">>cmn_Hant<< Please save your changes before closing the document.",
    "a",
};

TEST(CApi, VersionIsTheHeaders) {
  EXPECT_STREQ(opusrt_version(), OPUSRT_VERSION_STRING);
  EXPECT_EQ(std::string(OPUSRT_VERSION_STRING), std::to_string(OPUSRT_VERSION_MAJOR) + "." +
                                                    std::to_string(OPUSRT_VERSION_MINOR) + "." +
                                                    std::to_string(OPUSRT_VERSION_PATCH));
}

TEST(CApi, BatchGivesTheCppTranslatorsIdsAndText) {
  TranslatorPtr t = create(tiny_model_dir());
  ASSERT_TRUE(t);
  const Translator cpp(tiny_model_dir());

  TranslateOptions greedy;
  greedy.num_beams = 1;
  greedy.max_new_tokens = 20;
  greedy.target_lang = "cmn_Hans";
  OptionsPtr options = make_options(20, 1, "cmn_Hans");
  expect_same(c_translate(t.get(), options.get(), kTexts), cpp.translate_batch(kTexts, greedy));

  // Unset options are the model's defaults on both sides.
  TranslateOptions capped;
  capped.max_new_tokens = 8;
  OptionsPtr capped_c = make_options(8, 0);
  expect_same(c_translate(t.get(), capped_c.get(), kTexts), cpp.translate_batch(kTexts, capped));
}

TEST(CApi, NullOptionsAreTheModelDefaults) {
  TranslatorPtr t = create(tiny_model_dir());
  ASSERT_TRUE(t);
  const Translator cpp(tiny_model_dir());
  const std::vector<std::string> texts = {"Hello world.", "OK"};
  expect_same(c_translate(t.get(), nullptr, texts), cpp.translate_batch(texts));
}

TEST(CApi, LengthsTakeTextsWithoutTerminator) {
  TranslatorPtr t = create(tiny_model_dir());
  ASSERT_TRUE(t);
  OptionsPtr options = make_options(12, 1);
  const std::string buffer = "Hello world.Good morning!";
  const char* texts[] = {buffer.data(), buffer.data() + 12, nullptr};
  const size_t lengths[] = {12, 13, 0};  // a NULL text of length 0 is the empty text
  opusrt_result* raw = nullptr;
  ASSERT_EQ(opusrt_translate(t.get(), options.get(), texts, lengths, 3, &raw), OPUSRT_OK) << last_error();
  ResultPtr result(raw);
  const std::vector<CTranslation> with_lengths = read_result(result.get());
  const std::vector<CTranslation> terminated = c_translate(t.get(), options.get(), {"Hello world.", "Good morning!", ""});
  ASSERT_EQ(with_lengths.size(), 3u);
  ASSERT_EQ(terminated.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(with_lengths[i].output_ids, terminated[i].output_ids) << i;
    EXPECT_EQ(with_lengths[i].source_ids, terminated[i].source_ids) << i;
  }
}

TEST(CApi, EveryDecoderModeGivesTheSameIds) {
  OptionsPtr options = make_options(10, 1);
  std::vector<std::vector<CTranslation>> runs;
  for (const char* mode : {"auto", "merged", "split", "recompute"}) {
    opusrt_config* raw = nullptr;
    ASSERT_EQ(opusrt_config_create(&raw), OPUSRT_OK);
    ConfigPtr config(raw);
    ASSERT_EQ(opusrt_config_set_decoder(config.get(), mode), OPUSRT_OK) << last_error();
    ASSERT_EQ(opusrt_config_set_threads(config.get(), 1), OPUSRT_OK);
    TranslatorPtr t = create(tiny_model_dir(), config.get());
    ASSERT_TRUE(t) << mode;
    config.reset();  // only read by opusrt_create
    runs.push_back(c_translate(t.get(), options.get(), {"Hello world.", "Where is the nearest train station?"}));
  }
  for (size_t r = 1; r < runs.size(); ++r) {
    ASSERT_EQ(runs[r].size(), runs[0].size());
    for (size_t i = 0; i < runs[0].size(); ++i) EXPECT_EQ(runs[r][i].output_ids, runs[0][i].output_ids) << r;
  }
}

TEST(CApi, MissingModelDirectoryIsAModelErrorNamingIt) {
  opusrt_translator* t = reinterpret_cast<opusrt_translator*>(&t);  // must be reset to NULL
  EXPECT_EQ(opusrt_create("/nonexistent/opusrt-model", nullptr, &t), OPUSRT_ERROR_MODEL);
  EXPECT_EQ(t, nullptr);
  EXPECT_TRUE(contains(last_error(), "/nonexistent/opusrt-model"));

  const fs::path empty = fs::temp_directory_path() / ("opusrt-c-api-empty-" + std::to_string(::getpid()));
  fs::create_directories(empty);
  EXPECT_EQ(opusrt_create(empty.c_str(), nullptr, &t), OPUSRT_ERROR_MODEL);
  EXPECT_TRUE(contains(last_error(), empty.string()));
  fs::remove_all(empty);

  EXPECT_EQ(opusrt_create("", nullptr, &t), OPUSRT_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(last_error(), "model_dir"));
}

TEST(CApi, NullArgumentsAreInvalidArgumentsNamingTheParameter) {
  TranslatorPtr t = create(tiny_model_dir());
  ASSERT_TRUE(t);
  OptionsPtr options = make_options(4, 1);
  const char* texts[] = {"Hello"};
  opusrt_result* result = nullptr;
  opusrt_translator* translator = nullptr;
  const char* text = nullptr;
  const int64_t* ids = nullptr;
  size_t n = 0;
  double ms = 0;

  struct Case {
    opusrt_status status;
    const char* message;
  };
  const std::vector<Case> cases = {
      {opusrt_create(nullptr, nullptr, &translator), "opusrt_create: model_dir is NULL"},
      {opusrt_create(tiny_model_dir().c_str(), nullptr, nullptr), "opusrt_create: out_translator is NULL"},
      {opusrt_config_create(nullptr), "out_config is NULL"},
      {opusrt_config_set_decoder(nullptr, "auto"), "config is NULL"},
      {opusrt_options_create(nullptr), "out_options is NULL"},
      {opusrt_options_set_max_new_tokens(nullptr, 3), "options is NULL"},
      {opusrt_options_set_num_beams(nullptr, 1), "options is NULL"},
      {opusrt_options_set_target_lang(nullptr, "de"), "options is NULL"},
      {opusrt_translate(nullptr, options.get(), texts, nullptr, 1, &result), "translator is NULL"},
      {opusrt_translate(t.get(), options.get(), nullptr, nullptr, 1, &result), "texts is NULL"},
      {opusrt_translate(t.get(), options.get(), texts, nullptr, 1, nullptr), "out_result is NULL"},
      {opusrt_result_count(nullptr, &n), "result is NULL"},
      {opusrt_result_text(nullptr, 0, &text, nullptr), "result is NULL"},
      {opusrt_result_output_ids(nullptr, 0, &ids, &n), "result is NULL"},
      {opusrt_result_source_ids(nullptr, 0, &ids, &n), "result is NULL"},
      {opusrt_result_timing_ms(nullptr, 0, OPUSRT_TIMING_TOTAL, &ms), "result is NULL"},
  };
  for (const Case& c : cases) EXPECT_EQ(c.status, OPUSRT_ERROR_INVALID_ARGUMENT) << c.message;
  // Each call's message, checked right after it.
  EXPECT_EQ(opusrt_config_set_threads(nullptr, 1), OPUSRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(last_error(), "opusrt_config_set_threads: config is NULL");
  const char* null_text[] = {"Hello", nullptr};
  EXPECT_EQ(opusrt_translate(t.get(), nullptr, null_text, nullptr, 2, &result), OPUSRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(last_error(), "opusrt_translate: texts[1] is NULL");
  EXPECT_EQ(result, nullptr);

  // Result getters with NULL out-parameters.
  ASSERT_EQ(opusrt_translate(t.get(), options.get(), texts, nullptr, 1, &result), OPUSRT_OK);
  ResultPtr owned(result);
  EXPECT_EQ(opusrt_result_count(result, nullptr), OPUSRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(opusrt_result_text(result, 0, nullptr, &n), OPUSRT_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(last_error(), "out_text is NULL"));
  EXPECT_EQ(opusrt_result_output_ids(result, 0, nullptr, &n), OPUSRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(opusrt_result_source_ids(result, 0, &ids, nullptr), OPUSRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(opusrt_result_timing_ms(result, 0, OPUSRT_TIMING_TOTAL, nullptr), OPUSRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(opusrt_result_text(result, 0, &text, nullptr), OPUSRT_OK);  // out_length is optional

  // Freeing NULL is a no-op.
  opusrt_free(nullptr);
  opusrt_options_free(nullptr);
  opusrt_config_free(nullptr);
  opusrt_result_free(nullptr);
}

TEST(CApi, BadOptionValuesAreRejectedWithTheValue) {
  opusrt_options* raw = nullptr;
  ASSERT_EQ(opusrt_options_create(&raw), OPUSRT_OK);
  OptionsPtr options(raw);
  EXPECT_EQ(opusrt_options_set_max_new_tokens(options.get(), -1), OPUSRT_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(last_error(), "max_new_tokens must be >= 1"));
  EXPECT_TRUE(contains(last_error(), "-1"));
  EXPECT_EQ(opusrt_options_set_num_beams(options.get(), -4), OPUSRT_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(last_error(), "-4"));
  EXPECT_EQ(opusrt_options_set_target_lang(options.get(), "\xff\xfe"), OPUSRT_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(last_error(), "not valid UTF-8"));

  opusrt_config* config_raw = nullptr;
  ASSERT_EQ(opusrt_config_create(&config_raw), OPUSRT_OK);
  ConfigPtr config(config_raw);
  EXPECT_EQ(opusrt_config_set_decoder(config.get(), "fast"), OPUSRT_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(last_error(), "unknown decoder mode 'fast'"));
  EXPECT_EQ(opusrt_config_set_threads(config.get(), -2), OPUSRT_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(last_error(), "-2"));

  // A target language the model lacks is found at translate time; the message lists the known ones.
  TranslatorPtr t = create(tiny_model_dir());
  ASSERT_TRUE(t);
  ASSERT_EQ(opusrt_options_set_max_new_tokens(options.get(), 4), OPUSRT_OK);
  ASSERT_EQ(opusrt_options_set_target_lang(options.get(), "xx_Nope"), OPUSRT_OK);
  const char* texts[] = {"Hello"};
  opusrt_result* result = reinterpret_cast<opusrt_result*>(&result);
  EXPECT_EQ(opusrt_translate(t.get(), options.get(), texts, nullptr, 1, &result), OPUSRT_ERROR_TRANSLATE);
  EXPECT_EQ(result, nullptr);
  EXPECT_TRUE(contains(last_error(), "xx_Nope"));
  EXPECT_TRUE(contains(last_error(), ">>cmn_Hans<<"));

  // "" / NULL unset the language; 0 unsets the counts; huge caps are capped, not overflowed.
  ASSERT_EQ(opusrt_options_set_target_lang(options.get(), nullptr), OPUSRT_OK);
  ASSERT_EQ(opusrt_options_set_num_beams(options.get(), 1), OPUSRT_OK);
  ASSERT_EQ(opusrt_options_set_max_new_tokens(options.get(), std::numeric_limits<int64_t>::max()), OPUSRT_OK);
  ASSERT_EQ(opusrt_translate(t.get(), options.get(), texts, nullptr, 1, &result), OPUSRT_OK) << last_error();
  opusrt_result_free(result);
  ASSERT_EQ(opusrt_options_set_max_new_tokens(options.get(), 0), OPUSRT_OK);
  ASSERT_EQ(opusrt_options_set_num_beams(options.get(), 0), OPUSRT_OK);
}

TEST(CApi, InvalidUtf8IsAnInputErrorNamingTextAndByte) {
  TranslatorPtr t = create(tiny_model_dir());
  ASSERT_TRUE(t);
  OptionsPtr options = make_options(4, 1);
  const std::vector<std::pair<std::string, size_t>> bad = {
      {"ab\xC3\x28", 2},          // bad continuation
      {"\xC0\xAF", 0},            // overlong
      {"x\xED\xA0\x80", 1},       // surrogate
      {"abc\xE2\x82", 3},         // truncated
      {"\xF4\x90\x80\x80", 0},    // above U+10FFFF
      {"ok \xff", 3},
  };
  const std::vector<CTranslation> fine = c_translate(t.get(), options.get(), {"fine"});
  for (const auto& [text, byte] : bad) {
    // The bad text fails alone, with its status and message; the other one is translated.
    const char* texts[] = {"fine", text.c_str()};
    opusrt_result* raw = nullptr;
    ASSERT_EQ(opusrt_translate(t.get(), options.get(), texts, nullptr, 2, &raw), OPUSRT_OK) << last_error();
    ResultPtr result(raw);
    opusrt_status status = OPUSRT_ERROR_INTERNAL;
    const char* message = nullptr;
    ASSERT_EQ(opusrt_result_error(result.get(), 0, &status, &message), OPUSRT_OK);
    EXPECT_EQ(status, OPUSRT_OK);
    EXPECT_STREQ(message, "");
    ASSERT_EQ(opusrt_result_error(result.get(), 1, &status, &message), OPUSRT_OK);
    EXPECT_EQ(status, OPUSRT_ERROR_INVALID_INPUT);
    EXPECT_EQ(std::string(message), "texts[1]: invalid UTF-8 at byte " + std::to_string(byte));
    const std::vector<CTranslation> got = read_result(result.get());
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].output_ids, fine[0].output_ids);
    EXPECT_EQ(got[1].text, "");
    EXPECT_TRUE(got[1].output_ids.empty());
  }
  // An embedded NUL is valid UTF-8 when lengths are given; the library decides what it means.
  const char with_nul[] = {'a', '\0', 'b'};
  const char* texts[] = {with_nul};
  const size_t lengths[] = {3};
  opusrt_result* result = nullptr;
  const opusrt_status status = opusrt_translate(t.get(), options.get(), texts, lengths, 1, &result);
  EXPECT_TRUE(status == OPUSRT_OK || status == OPUSRT_ERROR_TRANSLATE) << opusrt_status_string(status);
  opusrt_result_free(result);
}

TEST(CApi, ResultIndexOutOfRangeAndUnknownTimingAreErrors) {
  TranslatorPtr t = create(tiny_model_dir());
  ASSERT_TRUE(t);
  OptionsPtr options = make_options(4, 1);
  const char* texts[] = {"Hello", "world"};
  opusrt_result* raw = nullptr;
  ASSERT_EQ(opusrt_translate(t.get(), options.get(), texts, nullptr, 2, &raw), OPUSRT_OK);
  ResultPtr result(raw);
  const char* text = "untouched";
  EXPECT_EQ(opusrt_result_text(result.get(), 2, &text, nullptr), OPUSRT_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(text, "untouched");
  EXPECT_EQ(last_error(), "opusrt_result_text: index 2 is out of range (the result has 2 translations)");
  double ms = -7;
  EXPECT_EQ(c_api_test_timing_ms(result.get(), 0, 42, &ms), OPUSRT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ms, -7);
  EXPECT_TRUE(contains(last_error(), "unknown timing 42"));
}

TEST(CApi, EmptyBatchGivesAnEmptyResult) {
  TranslatorPtr t = create(tiny_model_dir());
  ASSERT_TRUE(t);
  opusrt_result* raw = nullptr;
  ASSERT_EQ(opusrt_translate(t.get(), nullptr, nullptr, nullptr, 0, &raw), OPUSRT_OK);
  ResultPtr result(raw);
  ASSERT_NE(result, nullptr);
  size_t count = 99;
  EXPECT_EQ(opusrt_result_count(result.get(), &count), OPUSRT_OK);
  EXPECT_EQ(count, 0u);
  const int64_t* ids = nullptr;
  EXPECT_EQ(opusrt_result_output_ids(result.get(), 0, &ids, &count), OPUSRT_ERROR_INVALID_ARGUMENT);
}

TEST(CApi, AbsurdCountIsAnErrorNotACrash) {
  TranslatorPtr t = create(tiny_model_dir());
  ASSERT_TRUE(t);
  const char* texts[] = {"Hello"};
  opusrt_result* result = nullptr;
  const opusrt_status status =
      opusrt_translate(t.get(), nullptr, texts, nullptr, std::numeric_limits<size_t>::max(), &result);
  EXPECT_NE(status, OPUSRT_OK);
  EXPECT_EQ(result, nullptr);
  EXPECT_FALSE(last_error().empty());
}

TEST(CApi, LastErrorIsPerThreadAndClearedBySuccess) {
  EXPECT_EQ(opusrt_options_set_num_beams(nullptr, 1), OPUSRT_ERROR_INVALID_ARGUMENT);
  const std::string mine = last_error();
  ASSERT_FALSE(mine.empty());
  std::string other_before, other_after;
  std::thread([&] {
    other_before = opusrt_last_error();
    (void)opusrt_config_set_threads(nullptr, 1);
    other_after = opusrt_last_error();
  }).join();
  EXPECT_EQ(other_before, "");
  EXPECT_TRUE(contains(other_after, "opusrt_config_set_threads"));
  EXPECT_EQ(last_error(), mine);

  opusrt_options* options = nullptr;
  ASSERT_EQ(opusrt_options_create(&options), OPUSRT_OK);
  EXPECT_STREQ(opusrt_last_error(), "");
  opusrt_options_free(options);
}

TEST(CApi, OneTranslatorServesConcurrentThreads) {
  TranslatorPtr t = create(tiny_model_dir());
  ASSERT_TRUE(t);
  OptionsPtr options = make_options(10, 1);
  std::vector<std::vector<CTranslation>> expected;
  for (const std::string& text : kTexts) expected.push_back(c_translate(t.get(), options.get(), {text}));
  std::vector<std::vector<CTranslation>> got(kTexts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < kTexts.size(); ++i)
    threads.emplace_back([&, i] { got[i] = c_translate(t.get(), options.get(), {kTexts[i]}); });
  for (std::thread& thread : threads) thread.join();
  for (size_t i = 0; i < kTexts.size(); ++i) {
    ASSERT_EQ(got[i].size(), 1u);
    EXPECT_EQ(got[i][0].output_ids, expected[i][0].output_ids) << kTexts[i];
  }
}

TEST(CApi, ResultOutlivesItsTranslator) {
  TranslatorPtr t = create(tiny_model_dir());
  ASSERT_TRUE(t);
  OptionsPtr options = make_options(6, 1);
  const char* texts[] = {"Hello world."};
  opusrt_result* raw = nullptr;
  ASSERT_EQ(opusrt_translate(t.get(), options.get(), texts, nullptr, 1, &raw), OPUSRT_OK);
  ResultPtr result(raw);
  const std::vector<CTranslation> before = read_result(result.get());
  t.reset();
  options.reset();
  const std::vector<CTranslation> after = read_result(result.get());
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].text, before[0].text);
  EXPECT_EQ(after[0].output_ids, before[0].output_ids);
}

TEST(CApi, StatusStringsNameEveryStatus) {
  EXPECT_STREQ(opusrt_status_string(OPUSRT_OK), "OPUSRT_OK");
  EXPECT_STREQ(opusrt_status_string(OPUSRT_ERROR_INVALID_ARGUMENT), "OPUSRT_ERROR_INVALID_ARGUMENT");
  EXPECT_STREQ(opusrt_status_string(OPUSRT_ERROR_INVALID_INPUT), "OPUSRT_ERROR_INVALID_INPUT");
  EXPECT_STREQ(opusrt_status_string(OPUSRT_ERROR_MODEL), "OPUSRT_ERROR_MODEL");
  EXPECT_STREQ(opusrt_status_string(OPUSRT_ERROR_TRANSLATE), "OPUSRT_ERROR_TRANSLATE");
  EXPECT_STREQ(opusrt_status_string(OPUSRT_ERROR_OUT_OF_MEMORY), "OPUSRT_ERROR_OUT_OF_MEMORY");
  EXPECT_STREQ(opusrt_status_string(OPUSRT_ERROR_INTERNAL), "OPUSRT_ERROR_INTERNAL");
  EXPECT_STREQ(c_api_test_status_string(1234), "OPUSRT_ERROR_UNKNOWN");
  EXPECT_STREQ(c_api_test_status_string(-1), "OPUSRT_ERROR_UNKNOWN");
}

}  // namespace
}  // namespace opusrt::test

namespace opusrt::test {
namespace {

// Every option setter of the C API sets the C++ option of the same name: each case sets some
// options through C and through TranslateOptions and compares everything the results carry.
TEST(CApi, EveryOptionSetterIsTheCppOption) {
  TranslatorPtr t = create(tiny_model_dir());
  ASSERT_TRUE(t);
  const Translator cpp(tiny_model_dir());
  const std::vector<std::string> texts = {"Hello world.", "Where is the nearest train station?", "a"};
  const std::vector<int64_t> prefix_ids = {cpp.model_info().vocab_size / 2};  // an ordinary token
  struct Case {
    const char* name;
    std::function<void(opusrt_options*)> c;
    std::function<void(TranslateOptions&)> cpp;
  };
  auto ok = [](opusrt_status s) { ASSERT_EQ(s, OPUSRT_OK) << last_error(); };
  const std::vector<Case> cases = {
      {"beams, length penalty, early stopping, n-best",
       [&](opusrt_options* o) {
         ok(opusrt_options_set_num_beams(o, 4));
         ok(opusrt_options_set_length_penalty(o, 0.6));
         ok(opusrt_options_set_early_stopping(o, OPUSRT_EARLY_STOPPING_NEVER));
         ok(opusrt_options_set_num_return_sequences(o, 3));
       },
       [](TranslateOptions& o) {
         o.num_beams = 4;
         o.length_penalty = 0.6;
         o.early_stopping = EarlyStopping::kNever;
         o.num_return_sequences = 3;
       }},
      {"early stopping true",
       [&](opusrt_options* o) {
         ok(opusrt_options_set_num_beams(o, 3));
         ok(opusrt_options_set_early_stopping(o, OPUSRT_EARLY_STOPPING_TRUE));
       },
       [](TranslateOptions& o) {
         o.num_beams = 3;
         o.early_stopping = EarlyStopping::kTrue;
       }},
      {"processors",
       [&](opusrt_options* o) {
         ok(opusrt_options_set_num_beams(o, 1));
         ok(opusrt_options_set_min_new_tokens(o, 5));
         ok(opusrt_options_set_repetition_penalty(o, 1.7));
         ok(opusrt_options_set_no_repeat_ngram_size(o, 2));
         const int64_t bad1[] = {7};
         const int64_t bad2[] = {8, 9};
         ok(opusrt_options_add_bad_words_ids(o, bad1, 1));
         ok(opusrt_options_add_bad_words_ids(o, bad2, 2));
         const int64_t suppress[] = {10, 11, 12};
         ok(opusrt_options_set_suppress_tokens(o, suppress, 3));
       },
       [](TranslateOptions& o) {
         o.num_beams = 1;
         o.min_new_tokens = 5;
         o.repetition_penalty = 1.7;
         o.no_repeat_ngram_size = 2;
         o.bad_words_ids = {{7}, {8, 9}};
         o.suppress_tokens = {10, 11, 12};
       }},
      {"sampling with a seed",
       [&](opusrt_options* o) {
         ok(opusrt_options_set_num_beams(o, 1));
         ok(opusrt_options_set_do_sample(o, 1));
         ok(opusrt_options_set_temperature(o, 0.8));
         ok(opusrt_options_set_top_k(o, 20));
         ok(opusrt_options_set_top_p(o, 0.9));
         ok(opusrt_options_set_seed(o, 1234));
       },
       [](TranslateOptions& o) {
         o.num_beams = 1;
         o.do_sample = true;
         o.temperature = 0.8;
         o.top_k = 20;
         o.top_p = 0.9;
         o.seed = 1234;
       }},
      {"target prefix text and ids, target language",
       [&](opusrt_options* o) {
         ok(opusrt_options_set_num_beams(o, 2));
         ok(opusrt_options_set_target_prefix(o, "Hello"));
         ok(opusrt_options_set_target_prefix_ids(o, prefix_ids.data(), prefix_ids.size()));
         ok(opusrt_options_set_target_lang(o, "cmn_Hans"));
       },
       [&](TranslateOptions& o) {
         o.num_beams = 2;
         o.target_prefix = "Hello";
         o.target_prefix_ids = prefix_ids;
         o.target_lang = "cmn_Hans";
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    opusrt_options* raw = nullptr;
    ASSERT_EQ(opusrt_options_create(&raw), OPUSRT_OK);
    OptionsPtr options(raw);
    ASSERT_EQ(opusrt_options_set_max_new_tokens(options.get(), 12), OPUSRT_OK);
    c.c(options.get());
    TranslateOptions cpp_options;
    cpp_options.max_new_tokens = 12;
    c.cpp(cpp_options);
    // A copy carries every setting.
    opusrt_options* copy_raw = nullptr;
    ASSERT_EQ(opusrt_options_copy(options.get(), &copy_raw), OPUSRT_OK);
    OptionsPtr copy(copy_raw);
    options.reset();

    std::vector<const char*> pointers;
    for (const std::string& text : texts) pointers.push_back(text.c_str());
    opusrt_result* result_raw = nullptr;
    ASSERT_EQ(opusrt_translate(t.get(), copy.get(), pointers.data(), nullptr, pointers.size(), &result_raw), OPUSRT_OK)
        << last_error();
    ResultPtr result(result_raw);
    const std::vector<CTranslation> got = read_result(result.get());
    const std::vector<Translation> want = cpp.translate_batch(texts, cpp_options);
    expect_same(got, want);
    for (size_t i = 0; i < texts.size(); ++i) {
      ASSERT_TRUE(want[i].ok()) << want[i].error;
      double score = 0;
      ASSERT_EQ(opusrt_result_score(result.get(), i, &score), OPUSRT_OK);
      EXPECT_EQ(score, want[i].score);
      size_t n_best = 0;
      ASSERT_EQ(opusrt_result_n_best_count(result.get(), i, &n_best), OPUSRT_OK);
      EXPECT_EQ(n_best, std::max<size_t>(1, want[i].n_best.size()));
      for (size_t r = 0; r < want[i].n_best.size(); ++r) {
        const char* text = nullptr;
        ASSERT_EQ(opusrt_result_n_best_text(result.get(), i, r, &text, nullptr), OPUSRT_OK);
        EXPECT_EQ(text, want[i].n_best[r].text);
        const int64_t* ids = nullptr;
        size_t n = 0;
        ASSERT_EQ(opusrt_result_n_best_output_ids(result.get(), i, r, &ids, &n), OPUSRT_OK);
        EXPECT_EQ(std::vector<int64_t>(ids, ids + n), want[i].n_best[r].output_ids);
        ASSERT_EQ(opusrt_result_n_best_score(result.get(), i, r, &score), OPUSRT_OK);
        EXPECT_EQ(score, want[i].n_best[r].score);
      }
    }
  }
}

// opusrt_translate_text is Translator::translate_text: the same units, pieces and joined text.
TEST(CApi, TranslateTextIsTheCppTranslateText) {
  TranslatorPtr t = create(tiny_model_dir());
  ASSERT_TRUE(t);
  const Translator cpp(tiny_model_dir());
  const std::string text = "Hello world. Where is the nearest train station?\n\nGood morning!  How are you?";
  opusrt_options* raw = nullptr;
  ASSERT_EQ(opusrt_options_create(&raw), OPUSRT_OK);
  OptionsPtr options(raw);
  ASSERT_EQ(opusrt_options_set_max_new_tokens(options.get(), 8), OPUSRT_OK);
  ASSERT_EQ(opusrt_options_set_num_beams(options.get(), 1), OPUSRT_OK);
  ASSERT_EQ(opusrt_options_set_split(options.get(), OPUSRT_SPLIT_SENTENCES), OPUSRT_OK);
  ASSERT_EQ(opusrt_options_set_max_batch(options.get(), 2), OPUSRT_OK);
  TranslateOptions cpp_options;
  cpp_options.max_new_tokens = 8;
  cpp_options.num_beams = 1;
  const TextTranslation want = cpp.translate_text(text, cpp_options, SplitMode::kSentences, 2);
  ASSERT_GE(want.units.size(), 3u);

  opusrt_result* result_raw = nullptr;
  ASSERT_EQ(opusrt_translate_text(t.get(), options.get(), text.data(), text.size(), nullptr, nullptr, &result_raw),
            OPUSRT_OK)
      << last_error();
  ResultPtr result(result_raw);
  const char* joined = nullptr;
  size_t length = 0;
  ASSERT_EQ(opusrt_result_joined_text(result.get(), &joined, &length), OPUSRT_OK);
  EXPECT_EQ(std::string(joined, length), want.text);
  expect_same(read_result(result.get()), want.units);
  for (size_t i = 0; i < want.pieces.size(); ++i) {
    const char* piece = nullptr;
    ASSERT_EQ(opusrt_result_source_text(result.get(), i, &piece, &length), OPUSRT_OK);
    EXPECT_EQ(std::string(piece, length), want.pieces[i]);
  }
}

}  // namespace
}  // namespace opusrt::test
