/* The C API exercised from C, as a C program calls it: every function of include/opusrt/opusrt.h,
 * its results and its errors, with the tiny fixture model. Built as C11 (no C++ in this file),
 * run by ctest (c_api_c_test) and, in the sanitizer build, under ASan + UBSan.
 *   c_api_c_test MODEL_DIR
 * Prints one line per failed check and exits with 1 when any failed. */
#include <opusrt/opusrt.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static const char* model_dir = NULL;

#define CHECK(condition)                                                                 \
  do {                                                                                   \
    if (!(condition)) {                                                                  \
      ++failures;                                                                        \
      fprintf(stderr, "%s:%d: %s: CHECK(%s) failed (last error: '%s')\n", __FILE__,     \
              __LINE__, __func__, #condition, opusrt_last_error());                      \
    }                                                                                    \
  } while (0)

#define CHECK_OK(call) CHECK((call) == OPUSRT_OK)

/* status == expected and the thread's last error contains part. */
#define CHECK_ERROR(call, expected, part)                                                            \
  do {                                                                                               \
    const opusrt_status check_status_ = (call);                                                      \
    CHECK(check_status_ == (expected));                                                              \
    if (strstr(opusrt_last_error(), (part)) == NULL) {                                               \
      ++failures;                                                                                    \
      fprintf(stderr, "%s:%d: %s: '%s' does not contain '%s'\n", __FILE__, __LINE__, __func__,       \
              opusrt_last_error(), (part));                                                          \
    }                                                                                                \
  } while (0)

/* ---- helpers ---- */

static opusrt_translator* load(void) {
  opusrt_translator* translator = NULL;
  CHECK_OK(opusrt_create(model_dir, NULL, &translator));
  if (translator == NULL) {
    fprintf(stderr, "cannot load %s: %s\n", model_dir, opusrt_last_error());
    exit(1);
  }
  return translator;
}

static opusrt_options* greedy_options(int64_t max_new_tokens) {
  opusrt_options* options = NULL;
  CHECK_OK(opusrt_options_create(&options));
  CHECK_OK(opusrt_options_set_num_beams(options, 1));
  CHECK_OK(opusrt_options_set_max_new_tokens(options, max_new_tokens));
  return options;
}

/* Translates texts (NUL-terminated) and checks that the call succeeded. */
static opusrt_result* translate(const opusrt_translator* translator, const opusrt_options* options,
                                const char* const* texts, size_t count) {
  opusrt_result* result = NULL;
  CHECK_OK(opusrt_translate(translator, options, texts, NULL, count, &result));
  CHECK(result != NULL);
  return result;
}

/* A copy of translation index's output ids (the caller frees it); *count gets their number. */
static int64_t* output_ids(const opusrt_result* result, size_t index, size_t* count) {
  const int64_t* ids = NULL;
  *count = 0;
  CHECK_OK(opusrt_result_output_ids(result, index, &ids, count));
  int64_t* copy = malloc((*count + 1) * sizeof *copy);
  if (copy == NULL) abort();
  if (*count > 0) memcpy(copy, ids, *count * sizeof *copy);
  return copy;
}

static int same_ids(const int64_t* a, size_t na, const int64_t* b, size_t nb) {
  return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static int contains_id(const int64_t* ids, size_t count, int64_t id) {
  for (size_t i = 0; i < count; ++i)
    if (ids[i] == id) return 1;
  return 0;
}

static const char* result_text(const opusrt_result* result, size_t index) {
  const char* text = NULL;
  size_t length = 0;
  CHECK_OK(opusrt_result_text(result, index, &text, &length));
  CHECK(text != NULL && strlen(text) == length);
  return text ? text : "";
}

static const char* const kTexts[] = {"Hello world.", "Where is the nearest train station?", "Good morning!"};
enum { kTextCount = 3 };

/* ---- library ---- */

static void test_versions_and_status_strings(void) {
  CHECK(strcmp(opusrt_version(), OPUSRT_VERSION_STRING) == 0);
  CHECK(OPUSRT_C_API_VERSION >= 2);
  CHECK(opusrt_api_version() == OPUSRT_C_API_VERSION);
  CHECK(strcmp(opusrt_status_string(OPUSRT_OK), "OPUSRT_OK") == 0);
  CHECK(strcmp(opusrt_status_string(OPUSRT_ERROR_INVALID_ARGUMENT), "OPUSRT_ERROR_INVALID_ARGUMENT") == 0);
  CHECK(strcmp(opusrt_status_string(OPUSRT_ERROR_INVALID_INPUT), "OPUSRT_ERROR_INVALID_INPUT") == 0);
  CHECK(strcmp(opusrt_status_string(OPUSRT_ERROR_MODEL), "OPUSRT_ERROR_MODEL") == 0);
  CHECK(strcmp(opusrt_status_string(OPUSRT_ERROR_TRANSLATE), "OPUSRT_ERROR_TRANSLATE") == 0);
  CHECK(strcmp(opusrt_status_string(OPUSRT_ERROR_OUT_OF_MEMORY), "OPUSRT_ERROR_OUT_OF_MEMORY") == 0);
  CHECK(strcmp(opusrt_status_string(OPUSRT_ERROR_INTERNAL), "OPUSRT_ERROR_INTERNAL") == 0);
  CHECK(strcmp(opusrt_status_string((opusrt_status)77), "OPUSRT_ERROR_UNKNOWN") == 0);
}

static void* last_error_in_thread(void* arg) {
  const char** seen = arg;
  seen[0] = opusrt_last_error()[0] == '\0' ? "empty" : "set";
  (void)opusrt_config_set_threads(NULL, 1);
  seen[1] = strstr(opusrt_last_error(), "opusrt_config_set_threads: config is NULL") ? "named" : "other";
  return NULL;
}

static void test_last_error_is_per_thread_and_cleared_by_success(void) {
  CHECK_ERROR(opusrt_options_set_num_beams(NULL, 1), OPUSRT_ERROR_INVALID_ARGUMENT,
              "opusrt_options_set_num_beams: options is NULL");
  const char* seen[2] = {NULL, NULL};
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, last_error_in_thread, seen) == 0);
  CHECK(pthread_join(thread, NULL) == 0);
  CHECK(seen[0] && strcmp(seen[0], "empty") == 0);
  CHECK(seen[1] && strcmp(seen[1], "named") == 0);
  CHECK(strstr(opusrt_last_error(), "opusrt_options_set_num_beams") != NULL); /* this thread's is untouched */
  opusrt_options* options = NULL;
  CHECK_OK(opusrt_options_create(&options));
  CHECK(strcmp(opusrt_last_error(), "") == 0);
  opusrt_options_free(options);
}

/* ---- config and translator ---- */

static void test_config(void) {
  opusrt_config* config = NULL;
  CHECK_OK(opusrt_config_create(&config));
  CHECK_ERROR(opusrt_config_set_decoder(config, "fast"), OPUSRT_ERROR_INVALID_ARGUMENT, "unknown decoder mode 'fast'");
  CHECK_ERROR(opusrt_config_set_decoder(config, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "mode is NULL");
  CHECK_ERROR(opusrt_config_set_threads(config, -2), OPUSRT_ERROR_INVALID_ARGUMENT, "-2");
  CHECK_ERROR(opusrt_config_create(NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "out_config is NULL");
  CHECK_ERROR(opusrt_config_set_decoder(NULL, "auto"), OPUSRT_ERROR_INVALID_ARGUMENT, "config is NULL");

  /* Every decoder mode gives the same ids. */
  opusrt_options* options = greedy_options(10);
  const char* modes[] = {"auto", "merged", "split", "recompute"};
  int64_t* first = NULL;
  size_t first_count = 0;
  for (size_t m = 0; m < 4; ++m) {
    CHECK_OK(opusrt_config_set_decoder(config, modes[m]));
    CHECK_OK(opusrt_config_set_threads(config, 1));
    opusrt_translator* translator = NULL;
    CHECK_OK(opusrt_create(model_dir, config, &translator));
    if (translator == NULL) continue;
    opusrt_result* result = translate(translator, options, kTexts, 1);
    opusrt_free(translator); /* a result does not depend on its translator */
    size_t count = 0;
    int64_t* ids = output_ids(result, 0, &count);
    if (first == NULL) {
      first = ids;
      first_count = count;
    } else {
      CHECK(same_ids(first, first_count, ids, count));
      free(ids);
    }
    opusrt_result_free(result);
  }
  CHECK(first_count >= 2);
  free(first);
  opusrt_options_free(options);
  opusrt_config_free(config);
  opusrt_config_free(NULL);
}

/* A variant's graphs (the fixture has *_quantized.onnx next to the fp32 ones), and warnings. */
static void test_variant_and_warnings(void) {
  opusrt_config* config = NULL;
  CHECK_OK(opusrt_config_create(&config));
  CHECK_ERROR(opusrt_config_set_variant(config, "../up"), OPUSRT_ERROR_INVALID_ARGUMENT, "letters, digits");
  CHECK_ERROR(opusrt_config_set_variant(NULL, "quantized"), OPUSRT_ERROR_INVALID_ARGUMENT, "config is NULL");
  CHECK_OK(opusrt_config_set_variant(config, "nope"));
  opusrt_translator* translator = NULL;
  CHECK_ERROR(opusrt_create(model_dir, config, &translator), OPUSRT_ERROR_MODEL, "encoder_model_nope.onnx");
  CHECK(translator == NULL);
  opusrt_options* options = greedy_options(10);
  const char* variants[] = {"quantized", "q8", "fp32", NULL};
  for (size_t v = 0; v < 4; ++v) {
    CHECK_OK(opusrt_config_set_variant(config, variants[v]));
    translator = NULL;
    CHECK_OK(opusrt_create(model_dir, config, &translator));
    if (translator == NULL) continue;
    CHECK(opusrt_warning_count(translator) == 0);
    CHECK(opusrt_warning(translator, 0) == NULL);
    opusrt_result* result = translate(translator, options, kTexts, 1);
    size_t count = 0;
    int64_t* ids = output_ids(result, 0, &count);
    CHECK(count >= 2);
    free(ids);
    opusrt_result_free(result);
    opusrt_free(translator);
  }
  CHECK(opusrt_warning_count(NULL) == 0);
  CHECK(opusrt_warning(NULL, 0) == NULL);

  /* The fixture's target languages (>>cmn_Hans<<, ... in its vocab), each usable as target_lang. */
  translator = load();
  const size_t languages = opusrt_language_count(translator);
  CHECK(languages == 8);
  CHECK(opusrt_language(translator, 0) != NULL && strcmp(opusrt_language(translator, 0), "cmn_Hans") == 0);
  CHECK(opusrt_language(translator, languages) == NULL);
  for (size_t i = 0; i < languages; ++i) {
    const char* code = opusrt_language(translator, i);
    CHECK(code != NULL && strchr(code, '>') == NULL && strchr(code, '<') == NULL);
    CHECK_OK(opusrt_options_set_target_lang(options, code));
    opusrt_result* result = translate(translator, options, kTexts, 1);
    CHECK(result != NULL);
    opusrt_result_free(result);
  }
  CHECK(opusrt_language_count(NULL) == 0);
  CHECK(opusrt_language(NULL, 0) == NULL);
  opusrt_free(translator);

  /* An export without past (the fixture next to this one) loads with one warning saying so. */
  char nopast[4096];
  snprintf(nopast, sizeof nopast, "%s/../tiny-nopast", model_dir);
  translator = NULL;
  CHECK_OK(opusrt_create(nopast, NULL, &translator));
  if (translator != NULL) {
    CHECK(opusrt_warning_count(translator) == 1);
    CHECK(opusrt_warning(translator, 0) != NULL && strstr(opusrt_warning(translator, 0), "without past") != NULL);
    CHECK(opusrt_warning(translator, 1) == NULL);
    opusrt_free(translator);
  }
  opusrt_options_free(options);
  opusrt_config_free(config);
}

static void test_create_errors(void) {
  opusrt_translator* translator = (opusrt_translator*)&translator; /* must be reset to NULL */
  CHECK_ERROR(opusrt_create("/nonexistent/opusrt-model", NULL, &translator), OPUSRT_ERROR_MODEL,
              "/nonexistent/opusrt-model");
  CHECK(translator == NULL);
  CHECK_ERROR(opusrt_create("", NULL, &translator), OPUSRT_ERROR_INVALID_ARGUMENT, "model_dir is empty");
  CHECK_ERROR(opusrt_create(NULL, NULL, &translator), OPUSRT_ERROR_INVALID_ARGUMENT, "model_dir is NULL");
  CHECK_ERROR(opusrt_create(model_dir, NULL, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "out_translator is NULL");
  opusrt_free(NULL);
}

/* ---- options ---- */

static void test_option_setters_check_their_values(void) {
  opusrt_options* o = NULL;
  CHECK_OK(opusrt_options_create(&o));
  const int64_t ids[] = {5, 6};
  CHECK_OK(opusrt_options_set_max_new_tokens(o, 7));
  CHECK_ERROR(opusrt_options_set_max_new_tokens(o, -1), OPUSRT_ERROR_INVALID_ARGUMENT, "max_new_tokens must be >= 1");
  CHECK_OK(opusrt_options_set_max_new_tokens(o, INT64_MAX)); /* capped, not overflowed */
  CHECK_OK(opusrt_options_set_num_beams(o, 3));
  CHECK_ERROR(opusrt_options_set_num_beams(o, -4), OPUSRT_ERROR_INVALID_ARGUMENT, "-4");
  CHECK_OK(opusrt_options_set_length_penalty(o, -0.5));
  CHECK_ERROR(opusrt_options_set_length_penalty(o, NAN), OPUSRT_ERROR_INVALID_ARGUMENT, "length_penalty must be finite");
  CHECK_ERROR(opusrt_options_set_length_penalty(o, INFINITY), OPUSRT_ERROR_INVALID_ARGUMENT, "finite");
  CHECK_OK(opusrt_options_set_early_stopping(o, OPUSRT_EARLY_STOPPING_TRUE));
  CHECK_ERROR(opusrt_options_set_early_stopping(o, (opusrt_early_stopping)9), OPUSRT_ERROR_INVALID_ARGUMENT,
              "unknown early_stopping 9");
  CHECK_OK(opusrt_options_set_num_return_sequences(o, 2));
  CHECK_ERROR(opusrt_options_set_num_return_sequences(o, -1), OPUSRT_ERROR_INVALID_ARGUMENT, "num_return_sequences");
  CHECK_OK(opusrt_options_set_target_lang(o, "cmn_Hans"));
  CHECK_ERROR(opusrt_options_set_target_lang(o, "\xff\xfe"), OPUSRT_ERROR_INVALID_ARGUMENT, "not valid UTF-8");
  CHECK_OK(opusrt_options_set_min_new_tokens(o, 2));
  CHECK_ERROR(opusrt_options_set_min_new_tokens(o, -3), OPUSRT_ERROR_INVALID_ARGUMENT, "-3");
  CHECK_OK(opusrt_options_set_repetition_penalty(o, 1.2));
  CHECK_ERROR(opusrt_options_set_repetition_penalty(o, 0), OPUSRT_ERROR_INVALID_ARGUMENT, "repetition_penalty must be > 0");
  CHECK_OK(opusrt_options_set_no_repeat_ngram_size(o, 3));
  CHECK_ERROR(opusrt_options_set_no_repeat_ngram_size(o, -1), OPUSRT_ERROR_INVALID_ARGUMENT, "size must be >= 0");
  CHECK_OK(opusrt_options_add_bad_words_ids(o, ids, 2));
  CHECK_ERROR(opusrt_options_add_bad_words_ids(o, ids, 0), OPUSRT_ERROR_INVALID_ARGUMENT, "count is 0");
  CHECK_ERROR(opusrt_options_add_bad_words_ids(o, NULL, 2), OPUSRT_ERROR_INVALID_ARGUMENT, "ids is NULL");
  CHECK_OK(opusrt_options_set_suppress_tokens(o, ids, 2));
  CHECK_OK(opusrt_options_set_suppress_tokens(o, NULL, 0));
  CHECK_ERROR(opusrt_options_set_suppress_tokens(o, NULL, 1), OPUSRT_ERROR_INVALID_ARGUMENT, "ids is NULL");
  CHECK_OK(opusrt_options_set_do_sample(o, 1));
  CHECK_OK(opusrt_options_set_temperature(o, 0.7));
  CHECK_ERROR(opusrt_options_set_temperature(o, -1), OPUSRT_ERROR_INVALID_ARGUMENT, "temperature must be > 0");
  CHECK_OK(opusrt_options_set_top_k(o, 5));
  CHECK_ERROR(opusrt_options_set_top_k(o, -5), OPUSRT_ERROR_INVALID_ARGUMENT, "top_k must be >= 0");
  CHECK_OK(opusrt_options_set_top_p(o, 1.0));
  CHECK_ERROR(opusrt_options_set_top_p(o, 1.5), OPUSRT_ERROR_INVALID_ARGUMENT, "top_p must be in (0, 1]");
  CHECK_ERROR(opusrt_options_set_top_p(o, NAN), OPUSRT_ERROR_INVALID_ARGUMENT, "top_p");
  CHECK_OK(opusrt_options_set_seed(o, UINT64_MAX));
  CHECK_OK(opusrt_options_set_target_prefix(o, "Hello"));
  CHECK_ERROR(opusrt_options_set_target_prefix(o, "\xc3"), OPUSRT_ERROR_INVALID_ARGUMENT, "prefix is not valid UTF-8");
  CHECK_OK(opusrt_options_set_target_prefix_ids(o, ids, 2));
  CHECK_ERROR(opusrt_options_set_target_prefix_ids(o, NULL, 2), OPUSRT_ERROR_INVALID_ARGUMENT, "ids is NULL");
  CHECK_OK(opusrt_options_set_split(o, OPUSRT_SPLIT_NONE));
  CHECK_ERROR(opusrt_options_set_split(o, (opusrt_split)-1), OPUSRT_ERROR_INVALID_ARGUMENT, "unknown split -1");
  CHECK_OK(opusrt_options_set_max_batch(o, 4));

  opusrt_options* copy = NULL;
  CHECK_OK(opusrt_options_copy(o, &copy));
  CHECK(copy != NULL && copy != o);
  opusrt_options_free(copy);
  CHECK_ERROR(opusrt_options_copy(NULL, &copy), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK(copy == NULL);

  const char* names[] = {"max_new_tokens", "num_beams", "length_penalty", "early_stopping", "num_return_sequences",
                         "target_lang", "min_new_tokens", "repetition_penalty", "no_repeat_ngram_size",
                         "bad_words_ids", "suppress_tokens", "do_sample", "temperature", "top_k", "top_p", "seed",
                         "target_prefix", "target_prefix_ids", "split", "max_batch", "commit_policy", "mask",
                         "bias", "max_tentative_tokens"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) CHECK_OK(opusrt_options_unset(o, names[i]));
  CHECK_ERROR(opusrt_options_unset(o, "beams"), OPUSRT_ERROR_INVALID_ARGUMENT, "unknown option 'beams'");
  CHECK_ERROR(opusrt_options_unset(o, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "name is NULL");

  /* Every setter names its NULL handle. */
  CHECK_ERROR(opusrt_options_create(NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "out_options is NULL");
  CHECK_ERROR(opusrt_options_unset(NULL, "seed"), OPUSRT_ERROR_INVALID_ARGUMENT, "opusrt_options_unset: options is NULL");
  CHECK_ERROR(opusrt_options_set_max_new_tokens(NULL, 1), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_set_length_penalty(NULL, 1), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_set_early_stopping(NULL, OPUSRT_EARLY_STOPPING_TRUE), OPUSRT_ERROR_INVALID_ARGUMENT,
              "options is NULL");
  CHECK_ERROR(opusrt_options_set_num_return_sequences(NULL, 1), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_set_target_lang(NULL, "de"), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_set_min_new_tokens(NULL, 1), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_set_repetition_penalty(NULL, 1), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_set_no_repeat_ngram_size(NULL, 1), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_add_bad_words_ids(NULL, ids, 1), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_set_suppress_tokens(NULL, ids, 1), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_set_do_sample(NULL, 1), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_set_temperature(NULL, 1), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_set_top_k(NULL, 1), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_set_top_p(NULL, 1), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_set_seed(NULL, 1), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_set_target_prefix(NULL, "x"), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_set_target_prefix_ids(NULL, ids, 1), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_set_split(NULL, OPUSRT_SPLIT_AUTO), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  CHECK_ERROR(opusrt_options_set_max_batch(NULL, 1), OPUSRT_ERROR_INVALID_ARGUMENT, "options is NULL");
  opusrt_options_free(o);
  opusrt_options_free(NULL);
}

/* ---- batch translation and results ---- */

static void test_batch_results(const opusrt_translator* translator) {
  opusrt_options* options = greedy_options(16);
  opusrt_result* result = translate(translator, options, kTexts, kTextCount);
  size_t count = 0;
  CHECK_OK(opusrt_result_count(result, &count));
  CHECK(count == kTextCount);
  int64_t start_token = -1;
  for (size_t i = 0; i < count; ++i) {
    opusrt_status status = OPUSRT_ERROR_INTERNAL;
    const char* message = NULL;
    CHECK_OK(opusrt_result_error(result, i, &status, &message));
    CHECK(status == OPUSRT_OK && message != NULL && message[0] == '\0');
    CHECK_OK(opusrt_result_error(result, i, &status, NULL)); /* out_message is optional */

    const char* source = NULL;
    size_t source_length = 0;
    CHECK_OK(opusrt_result_source_text(result, i, &source, &source_length));
    CHECK(source_length == strlen(kTexts[i]) && strcmp(source, kTexts[i]) == 0);

    size_t n = 0;
    int64_t* ids = output_ids(result, i, &n);
    CHECK(n >= 2);
    if (start_token < 0) start_token = ids[0];
    CHECK(ids[0] == start_token); /* every translation starts with the decoder start token */
    const int64_t* source_ids = NULL;
    size_t source_count = 0;
    CHECK_OK(opusrt_result_source_ids(result, i, &source_ids, &source_count));
    CHECK(source_count >= 2); /* pieces, then </s> */

    /* The same text alone gives the same ids (a batch pads, it does not change results). */
    opusrt_result* alone = translate(translator, options, kTexts + i, 1);
    size_t alone_n = 0;
    int64_t* alone_ids = output_ids(alone, 0, &alone_n);
    CHECK(same_ids(ids, n, alone_ids, alone_n));
    free(alone_ids);
    opusrt_result_free(alone);

    double encoder = -1, decoder = -1, total = -1;
    CHECK_OK(opusrt_result_timing_ms(result, i, OPUSRT_TIMING_ENCODER, &encoder));
    CHECK_OK(opusrt_result_timing_ms(result, i, OPUSRT_TIMING_DECODER, &decoder));
    CHECK_OK(opusrt_result_timing_ms(result, i, OPUSRT_TIMING_TOTAL, &total));
    CHECK(encoder >= 0 && decoder > 0 && total >= decoder + encoder);

    double score = 1;
    CHECK_OK(opusrt_result_score(result, i, &score));
    CHECK(score < 0); /* mean log-probability */
    int stopped = -1;
    CHECK_OK(opusrt_result_stopped(result, i, &stopped));
    CHECK(stopped == 0);

    /* Without n-best, the one hypothesis is the translation. */
    size_t hypotheses = 0;
    CHECK_OK(opusrt_result_n_best_count(result, i, &hypotheses));
    CHECK(hypotheses == 1);
    const char* best = NULL;
    CHECK_OK(opusrt_result_n_best_text(result, i, 0, &best, NULL));
    CHECK(best != NULL && strcmp(best, result_text(result, i)) == 0);
    double best_score = 0;
    CHECK_OK(opusrt_result_n_best_score(result, i, 0, &best_score));
    CHECK(best_score == score);
    free(ids);
  }
  /* Errors of the getters: out of range index, unknown timing, NULL out-parameters. */
  const char* text = "untouched";
  CHECK_ERROR(opusrt_result_text(result, 3, &text, NULL), OPUSRT_ERROR_INVALID_ARGUMENT,
              "opusrt_result_text: index 3 is out of range (the result has 3 translations)");
  CHECK(strcmp(text, "untouched") == 0);
  double ms = -7;
  CHECK_ERROR(opusrt_result_timing_ms(result, 0, (opusrt_timing)42, &ms), OPUSRT_ERROR_INVALID_ARGUMENT,
              "unknown timing 42");
  CHECK(ms == -7);
  const int64_t* ids = NULL;
  size_t n = 0;
  opusrt_status status;
  int stopped;
  CHECK_ERROR(opusrt_result_count(NULL, &n), OPUSRT_ERROR_INVALID_ARGUMENT, "result is NULL");
  CHECK_ERROR(opusrt_result_count(result, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "out_count is NULL");
  CHECK_ERROR(opusrt_result_error(result, 0, NULL, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "out_status is NULL");
  CHECK_ERROR(opusrt_result_error(result, 9, &status, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "index 9");
  CHECK_ERROR(opusrt_result_text(result, 0, NULL, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "out_text is NULL");
  CHECK_ERROR(opusrt_result_output_ids(result, 0, NULL, &n), OPUSRT_ERROR_INVALID_ARGUMENT, "out_ids is NULL");
  CHECK_ERROR(opusrt_result_source_ids(result, 0, &ids, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "out_count is NULL");
  CHECK_ERROR(opusrt_result_source_text(result, 5, &text, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "index 5");
  CHECK_ERROR(opusrt_result_score(result, 0, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "out_score is NULL");
  CHECK_ERROR(opusrt_result_stopped(result, 0, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "out_stopped is NULL");
  CHECK_ERROR(opusrt_result_stopped(NULL, 0, &stopped), OPUSRT_ERROR_INVALID_ARGUMENT, "result is NULL");
  CHECK_ERROR(opusrt_result_timing_ms(result, 0, OPUSRT_TIMING_TOTAL, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "out_ms");
  CHECK_ERROR(opusrt_result_n_best_count(result, 0, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "out_count is NULL");
  CHECK_ERROR(opusrt_result_n_best_text(result, 0, 1, &text, NULL), OPUSRT_ERROR_INVALID_ARGUMENT,
              "rank 1 is out of range (translation 0 has 1 hypotheses)");
  CHECK_ERROR(opusrt_result_n_best_output_ids(result, 0, 0, &ids, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "out_count");
  CHECK_ERROR(opusrt_result_n_best_score(result, 0, 0, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "out_score is NULL");
  CHECK_ERROR(opusrt_result_joined_text(result, &text, NULL), OPUSRT_ERROR_INVALID_ARGUMENT,
              "not from opusrt_translate_text");
  CHECK_ERROR(opusrt_result_joined_text(NULL, &text, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "result is NULL");
  opusrt_result_free(result);
  opusrt_result_free(NULL);

  /* Lengths: texts without terminator, and a NULL text of length 0 is the empty text. */
  const char buffer[] = "Hello world.Good morning!";
  const char* pieces[] = {buffer, buffer + 12, NULL};
  const size_t lengths[] = {12, 13, 0};
  CHECK_OK(opusrt_translate(translator, options, pieces, lengths, 3, &result));
  const char* terminated[] = {"Hello world.", "Good morning!", ""};
  opusrt_result* expected = translate(translator, options, terminated, 3);
  for (size_t i = 0; result != NULL && i < 3; ++i) {
    size_t na = 0, nb = 0;
    int64_t* a = output_ids(result, i, &na);
    int64_t* b = output_ids(expected, i, &nb);
    CHECK(same_ids(a, na, b, nb));
    free(a);
    free(b);
  }
  opusrt_result_free(result);
  opusrt_result_free(expected);

  /* Call errors: NULL arguments; an empty batch is an empty result. */
  result = (opusrt_result*)&result;
  CHECK_ERROR(opusrt_translate(NULL, options, kTexts, NULL, 1, &result), OPUSRT_ERROR_INVALID_ARGUMENT,
              "opusrt_translate: translator is NULL");
  CHECK(result == NULL);
  CHECK_ERROR(opusrt_translate(translator, options, NULL, NULL, 1, &result), OPUSRT_ERROR_INVALID_ARGUMENT, "texts is NULL");
  CHECK_ERROR(opusrt_translate(translator, options, kTexts, NULL, 1, NULL), OPUSRT_ERROR_INVALID_ARGUMENT,
              "out_result is NULL");
  const char* with_null[] = {"Hello", NULL};
  CHECK_ERROR(opusrt_translate(translator, options, with_null, NULL, 2, &result), OPUSRT_ERROR_INVALID_ARGUMENT,
              "opusrt_translate: texts[1] is NULL");
  CHECK_OK(opusrt_translate(translator, NULL, NULL, NULL, 0, &result));
  CHECK_OK(opusrt_result_count(result, &count));
  CHECK(count == 0);
  opusrt_result_free(result);
  opusrt_options_free(options);
}

static void test_a_bad_text_fails_alone(const opusrt_translator* translator) {
  opusrt_options* options = greedy_options(8);
  /* invalid UTF-8 (byte 3), and a text far longer than the tiny model's positions */
  size_t long_length = 20000;
  char* long_text = malloc(long_length + 1);
  if (long_text == NULL) abort();
  for (size_t i = 0; i < long_length; ++i) long_text[i] = i % 2 ? ' ' : 'w';
  long_text[long_length] = '\0';
  const char* texts[] = {"Hello world.", "bad\xff byte", long_text, "Good morning!"};
  opusrt_result* result = translate(translator, options, texts, 4);
  opusrt_status status = OPUSRT_OK;
  const char* message = NULL;
  CHECK_OK(opusrt_result_error(result, 1, &status, &message));
  CHECK(status == OPUSRT_ERROR_INVALID_INPUT);
  CHECK(message != NULL && strcmp(message, "texts[1]: invalid UTF-8 at byte 3") == 0);
  CHECK(strcmp(result_text(result, 1), "") == 0);
  size_t n = 99;
  const int64_t* ids = NULL;
  CHECK_OK(opusrt_result_output_ids(result, 1, &ids, &n));
  CHECK(n == 0);
  CHECK_OK(opusrt_result_error(result, 2, &status, &message));
  CHECK(status == OPUSRT_ERROR_TRANSLATE);
  CHECK(message != NULL && strstr(message, "texts[2]: ") == message && strstr(message, "max_position_embeddings"));
  /* The good texts are translated as if alone. */
  const char* good[] = {"Hello world.", "Good morning!"};
  opusrt_result* expected = translate(translator, options, good, 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK_OK(opusrt_result_error(result, i * 3, &status, &message));
    CHECK(status == OPUSRT_OK);
    CHECK(strcmp(result_text(result, i * 3), result_text(expected, i)) == 0);
  }
  opusrt_result_free(expected);
  opusrt_result_free(result);
  free(long_text);

  /* What is wrong for every text fails the call, naming it. */
  CHECK_OK(opusrt_options_set_target_lang(options, "xx_Nope"));
  result = (opusrt_result*)&result;
  CHECK_ERROR(opusrt_translate(translator, options, texts, NULL, 1, &result), OPUSRT_ERROR_TRANSLATE, "xx_Nope");
  CHECK(result == NULL);
  CHECK(strstr(opusrt_last_error(), ">>cmn_Hans<<") != NULL); /* lists the languages the model has */
  opusrt_options_free(options);
}

static void test_n_best_and_scores(const opusrt_translator* translator) {
  opusrt_options* options = greedy_options(12);
  CHECK_OK(opusrt_options_set_num_beams(options, 4));
  CHECK_OK(opusrt_options_set_num_return_sequences(options, 3));
  CHECK_OK(opusrt_options_set_early_stopping(options, OPUSRT_EARLY_STOPPING_NEVER));
  opusrt_result* result = translate(translator, options, kTexts, kTextCount);
  for (size_t i = 0; i < kTextCount; ++i) {
    size_t count = 0;
    CHECK_OK(opusrt_result_n_best_count(result, i, &count));
    CHECK(count == 3);
    double score = 0, previous = 0;
    CHECK_OK(opusrt_result_score(result, i, &score));
    size_t best_n = 0;
    int64_t* best_ids = output_ids(result, i, &best_n);
    for (size_t r = 0; r < count; ++r) {
      const char* text = NULL;
      size_t length = 0;
      const int64_t* ids = NULL;
      size_t n = 0;
      double hypothesis_score = 0;
      CHECK_OK(opusrt_result_n_best_text(result, i, r, &text, &length));
      CHECK(text != NULL && strlen(text) == length);
      CHECK_OK(opusrt_result_n_best_output_ids(result, i, r, &ids, &n));
      CHECK_OK(opusrt_result_n_best_score(result, i, r, &hypothesis_score));
      if (r == 0) {
        CHECK(hypothesis_score == score && same_ids(ids, n, best_ids, best_n));
        CHECK(strcmp(text, result_text(result, i)) == 0);
      } else {
        CHECK(hypothesis_score <= previous);        /* best first */
        CHECK(!same_ids(ids, n, best_ids, best_n)); /* distinct hypotheses */
      }
      previous = hypothesis_score;
    }
    free(best_ids);
  }
  opusrt_result_free(result);

  /* More sequences than beams is the model call's error, naming the option. */
  CHECK_OK(opusrt_options_set_num_return_sequences(options, 5));
  CHECK_ERROR(opusrt_translate(translator, options, kTexts, NULL, 1, &result), OPUSRT_ERROR_TRANSLATE,
              "num_return_sequences");

  /* Greedy score = sum of log-probs / generated ^ length_penalty: penalties 0, 1 and 2 on the
   * same (greedy) path give s0 / s1 = generated tokens and s0 * s2 = s1 * s1. */
  CHECK_OK(opusrt_options_unset(options, "num_return_sequences"));
  CHECK_OK(opusrt_options_set_num_beams(options, 1));
  double scores[3];
  size_t generated = 0;
  for (int penalty = 0; penalty < 3; ++penalty) {
    CHECK_OK(opusrt_options_set_length_penalty(options, penalty));
    result = translate(translator, options, kTexts + 1, 1);
    CHECK_OK(opusrt_result_score(result, 0, &scores[penalty]));
    int64_t* ids = output_ids(result, 0, &generated);
    free(ids);
    generated -= 1; /* the start token is not generated */
    opusrt_result_free(result);
  }
  CHECK(generated >= 2);
  CHECK(fabs(scores[0] / scores[1] - (double)generated) < 1e-6);
  CHECK(fabs(scores[0] * scores[2] - scores[1] * scores[1]) < 1e-6 * fabs(scores[1] * scores[1]));
  opusrt_options_free(options);
}

static void test_sampling_with_seed(const opusrt_translator* translator) {
  opusrt_options* options = greedy_options(12);
  opusrt_result* greedy = translate(translator, options, kTexts, kTextCount);
  CHECK_OK(opusrt_options_set_do_sample(options, 1));
  CHECK_OK(opusrt_options_set_temperature(options, 1.5));
  CHECK_OK(opusrt_options_set_seed(options, 42));
  opusrt_result* first = translate(translator, options, kTexts, kTextCount);
  opusrt_result* again = translate(translator, options, kTexts, kTextCount);
  int differs_from_greedy = 0, differs_by_seed = 0;
  for (size_t i = 0; i < kTextCount; ++i) {
    CHECK(strcmp(result_text(first, i), result_text(again, i)) == 0); /* same seed, same output */
    differs_from_greedy |= strcmp(result_text(first, i), result_text(greedy, i)) != 0;
  }
  for (uint64_t seed = 1; seed <= 4 && !differs_by_seed; ++seed) {
    CHECK_OK(opusrt_options_set_seed(options, seed));
    opusrt_result* other = translate(translator, options, kTexts, kTextCount);
    for (size_t i = 0; i < kTextCount; ++i) differs_by_seed |= strcmp(result_text(first, i), result_text(other, i)) != 0;
    opusrt_result_free(other);
  }
  CHECK(differs_from_greedy);
  CHECK(differs_by_seed);
  /* top_k 1 keeps only the most likely token: sampling is then greedy. */
  CHECK_OK(opusrt_options_set_top_k(options, 1));
  CHECK_OK(opusrt_options_set_top_p(options, 0.9));
  opusrt_result* top1 = translate(translator, options, kTexts, kTextCount);
  for (size_t i = 0; i < kTextCount; ++i) CHECK(strcmp(result_text(top1, i), result_text(greedy, i)) == 0);
  /* Sampling with beams is rejected by the call. */
  CHECK_OK(opusrt_options_set_num_beams(options, 2));
  opusrt_result* result = NULL;
  CHECK_ERROR(opusrt_translate(translator, options, kTexts, NULL, 1, &result), OPUSRT_ERROR_TRANSLATE, "sampling");
  opusrt_result_free(top1);
  opusrt_result_free(first);
  opusrt_result_free(again);
  opusrt_result_free(greedy);
  opusrt_options_free(options);
}

static void test_processors(const opusrt_translator* translator) {
  opusrt_options* options = greedy_options(10);
  opusrt_result* free_result = translate(translator, options, kTexts + 1, 1);
  size_t free_n = 0;
  int64_t* free_ids = output_ids(free_result, 0, &free_n);
  CHECK(free_n >= 3);
  const int64_t eos = free_ids[free_n - 1];

  /* suppress_tokens: none of the greedy output's tokens may appear. */
  CHECK_OK(opusrt_options_set_suppress_tokens(options, free_ids + 1, free_n - 2));
  opusrt_result* result = translate(translator, options, kTexts + 1, 1);
  size_t n = 0;
  int64_t* ids = output_ids(result, 0, &n);
  for (size_t i = 1; i + 2 < free_n; ++i) CHECK(!contains_id(ids + 1, n - 1, free_ids[i]));
  free(ids);
  opusrt_result_free(result);
  CHECK_OK(opusrt_options_unset(options, "suppress_tokens"));

  /* bad_words_ids: the first greedy token is banned, so the output starts otherwise. */
  CHECK_OK(opusrt_options_add_bad_words_ids(options, free_ids + 1, 1));
  result = translate(translator, options, kTexts + 1, 1);
  ids = output_ids(result, 0, &n);
  CHECK(n >= 2 && !contains_id(ids + 1, n - 1, free_ids[1]));
  free(ids);
  opusrt_result_free(result);
  CHECK_OK(opusrt_options_unset(options, "bad_words_ids"));

  /* no_repeat_ngram_size 1: no token twice. */
  CHECK_OK(opusrt_options_set_no_repeat_ngram_size(options, 1));
  CHECK_OK(opusrt_options_set_max_new_tokens(options, 30));
  result = translate(translator, options, kTexts + 1, 1);
  ids = output_ids(result, 0, &n);
  for (size_t i = 1; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) CHECK(ids[i] != ids[j]);
  free(ids);
  opusrt_result_free(result);
  CHECK_OK(opusrt_options_unset(options, "no_repeat_ngram_size"));

  /* min_new_tokens: no </s> before that many tokens. */
  CHECK_OK(opusrt_options_set_min_new_tokens(options, (int64_t)free_n + 3));
  result = translate(translator, options, kTexts + 1, 1);
  ids = output_ids(result, 0, &n);
  CHECK(n >= free_n + 4);
  for (size_t i = 1; i < free_n + 3 && i < n; ++i) CHECK(ids[i] != eos);
  free(ids);
  opusrt_result_free(result);
  CHECK_OK(opusrt_options_unset(options, "min_new_tokens"));

  /* repetition_penalty: a strong one changes what the model repeats; 1 is no change. */
  CHECK_OK(opusrt_options_set_max_new_tokens(options, 10));
  CHECK_OK(opusrt_options_set_repetition_penalty(options, 1.0));
  result = translate(translator, options, kTexts + 1, 1);
  ids = output_ids(result, 0, &n);
  CHECK(same_ids(ids, n, free_ids, free_n));
  free(ids);
  opusrt_result_free(result);

  /* Token ids outside the vocabulary are the call's error, naming the option. */
  const int64_t outside[] = {-1};
  CHECK_OK(opusrt_options_set_suppress_tokens(options, outside, 1));
  CHECK_ERROR(opusrt_translate(translator, options, kTexts, NULL, 1, &result), OPUSRT_ERROR_TRANSLATE, "suppress_tokens");
  free(free_ids);
  opusrt_result_free(free_result);
  opusrt_options_free(options);
}

static void test_target_prefix_and_language(const opusrt_translator* translator) {
  opusrt_options* options = greedy_options(12);
  opusrt_result* free_result = translate(translator, options, kTexts, 1);
  size_t free_n = 0;
  int64_t* free_ids = output_ids(free_result, 0, &free_n);
  /* ids: ordinary tokens the model would not choose first */
  int64_t prefix[2];
  for (int64_t id = 10, k = 0; k < 2; ++id)
    if (id != free_ids[1]) prefix[k++] = id;
  CHECK_OK(opusrt_options_set_target_prefix_ids(options, prefix, 2));
  opusrt_result* result = translate(translator, options, kTexts, 1);
  size_t n = 0;
  int64_t* ids = output_ids(result, 0, &n);
  CHECK(n > 3 && ids[1] == prefix[0] && ids[2] == prefix[1]);
  CHECK(n <= 3 + 12); /* max_new_tokens counts the tokens after the prefix */
  free(ids);
  opusrt_result_free(result);
  CHECK_OK(opusrt_options_set_target_prefix_ids(options, NULL, 0));

  /* text: the translation starts with it */
  CHECK_OK(opusrt_options_set_target_prefix(options, "\xe4\xbd\xa0\xe5\xa5\xbd")); /* 你好 */
  result = translate(translator, options, kTexts, 1);
  CHECK(strncmp(result_text(result, 0), "\xe4\xbd\xa0\xe5\xa5\xbd", 6) == 0);
  opusrt_result_free(result);
  CHECK_OK(opusrt_options_set_target_prefix(options, NULL));
  result = translate(translator, options, kTexts, 1);
  ids = output_ids(result, 0, &n);
  CHECK(same_ids(ids, n, free_ids, free_n)); /* unset: as before */
  free(ids);
  opusrt_result_free(result);

  /* target language: >>cmn_Hans<< goes first in the source ids. */
  const int64_t* plain_source = NULL;
  size_t plain_count = 0;
  CHECK_OK(opusrt_result_source_ids(free_result, 0, &plain_source, &plain_count));
  CHECK_OK(opusrt_options_set_target_lang(options, "cmn_Hans"));
  result = translate(translator, options, kTexts, 1);
  const int64_t* source = NULL;
  size_t source_count = 0;
  CHECK_OK(opusrt_result_source_ids(result, 0, &source, &source_count));
  CHECK(source_count == plain_count + 1 && same_ids(source + 1, source_count - 1, plain_source, plain_count));
  opusrt_result_free(result);
  CHECK_OK(opusrt_options_set_target_lang(options, ""));
  result = translate(translator, options, kTexts, 1);
  CHECK_OK(opusrt_result_source_ids(result, 0, &source, &source_count));
  CHECK(same_ids(source, source_count, plain_source, plain_count));
  opusrt_result_free(result);
  free(free_ids);
  opusrt_result_free(free_result);
  opusrt_options_free(options);
}

/* ---- streaming ---- */

struct Stream {
  size_t calls[2];
  int64_t tokens[2][64];
  char last[2][256];
  size_t stop_after[2]; /* 0: never */
  int bad_partial;
};

static int on_token(void* user_data, size_t index, int64_t token, const char* partial, size_t length) {
  struct Stream* s = user_data;
  if (index >= 2 || partial == NULL || strlen(partial) != length || length >= sizeof s->last[0]) {
    s->bad_partial = 1;
    return 0;
  }
  if (s->calls[index] < 64) s->tokens[index][s->calls[index]] = token;
  ++s->calls[index];
  memcpy(s->last[index], partial, length + 1);
  return s->stop_after[index] == 0 || s->calls[index] < s->stop_after[index];
}

static void test_streaming_with_stop(const opusrt_translator* translator) {
  for (int32_t beams = 1; beams <= 3; beams += 2) {
    opusrt_options* options = greedy_options(20);
    CHECK_OK(opusrt_options_set_num_beams(options, beams));
    struct Stream s;
    memset(&s, 0, sizeof s);
    opusrt_result* result = NULL;
    CHECK_OK(opusrt_translate_stream(translator, options, kTexts, NULL, 2, on_token, &s, &result));
    CHECK(!s.bad_partial);
    for (size_t i = 0; result != NULL && i < 2; ++i) {
      size_t n = 0;
      int64_t* ids = output_ids(result, i, &n);
      CHECK(s.calls[i] == n - 1); /* one call per generated token */
      CHECK(same_ids(s.tokens[i], s.calls[i], ids + 1, n - 1));
      CHECK(strcmp(s.last[i], result_text(result, i)) == 0); /* the last partial text is the translation */
      int stopped = 1;
      CHECK_OK(opusrt_result_stopped(result, i, &stopped));
      CHECK(stopped == 0);
      free(ids);
    }
    opusrt_result_free(result);

    /* Returning 0 stops that text only, and ends its callbacks. Greedy: the translation is what
     * came so far; beam search streams a finished search, so the translation is complete. */
    memset(&s, 0, sizeof s);
    s.stop_after[1] = 3;
    CHECK_OK(opusrt_translate_stream(translator, options, kTexts, NULL, 2, on_token, &s, &result));
    int stopped = 0;
    size_t n = 0;
    CHECK_OK(opusrt_result_stopped(result, 1, &stopped));
    int64_t* ids = output_ids(result, 1, &n);
    CHECK(s.calls[1] == 3);
    CHECK(n > 3 && same_ids(s.tokens[1], 3, ids + 1, 3));
    free(ids);
    if (beams == 1) {
      CHECK(stopped == 1);
      CHECK(n == 1 + 3);
      CHECK(strcmp(s.last[1], result_text(result, 1)) == 0);
    } else {
      CHECK(stopped == 0);
    }
    CHECK_OK(opusrt_result_stopped(result, 0, &stopped));
    CHECK(stopped == 0);
    free(output_ids(result, 0, &n));
    CHECK(s.calls[0] == n - 1);
    opusrt_result_free(result);

    CHECK_ERROR(opusrt_translate_stream(translator, options, kTexts, NULL, 1, NULL, NULL, &result),
                OPUSRT_ERROR_INVALID_ARGUMENT, "callback is NULL");
    CHECK(result == NULL);
    CHECK_ERROR(opusrt_translate_stream(NULL, options, kTexts, NULL, 1, on_token, &s, &result),
                OPUSRT_ERROR_INVALID_ARGUMENT, "opusrt_translate_stream: translator is NULL");
    opusrt_options_free(options);
  }
}

/* ---- translate_text ---- */

static void test_translate_text(const opusrt_translator* translator) {
  const char text[] = "Hello world. Where is the nearest train station?\n\nGood morning!";
  opusrt_options* options = greedy_options(8);
  CHECK_OK(opusrt_options_set_split(options, OPUSRT_SPLIT_SENTENCES));
  CHECK_OK(opusrt_options_set_max_batch(options, 2));
  struct Stream s;
  memset(&s, 0, sizeof s);
  opusrt_result* result = NULL;
  CHECK_OK(opusrt_translate_text(translator, options, text, strlen(text), NULL, NULL, &result));
  size_t units = 0;
  CHECK_OK(opusrt_result_count(result, &units));
  CHECK(units == 3);
  const char* joined = NULL;
  size_t joined_length = 0;
  CHECK_OK(opusrt_result_joined_text(result, &joined, &joined_length));
  CHECK(joined != NULL && strlen(joined) == joined_length);
  CHECK(joined != NULL && strstr(joined, "\n\n") != NULL); /* the source's line breaks are kept */
  const char* expected_units[] = {"Hello world.", "Where is the nearest train station?", "Good morning!"};
  for (size_t i = 0; i < units && i < 3; ++i) {
    const char* piece = NULL;
    CHECK_OK(opusrt_result_source_text(result, i, &piece, NULL));
    CHECK(piece != NULL && strcmp(piece, expected_units[i]) == 0);
    CHECK(strstr(joined, result_text(result, i)) != NULL);
  }
  /* Each unit is what opusrt_translate gives for it. */
  opusrt_result* batch = translate(translator, options, expected_units, 3);
  for (size_t i = 0; i < units && i < 3; ++i) CHECK(strcmp(result_text(result, i), result_text(batch, i)) == 0);
  opusrt_result_free(batch);
  opusrt_result_free(result);

  /* Streaming: the index is the unit's; stopping one unit stops it alone. */
  memset(&s, 0, sizeof s);
  s.stop_after[1] = 2;
  const char two[] = "Hello world. Good morning!";
  CHECK_OK(opusrt_translate_text(translator, options, two, strlen(two), on_token, &s, &result));
  CHECK(!s.bad_partial && s.calls[0] > 0 && s.calls[1] == 2);
  int stopped = 0;
  CHECK_OK(opusrt_result_stopped(result, 1, &stopped));
  CHECK(stopped == 1);
  opusrt_result_free(result);

  /* Split none: one unit, the text as given; no terminator needed. */
  CHECK_OK(opusrt_options_set_split(options, OPUSRT_SPLIT_NONE));
  CHECK_OK(opusrt_translate_text(translator, options, two, 12, NULL, NULL, &result));
  CHECK_OK(opusrt_result_count(result, &units));
  CHECK(units == 1);
  const char* piece = NULL;
  size_t piece_length = 0;
  CHECK_OK(opusrt_result_source_text(result, 0, &piece, &piece_length));
  CHECK(piece_length == 12 && strcmp(piece, "Hello world.") == 0);
  opusrt_result_free(result);

  /* Errors: invalid UTF-8, NULL arguments. */
  result = (opusrt_result*)&result;
  CHECK_ERROR(opusrt_translate_text(translator, options, "ok\xc3", 3, NULL, NULL, &result), OPUSRT_ERROR_INVALID_INPUT,
              "opusrt_translate_text: text: invalid UTF-8 at byte 2");
  CHECK(result == NULL);
  CHECK_ERROR(opusrt_translate_text(NULL, options, two, 3, NULL, NULL, &result), OPUSRT_ERROR_INVALID_ARGUMENT,
              "translator is NULL");
  CHECK_ERROR(opusrt_translate_text(translator, options, NULL, 3, NULL, NULL, &result), OPUSRT_ERROR_INVALID_ARGUMENT,
              "text is NULL");
  CHECK_ERROR(opusrt_translate_text(translator, options, two, 3, NULL, NULL, NULL), OPUSRT_ERROR_INVALID_ARGUMENT,
              "out_result is NULL");
  /* Empty text with default options: an empty translation. */
  CHECK_OK(opusrt_translate_text(translator, NULL, NULL, 0, NULL, NULL, &result));
  CHECK_OK(opusrt_result_joined_text(result, &joined, &joined_length));
  CHECK(joined_length == 0);
  opusrt_result_free(result);
  opusrt_options_free(options);
}

/* ---- incremental sessions ---- */

static char* update_text(const opusrt_update* update, int committed) {
  const char* text = NULL;
  size_t length = 0;
  CHECK_OK(committed ? opusrt_update_committed(update, &text, &length) : opusrt_update_tentative(update, &text, &length));
  CHECK(text != NULL && strlen(text) == length);
  char* copy = malloc(length + 1);
  if (copy == NULL) abort();
  memcpy(copy, text ? text : "", length + 1);
  return copy;
}

static void test_incremental_session(const opusrt_translator* translator) {
  opusrt_options* options = greedy_options(16);
  CHECK_ERROR(opusrt_options_set_commit_policy(options, "la1x"), OPUSRT_ERROR_INVALID_ARGUMENT, "la1x");
  CHECK_ERROR(opusrt_options_set_mask(options, -1), OPUSRT_ERROR_INVALID_ARGUMENT, "mask must be >= 0");
  CHECK_ERROR(opusrt_options_set_bias(options, 1.0), OPUSRT_ERROR_INVALID_ARGUMENT, "bias must be in [0, 1)");
  CHECK_ERROR(opusrt_options_set_max_tentative_tokens(options, -1), OPUSRT_ERROR_INVALID_ARGUMENT, "max_tokens");
  CHECK_OK(opusrt_options_set_commit_policy(options, "la2"));
  CHECK_OK(opusrt_options_set_mask(options, 0));
  CHECK_OK(opusrt_options_set_bias(options, 0.0));
  CHECK_OK(opusrt_options_set_max_tentative_tokens(options, 0));
  opusrt_session* session = NULL;
  CHECK_OK(opusrt_session_create(translator, options, &session));
  if (session == NULL) return;

  /* Partials growing word by word, then the final: committed text only grows; the final is
   * exactly the offline translation with the same options. */
  const char* partials[] = {"Where", "Where is", "Where is the", "Where is the nearest", "Where is the nearest train"};
  char* previous = malloc(1);
  if (previous == NULL) abort();
  previous[0] = '\0';
  for (size_t i = 0; i < 5; ++i) {
    opusrt_update* update = NULL;
    CHECK_OK(opusrt_session_push(session, partials[i], strlen(partials[i]), 0, &update));
    if (update == NULL) continue;
    char* committed = update_text(update, 1);
    char* tentative = update_text(update, 0);
    CHECK(strncmp(committed, previous, strlen(previous)) == 0); /* grows */
    int final = 1;
    CHECK_OK(opusrt_update_final(update, &final));
    CHECK(final == 0);
    int64_t segment = -1, seq = -1;
    CHECK_OK(opusrt_update_position(update, &segment, &seq));
    CHECK(segment == 0 && seq >= 0);
    const int64_t* ids = NULL;
    size_t n = 0;
    CHECK_OK(opusrt_update_committed_ids(update, &ids, &n));
    CHECK_OK(opusrt_update_tentative_ids(update, &ids, &n));
    CHECK(strlen(committed) + strlen(tentative) > 0 || n == 0);
    free(previous);
    previous = committed;
    free(tentative);
    opusrt_update_free(update);
  }
  const char* source = kTexts[1];
  opusrt_update* last = NULL;
  CHECK_OK(opusrt_session_push(session, source, strlen(source), 1, &last));
  int final = 0, retracted = -1;
  size_t retracted_chars = 99;
  CHECK_OK(opusrt_update_final(last, &final));
  CHECK(final == 1);
  CHECK_OK(opusrt_update_retracted(last, &retracted, &retracted_chars));
  CHECK(retracted == 0 || retracted == 1);
  CHECK(retracted == 1 ? retracted_chars > 0 : retracted_chars == 0);
  CHECK_OK(opusrt_update_retracted(last, &retracted, NULL));
  opusrt_result* offline = translate(translator, options, kTexts + 1, 1);
  char* final_text = update_text(last, 1);
  CHECK(strcmp(final_text, result_text(offline, 0)) == 0);
  free(final_text);
  opusrt_update_free(last);

  /* A new segment starts after a final. */
  CHECK_OK(opusrt_session_push(session, "Good", 4, 0, &last));
  int64_t segment = -1, seq = -1;
  CHECK_OK(opusrt_update_position(last, &segment, &seq));
  CHECK(segment == 1);
  opusrt_update_free(last);

  /* Errors: invalid UTF-8 (the session stays usable), NULL arguments, a push after close. */
  last = (opusrt_update*)&last;
  CHECK_ERROR(opusrt_session_push(session, "Go\xff", 3, 0, &last), OPUSRT_ERROR_INVALID_INPUT,
              "opusrt_session_push: text: invalid UTF-8 at byte 2");
  CHECK(last == NULL);
  CHECK_ERROR(opusrt_session_push(NULL, "Go", 2, 0, &last), OPUSRT_ERROR_INVALID_ARGUMENT, "session is NULL");
  CHECK_ERROR(opusrt_session_push(session, NULL, 2, 0, &last), OPUSRT_ERROR_INVALID_ARGUMENT, "text is NULL");
  CHECK_ERROR(opusrt_session_push(session, "Go", 2, 0, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "out_update is NULL");
  CHECK_OK(opusrt_session_push(session, "Good morning!", 13, 1, &last));
  int split = -1;
  CHECK_OK(opusrt_update_split(last, &split));
  CHECK(split == 0);
  const char* update_source = NULL;
  size_t source_length = 0;
  CHECK_OK(opusrt_update_source(last, &update_source, &source_length));
  CHECK(source_length == 13 && strcmp(update_source, "Good morning!") == 0);
  opusrt_update_free(last);

  /* A partial longer than the model takes: its sentences before the last become a final of
   * their own (split), and a later push of the same partial goes on after them. */
  size_t long_length = 0;
  char* long_partial = malloc(4000);
  if (long_partial == NULL) abort();
  long_partial[0] = '\0';
  while (long_length < 3000) {  /* 200 sentences: past the tiny model's 256 positions */
    strcat(long_partial + long_length, "Open the file. ");
    long_length += 15;
  }
  strcat(long_partial, "Close the");
  long_length += 9;
  CHECK_OK(opusrt_session_push(session, long_partial, long_length, 0, &last));
  CHECK_OK(opusrt_update_split(last, &split));
  CHECK(split == 1);
  CHECK_OK(opusrt_update_final(last, &final));
  CHECK(final == 1);
  CHECK_OK(opusrt_update_source(last, &update_source, &source_length));
  CHECK(source_length > 0 && source_length < long_length && strncmp(update_source, long_partial, source_length) == 0);
  size_t closed = source_length;
  opusrt_update_free(last);
  CHECK_OK(opusrt_session_push(session, long_partial, long_length, 0, &last));
  CHECK_OK(opusrt_update_source(last, &update_source, &source_length));
  CHECK(closed + source_length <= long_length && strcmp(update_source, long_partial + (long_length - source_length)) == 0);
  opusrt_update_free(last);
  free(long_partial);
  CHECK_OK(opusrt_session_close(session));
  CHECK(opusrt_session_push(session, "Hello", 5, 0, &last) != OPUSRT_OK);
  CHECK(last == NULL);
  CHECK_ERROR(opusrt_session_close(NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "session is NULL");
  opusrt_session_free(session);
  CHECK_ERROR(opusrt_session_create(NULL, options, &session), OPUSRT_ERROR_INVALID_ARGUMENT, "translator is NULL");
  CHECK(session == NULL);
  CHECK_ERROR(opusrt_update_committed(NULL, NULL, NULL), OPUSRT_ERROR_INVALID_ARGUMENT, "update is NULL");
  CHECK_ERROR(opusrt_update_final(NULL, &final), OPUSRT_ERROR_INVALID_ARGUMENT, "update is NULL");
  opusrt_session_free(NULL);
  opusrt_update_free(NULL);
  free(previous);
  opusrt_result_free(offline);
  opusrt_options_free(options);
}

/* ---- threads ---- */

struct Job {
  const opusrt_translator* translator;
  const opusrt_options* options; /* shared read-only */
  const char* text;
  char output[512];
  int status;
};

static void* translate_in_thread(void* arg) {
  struct Job* job = arg;
  for (int round = 0; round < 3; ++round) {
    opusrt_result* result = NULL;
    job->status = opusrt_translate(job->translator, job->options, &job->text, NULL, 1, &result);
    if (job->status != OPUSRT_OK) return NULL;
    const char* text = NULL;
    size_t length = 0;
    job->status = opusrt_result_text(result, 0, &text, &length);
    if (job->status == OPUSRT_OK && length < sizeof job->output) {
      if (round > 0 && strcmp(job->output, text) != 0) job->status = -1; /* must not vary */
      memcpy(job->output, text, length + 1);
    }
    opusrt_result_free(result);
  }
  return NULL;
}

static void test_one_translator_many_threads(const opusrt_translator* translator) {
  opusrt_options* options = greedy_options(12);
  opusrt_result* expected = translate(translator, options, kTexts, kTextCount);
  enum { kThreads = 6 };
  struct Job jobs[kThreads];
  pthread_t threads[kThreads];
  for (size_t i = 0; i < kThreads; ++i) {
    memset(&jobs[i], 0, sizeof jobs[i]);
    jobs[i].translator = translator;
    jobs[i].options = options;
    jobs[i].text = kTexts[i % kTextCount];
    CHECK(pthread_create(&threads[i], NULL, translate_in_thread, &jobs[i]) == 0);
  }
  for (size_t i = 0; i < kThreads; ++i) {
    CHECK(pthread_join(threads[i], NULL) == 0);
    CHECK(jobs[i].status == OPUSRT_OK);
    CHECK(strcmp(jobs[i].output, result_text(expected, i % kTextCount)) == 0);
  }
  opusrt_result_free(expected);
  opusrt_options_free(options);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL_DIR\n", argv[0]);
    return 2;
  }
  model_dir = argv[1];
  test_versions_and_status_strings();
  test_last_error_is_per_thread_and_cleared_by_success();
  test_config();
  test_create_errors();
  test_variant_and_warnings();
  test_option_setters_check_their_values();
  opusrt_translator* translator = load();
  test_batch_results(translator);
  test_a_bad_text_fails_alone(translator);
  test_n_best_and_scores(translator);
  test_sampling_with_seed(translator);
  test_processors(translator);
  test_target_prefix_and_language(translator);
  test_streaming_with_stop(translator);
  test_translate_text(translator);
  test_incremental_session(translator);
  test_one_translator_many_threads(translator);
  opusrt_free(translator);
  if (failures > 0) {
    fprintf(stderr, "c_api_c_test: %d checks failed\n", failures);
    return 1;
  }
  printf("c_api_c_test: ok\n");
  return 0;
}
