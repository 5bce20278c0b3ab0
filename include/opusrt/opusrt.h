/* opusrt's C API: translate with Marian / OPUS-MT ONNX models from C, Rust (FFI) or any
 * language that can call C. Pure C (C99 and later, and C++); no C++ type crosses it.
 *
 *   opusrt_translator* translator = NULL;
 *   if (opusrt_create("opus-mt-en-zh/", NULL, &translator) != OPUSRT_OK) {
 *     fprintf(stderr, "%s\n", opusrt_last_error());
 *     return 1;
 *   }
 *   opusrt_options* options = NULL;
 *   opusrt_options_create(&options);
 *   opusrt_options_set_num_beams(options, 4);
 *   opusrt_options_set_num_return_sequences(options, 2);     // n-best
 *   const char* texts[] = {"Hello world.", "How are you?"};
 *   opusrt_result* result = NULL;
 *   if (opusrt_translate(translator, options, texts, NULL, 2, &result) == OPUSRT_OK) {
 *     for (size_t i = 0; i < 2; ++i) {
 *       opusrt_status status;
 *       const char* message;
 *       opusrt_result_error(result, i, &status, &message);   // one bad text fails alone
 *       if (status != OPUSRT_OK) { fprintf(stderr, "%s\n", message); continue; }
 *       const char* text;
 *       size_t length;
 *       opusrt_result_text(result, i, &text, &length);
 *       ...
 *     }
 *     opusrt_result_free(result);
 *   }
 *   opusrt_options_free(options);
 *   opusrt_free(translator);
 *
 * Conventions
 * - Every function that can fail returns an opusrt_status; OPUSRT_OK is 0. On failure
 *   opusrt_last_error() gives a message naming the argument, file, field or input at fault; an
 *   out-parameter that receives a handle is set to NULL (so that freeing it is always safe), other
 *   out-parameters are left untouched. No C++ exception ever crosses this API. The *_free
 *   functions, opusrt_version, opusrt_api_version, opusrt_last_error and opusrt_status_string
 *   cannot fail.
 * - Handles are opaque. Whatever opusrt_*_create / opusrt_create / opusrt_options_copy /
 *   opusrt_translate* hands out belongs to the caller and is released with the matching
 *   opusrt_*_free (each accepts NULL).
 * - Pointers read from a result (texts, id arrays) are owned by the result and stay valid until
 *   opusrt_result_free; copy what you keep. A result does not depend on its translator.
 * - Strings are UTF-8. Input texts are checked: invalid UTF-8 fails that text with
 *   OPUSRT_ERROR_INVALID_INPUT (see opusrt_result_error).
 * - Threads: one opusrt_translator can be used by any number of threads at once (its functions
 *   take it const). opusrt_config / opusrt_options handles may be shared read-only (passed to
 *   calls from several threads) but must not be modified while another thread uses them. An
 *   opusrt_result may be read from several threads at once and moved between threads.
 *   opusrt_last_error() is per thread.
 * - Settings are set through setter functions on opaque handles, so that new settings are new
 *   functions and never change the layout of anything a program was compiled against. Every
 *   option setter has an "unset" value (documented with it) or opusrt_options_unset.
 * - Versions: OPUSRT_C_API_VERSION is the API level this header declares; it grows by one
 *   whenever functions are added (never removed or changed). opusrt_api_version() is the level
 *   of the library loaded at run time; a program needs opusrt_api_version() >= the
 *   OPUSRT_C_API_VERSION it was compiled with.
 *     level 1: opusrt 0.1.0's first C API (batch, text, ids, timings)
 *     level 2: every TranslateOptions field, per-text status, scores, n-best, streaming with
 *              stop, opusrt_translate_text, incremental sessions
 *     level 3: opusrt_update_source, opusrt_update_split (sessions split over-long partials)
 *     level 4: opusrt_config_set_variant (quantized graphs), opusrt_warning_count / opusrt_warning,
 *              opusrt_language_count / opusrt_language
 */
#ifndef OPUSRT_OPUSRT_H
#define OPUSRT_OPUSRT_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define OPUSRT_C_API __attribute__((visibility("default")))
#else
#define OPUSRT_C_API
#endif

#define OPUSRT_VERSION_MAJOR 0
#define OPUSRT_VERSION_MINOR 1
#define OPUSRT_VERSION_PATCH 0
#define OPUSRT_VERSION_STRING "0.1.0"

/* The C API level of this header (see Versions above). */
#define OPUSRT_C_API_VERSION 4

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. New codes may be added; treat unknown non-zero values as errors (FFI bindings:
 * declare the enums of this header as 32-bit ints, e.g. Rust i32 constants, not Rust enums). */
typedef enum opusrt_status {
  OPUSRT_OK = 0,
  OPUSRT_ERROR_INVALID_ARGUMENT = 1, /* a NULL pointer, an out-of-range value or index, an unknown name */
  OPUSRT_ERROR_INVALID_INPUT = 2,    /* an input text is not valid UTF-8 */
  OPUSRT_ERROR_MODEL = 3,            /* the model directory is missing, incomplete or inconsistent */
  OPUSRT_ERROR_TRANSLATE = 4,        /* the translation failed (unknown target language, input longer
                                        than the model allows, options the model rejects, ...) */
  OPUSRT_ERROR_OUT_OF_MEMORY = 5,
  OPUSRT_ERROR_INTERNAL = 6          /* anything else; the message says what */
} opusrt_status;

/* A loaded model; thread-safe. Created by opusrt_create, released by opusrt_free. */
typedef struct opusrt_translator opusrt_translator;
/* How a translator is built (decoder mode, threads); fixed once the translator exists. */
typedef struct opusrt_config opusrt_config;
/* Per-call translation settings (search, processors, sampling, prefix, language, splitting). */
typedef struct opusrt_options opusrt_options;
/* The translations of one call, in input order (opusrt_translate: one per text;
 * opusrt_translate_text: one per unit the text was cut into). */
typedef struct opusrt_result opusrt_result;

/* Which time opusrt_result_timing_ms reads. For a batch, the batch's times. */
typedef enum opusrt_timing {
  OPUSRT_TIMING_ENCODER = 0,
  OPUSRT_TIMING_DECODER = 1,
  OPUSRT_TIMING_TOTAL = 2 /* tokenize + encoder + decoder + detokenize */
} opusrt_timing;

/* Beam search's stopping rule (transformers' early_stopping). */
typedef enum opusrt_early_stopping {
  OPUSRT_EARLY_STOPPING_FALSE = 0, /* stop when no live beam can beat the worst finished one (transformers' default) */
  OPUSRT_EARLY_STOPPING_TRUE = 1,  /* stop as soon as num_beams hypotheses are finished */
  OPUSRT_EARLY_STOPPING_NEVER = 2  /* stop when none could, even at max_length */
} opusrt_early_stopping;

/* How opusrt_translate_text cuts a text into the units the model translates. */
typedef enum opusrt_split {
  OPUSRT_SPLIT_AUTO = 0,      /* each line as one unit when it fits the model, else its sentences;
                               * line breaks are kept */
  OPUSRT_SPLIT_SENTENCES = 1, /* always sentence by sentence, joined back with the original whitespace */
  OPUSRT_SPLIT_NONE = 2       /* the text exactly as given, as one unit; an error if it does not fit */
} opusrt_split;

/* Streaming: called for each new token of a text, on the thread that made the call, before the
 * call returns. index: the text's position in the call (opusrt_translate_text: the unit's);
 * token: the new token id; partial_text / partial_length: the text's translation so far (UTF-8,
 * NUL-terminated, valid only during the callback). Greedy and sampling: as each token is chosen;
 * beam search: token by token once the best hypothesis is known. Return non-zero to go on, 0 to
 * stop that text: the callback is not called for it again, and with greedy search and sampling
 * its translation is what was generated so far (opusrt_result_stopped says so); with beam search
 * its translation was already complete (opusrt_result_stopped is 0). With several texts in one
 * call, the callback runs for one text at a time (never concurrently). It must not free the
 * translator that is translating. */
typedef int (*opusrt_token_callback)(void* user_data, size_t index, int64_t token, const char* partial_text,
                                     size_t partial_length);

/* ---- library ------------------------------------------------------------------------------ */

/* The library's version, e.g. "0.1.0" (static storage; compare with OPUSRT_VERSION_STRING). */
OPUSRT_C_API const char* opusrt_version(void);

/* The C API level of the loaded library (compare with OPUSRT_C_API_VERSION). Thread-safe. */
OPUSRT_C_API int32_t opusrt_api_version(void);

/* The message of the last failed call on this thread; "" when the last call succeeded. Never
 * NULL. Owned by the library and valid until the next opusrt_* call on the same thread. */
OPUSRT_C_API const char* opusrt_last_error(void);

/* A fixed name for a status, e.g. "OPUSRT_ERROR_MODEL" (static storage; never NULL). */
OPUSRT_C_API const char* opusrt_status_string(opusrt_status status);

/* ---- translator configuration -------------------------------------------------------------- */
/* A config is not thread-safe to modify; it is only read by opusrt_create. */

/* A config with the defaults: decoder "auto", threads 0 (ONNX Runtime's default). */
OPUSRT_C_API opusrt_status opusrt_config_create(opusrt_config** out_config);
OPUSRT_C_API void opusrt_config_free(opusrt_config* config);
/* "auto" (merged graph if present, else split, else recompute for an export without past, with a
 * warning: opusrt_warning), "merged", "split" or "recompute" (no KV cache; a test oracle). Every mode gives the same tokens. The string is only read during the call. */
OPUSRT_C_API opusrt_status opusrt_config_set_decoder(opusrt_config* config, const char* mode);
/* ONNX Runtime intra-op threads; 0 (the default) is one per physical core. Must be >= 0. */
OPUSRT_C_API opusrt_status opusrt_config_set_threads(opusrt_config* config, int32_t threads);
/* Which graphs to load: NULL, "" or "fp32" (the default: encoder_model.onnx, ...), or the file
 * suffix of a variant: "quantized" (encoder_model_quantized.onnx, ...), "q4", "int8", "fp16", ...;
 * "q8" loads _q8 files, else _quantized ones (as transformers.js). Letters, digits, '_' and '-'
 * only (else OPUSRT_ERROR_INVALID_ARGUMENT); a variant the model lacks fails opusrt_create. */
OPUSRT_C_API opusrt_status opusrt_config_set_variant(opusrt_config* config, const char* variant);

/* ---- translator ---------------------------------------------------------------------------- */

/* Loads and checks the model in model_dir (Optimum layout, or Xenova layout with onnx/).
 * config may be NULL for the defaults; it is only read during the call. On success *out owns the
 * new translator (release with opusrt_free). A missing or inconsistent file is
 * OPUSRT_ERROR_MODEL with a message naming it. Thread-safe (loads in parallel are fine). */
OPUSRT_C_API opusrt_status opusrt_create(const char* model_dir, const opusrt_config* config,
                                         opusrt_translator** out_translator);
/* Releases the translator. No other thread may be using it; results it produced stay valid. */
OPUSRT_C_API void opusrt_free(opusrt_translator* translator);
/* What a user should know about the loaded model, one sentence each (e.g. an export without
 * past: no KV cache, slow decoding). The count, and warning `index` (NULL when out of range);
 * strings live as long as the translator. A NULL translator has none. */
OPUSRT_C_API size_t opusrt_warning_count(const opusrt_translator* translator);
OPUSRT_C_API const char* opusrt_warning(const opusrt_translator* translator, size_t index);
/* The target languages of a multi-target model, as opusrt_options_set_target_lang takes them
 * ("cmn_Hans" for the vocabulary's >>cmn_Hans<<), in vocabulary order; none for a model with
 * one target language. The count, and language `index` (NULL when out of range); strings live
 * as long as the translator. A NULL translator has none. */
OPUSRT_C_API size_t opusrt_language_count(const opusrt_translator* translator);
OPUSRT_C_API const char* opusrt_language(const opusrt_translator* translator, size_t index);

/* ---- per-call options ---------------------------------------------------------------------- */
/* Every option starts unset: the model's generation_config.json decides (transformers'
 * generate() semantics). Setters copy what they are given (strings, id arrays); nothing is kept
 * from their arguments. An options handle must not be modified while a call reads it.
 * Setters check what they can alone (ranges); combinations (num_return_sequences > num_beams,
 * sampling with beams, token ids outside the vocabulary) are checked by the translate call
 * (OPUSRT_ERROR_TRANSLATE naming the option). */

/* Options with every setting unset. */
OPUSRT_C_API opusrt_status opusrt_options_create(opusrt_options** out_options);
/* A copy of every setting of options; *out_copy is owned by the caller (release with
 * opusrt_options_free). Only reads options. */
OPUSRT_C_API opusrt_status opusrt_options_copy(const opusrt_options* options, opusrt_options** out_copy);
OPUSRT_C_API void opusrt_options_free(opusrt_options* options);
/* Unsets one option by its setter's name without "opusrt_options_set_" / "opusrt_options_add_":
 * "max_new_tokens", "num_beams", "length_penalty", "early_stopping", "num_return_sequences",
 * "target_lang", "min_new_tokens", "repetition_penalty", "no_repeat_ngram_size",
 * "bad_words_ids", "suppress_tokens", "do_sample", "temperature", "top_k", "top_p", "seed",
 * "target_prefix", "target_prefix_ids", "split", "max_batch", "commit_policy", "mask", "bias",
 * "max_tentative_tokens". An unknown name is
 * OPUSRT_ERROR_INVALID_ARGUMENT. */
OPUSRT_C_API opusrt_status opusrt_options_unset(opusrt_options* options, const char* name);

/* Cap on generated tokens, >= 1; 0 unsets it (back to the model's max_length). Negative values
 * are OPUSRT_ERROR_INVALID_ARGUMENT. The model's max_position_embeddings caps it anyway. */
OPUSRT_C_API opusrt_status opusrt_options_set_max_new_tokens(opusrt_options* options, int64_t max_new_tokens);
/* Beam size, >= 1 (1 is greedy); 0 unsets it (back to the model's num_beams). */
OPUSRT_C_API opusrt_status opusrt_options_set_num_beams(opusrt_options* options, int32_t num_beams);
/* Beam score = sum of log-probs / length ^ length_penalty. Any finite value; NaN and infinities
 * are OPUSRT_ERROR_INVALID_ARGUMENT. */
OPUSRT_C_API opusrt_status opusrt_options_set_length_penalty(opusrt_options* options, double length_penalty);
/* Beam search's stopping rule; a value outside the enum is OPUSRT_ERROR_INVALID_ARGUMENT. */
OPUSRT_C_API opusrt_status opusrt_options_set_early_stopping(opusrt_options* options,
                                                             opusrt_early_stopping early_stopping);
/* n-best: how many hypotheses each translation keeps (best first), at most num_beams; >= 1,
 * 0 unsets it. Read them with opusrt_result_n_best_*. */
OPUSRT_C_API opusrt_status opusrt_options_set_num_return_sequences(opusrt_options* options,
                                                                   int32_t num_return_sequences);
/* Target language code for multi-target models, e.g. "cmn_Hans": prepends >>cmn_Hans<< unless a
 * text already starts with a >>xx<< token. NULL or "" unsets it. A code the model does not know
 * is reported by the translate call (OPUSRT_ERROR_TRANSLATE, listing the known ones). */
OPUSRT_C_API opusrt_status opusrt_options_set_target_lang(opusrt_options* options, const char* target_lang);

/* Logits processors (transformers' names and semantics). */
/* </s> is banned until this many tokens were generated; >= 0 (0 unsets it). */
OPUSRT_C_API opusrt_status opusrt_options_set_min_new_tokens(opusrt_options* options, int64_t min_new_tokens);
/* > 0 and finite; > 1 discourages tokens already in the output, 1 is off. */
OPUSRT_C_API opusrt_status opusrt_options_set_repetition_penalty(opusrt_options* options, double repetition_penalty);
/* No n-gram of this size appears twice in the output; >= 0 (0 is off). */
OPUSRT_C_API opusrt_status opusrt_options_set_no_repeat_ngram_size(opusrt_options* options, int64_t size);
/* Adds one banned token sequence (count >= 1 ids; the last one is banned after the others). The
 * model's own bad_words_ids (which ban <pad>) apply too. Unset with opusrt_options_unset. */
OPUSRT_C_API opusrt_status opusrt_options_add_bad_words_ids(opusrt_options* options, const int64_t* ids,
                                                            size_t count);
/* Tokens never generated (replaces the previous list; count 0 clears it; ids may be NULL then). */
OPUSRT_C_API opusrt_status opusrt_options_set_suppress_tokens(opusrt_options* options, const int64_t* ids,
                                                              size_t count);

/* Sampling instead of greedy / beam search (num_beams must be 1). do_sample: non-zero samples. */
OPUSRT_C_API opusrt_status opusrt_options_set_do_sample(opusrt_options* options, int do_sample);
/* > 0 and finite. */
OPUSRT_C_API opusrt_status opusrt_options_set_temperature(opusrt_options* options, double temperature);
/* Keep the k most likely tokens; >= 0 (0 is off). */
OPUSRT_C_API opusrt_status opusrt_options_set_top_k(opusrt_options* options, int64_t top_k);
/* Keep the most likely tokens whose probabilities sum to top_p; in (0, 1] (1 is off). */
OPUSRT_C_API opusrt_status opusrt_options_set_top_p(opusrt_options* options, double top_p);
/* The sampling seed (default 0): the same seed gives the same output, alone or in a batch. */
OPUSRT_C_API opusrt_status opusrt_options_set_seed(opusrt_options* options, uint64_t seed);

/* Forced start of the output: decoding continues after it (interactive use, re-translating a
 * growing source). The text goes through the target tokenizer; NULL or "" unsets it. With
 * opusrt_translate_text it belongs to the text's first unit only. max_new_tokens and
 * min_new_tokens count the tokens after the prefix. */
OPUSRT_C_API opusrt_status opusrt_options_set_target_prefix(opusrt_options* options, const char* prefix);
/* Forced start of the output as token ids, used as given after the text prefix's (count 0
 * clears them; ids may be NULL then). Ids outside the vocabulary fail the translate call. */
OPUSRT_C_API opusrt_status opusrt_options_set_target_prefix_ids(opusrt_options* options, const int64_t* ids,
                                                                size_t count);

/* opusrt_translate_text only: how the text is cut (default OPUSRT_SPLIT_AUTO). */
OPUSRT_C_API opusrt_status opusrt_options_set_split(opusrt_options* options, opusrt_split split);
/* opusrt_translate_text only: at most this many units per padded batch, >= 1 (default 32;
 * 0 unsets it). */
OPUSRT_C_API opusrt_status opusrt_options_set_max_batch(opusrt_options* options, size_t max_batch);

/* ---- translation --------------------------------------------------------------------------- */
/* Thread-safe: any number of threads may translate with one translator at once. options may be
 * NULL (model defaults). Nothing is kept from texts, lengths or options after the call. */

/* Translates count texts as one padded batch. texts[i] is UTF-8; with lengths == NULL each text
 * is NUL-terminated, otherwise texts[i] has lengths[i] bytes (no terminator needed; for Rust
 * &str; texts[i] may then be NULL when lengths[i] is 0). texts may be NULL only when count is 0
 * (an empty result). On success *out_result owns the translations (release with
 * opusrt_result_free). A text that cannot be translated (invalid UTF-8, longer than the model
 * takes) fails alone: the call returns OPUSRT_OK and opusrt_result_error gives that text's
 * status and message. The call fails when nothing can be translated for any text (bad options,
 * an unknown target language, a NULL argument). */
OPUSRT_C_API opusrt_status opusrt_translate(const opusrt_translator* translator, const opusrt_options* options,
                                            const char* const* texts, const size_t* lengths, size_t count,
                                            opusrt_result** out_result);

/* opusrt_translate with streaming: callback (non-NULL) is called for each new token of each text
 * with user_data (see opusrt_token_callback); its return value can stop a text. */
OPUSRT_C_API opusrt_status opusrt_translate_stream(const opusrt_translator* translator,
                                                   const opusrt_options* options, const char* const* texts,
                                                   const size_t* lengths, size_t count,
                                                   opusrt_token_callback callback, void* user_data,
                                                   opusrt_result** out_result);

/* Any text of any length, as the CLI translates a document: cut into units (sentences, and
 * pieces of sentences too long for the model; see opusrt_options_set_split), translated in
 * padded batches (opusrt_options_set_max_batch), joined back with the source's whitespace and
 * line breaks. text has length bytes (NUL not needed; text may be NULL when length is 0).
 * callback may be NULL (no streaming); its index is the unit's. The result has one translation
 * per unit (opusrt_result_count; opusrt_result_source_text gives the unit) and the whole
 * translation (opusrt_result_joined_text). Unlike opusrt_translate, a unit that cannot be
 * translated fails the call (invalid UTF-8: OPUSRT_ERROR_INVALID_INPUT). */
OPUSRT_C_API opusrt_status opusrt_translate_text(const opusrt_translator* translator, const opusrt_options* options,
                                                 const char* text, size_t length, opusrt_token_callback callback,
                                                 void* user_data, opusrt_result** out_result);

/* ---- results ------------------------------------------------------------------------------- */
/* Getters only read the result: any number of threads may read one result at once. For a text
 * that failed (opusrt_result_error), the text is "", the id arrays are empty and the score 0. */

OPUSRT_C_API void opusrt_result_free(opusrt_result* result);
/* Number of translations (opusrt_translate: the number of input texts; opusrt_translate_text:
 * the number of units). */
OPUSRT_C_API opusrt_status opusrt_result_count(const opusrt_result* result, size_t* out_count);
/* Whether translation index was translated: *out_status is OPUSRT_OK and *out_message "" when it
 * was; else its status (OPUSRT_ERROR_INVALID_INPUT for invalid UTF-8, OPUSRT_ERROR_TRANSLATE
 * for the rest) and a message naming the text ("texts[3]: invalid UTF-8 at byte 7"), owned by
 * the result. out_message may be NULL. */
OPUSRT_C_API opusrt_status opusrt_result_error(const opusrt_result* result, size_t index, opusrt_status* out_status,
                                               const char** out_message);
/* Translation index: NUL-terminated UTF-8 text and its length in bytes (out_length may be NULL). */
OPUSRT_C_API opusrt_status opusrt_result_text(const opusrt_result* result, size_t index, const char** out_text,
                                              size_t* out_length);
/* Output token ids exactly as transformers generate() returns them: decoder start token first,
 * then the target prefix if one was set, </s> last unless cut by max_new_tokens or stopped. */
OPUSRT_C_API opusrt_status opusrt_result_output_ids(const opusrt_result* result, size_t index,
                                                    const int64_t** out_ids, size_t* out_count);
/* Source token ids as MarianTokenizer gives them (target language token first if one was
 * added), </s> last. When *out_count is 0, *out_ids may be NULL. */
OPUSRT_C_API opusrt_status opusrt_result_source_ids(const opusrt_result* result, size_t index,
                                                    const int64_t** out_ids, size_t* out_count);
/* The source text of translation index (opusrt_translate: the input text; opusrt_translate_text:
 * the unit), NUL-terminated, and its length (out_length may be NULL). */
OPUSRT_C_API opusrt_status opusrt_result_source_text(const opusrt_result* result, size_t index,
                                                     const char** out_text, size_t* out_length);
/* The translation's score: beam search: transformers' sequence_score (sum of log-probs /
 * length ^ length_penalty); greedy and sampling: the same formula on the chosen path. */
OPUSRT_C_API opusrt_status opusrt_result_score(const opusrt_result* result, size_t index, double* out_score);
/* 1 when the streaming callback stopped this translation (its ids are what came so far), else 0. */
OPUSRT_C_API opusrt_status opusrt_result_stopped(const opusrt_result* result, size_t index, int* out_stopped);
/* One of the translation's timings, in milliseconds. */
OPUSRT_C_API opusrt_status opusrt_result_timing_ms(const opusrt_result* result, size_t index, opusrt_timing timing,
                                                   double* out_ms);

/* n-best: the hypotheses of translation index, best first. Without num_return_sequences > 1
 * there is one, the translation itself; hypothesis 0 is always the translation. */
OPUSRT_C_API opusrt_status opusrt_result_n_best_count(const opusrt_result* result, size_t index, size_t* out_count);
OPUSRT_C_API opusrt_status opusrt_result_n_best_text(const opusrt_result* result, size_t index, size_t rank,
                                                     const char** out_text, size_t* out_length);
OPUSRT_C_API opusrt_status opusrt_result_n_best_output_ids(const opusrt_result* result, size_t index, size_t rank,
                                                           const int64_t** out_ids, size_t* out_count);
OPUSRT_C_API opusrt_status opusrt_result_n_best_score(const opusrt_result* result, size_t index, size_t rank,
                                                      double* out_score);

/* opusrt_translate_text's whole translation, with the source's whitespace and line breaks
 * (out_length may be NULL). A result of opusrt_translate has none: OPUSRT_ERROR_INVALID_ARGUMENT. */
OPUSRT_C_API opusrt_status opusrt_result_joined_text(const opusrt_result* result, const char** out_text,
                                                     size_t* out_length);

/* ---- incremental (live) sessions ------------------------------------------------------------ */
/* Live speech: one session per audio stream. Each push of the current segment's partial source
 * gives an update with committed text (it only grows within a segment) and tentative text (it
 * may change at the next update); a final push gives exactly what opusrt_translate gives for that
 * source with the same options, then a new segment begins. A session is used by one thread at a
 * time (it may move between threads); sessions of one translator may run on different threads
 * at once. The translator must outlive its sessions. */
typedef struct opusrt_session opusrt_session;
/* One update of a session; owned by the caller (opusrt_update_free); independent of the session. */
typedef struct opusrt_update opusrt_update;

/* Session settings on opusrt_options (translate calls ignore them):
 * commit policy "la2" (LocalAgreement-2, the default), "la<n>", "hold:N" or "wait:K"; NULL unsets. */
OPUSRT_C_API opusrt_status opusrt_options_set_commit_policy(opusrt_options* options, const char* policy);
/* mask-k: hide the last k tentative tokens until the final; >= 0 (default 0). */
OPUSRT_C_API opusrt_status opusrt_options_set_mask(opusrt_options* options, int32_t mask);
/* Biased search towards the previous hypothesis, in [0, 1); 0 (default) is off. */
OPUSRT_C_API opusrt_status opusrt_options_set_bias(opusrt_options* options, double bias);
/* Tokens a non-final update may generate after the committed ones, >= 1; 0 unsets it (default:
 * 2 x the source tokens the update added + 8). */
OPUSRT_C_API opusrt_status opusrt_options_set_max_tentative_tokens(opusrt_options* options, int64_t max_tokens);

/* A session translating with options (may be NULL: model defaults, LocalAgreement-2); options
 * are copied. Invalid session settings are OPUSRT_ERROR_INVALID_ARGUMENT. */
OPUSRT_C_API opusrt_status opusrt_session_create(const opusrt_translator* translator, const opusrt_options* options,
                                                 opusrt_session** out_session);
/* Releases the session (not while a push runs). */
OPUSRT_C_API void opusrt_session_free(opusrt_session* session);
/* The current segment's source so far (length bytes; text may be NULL when length is 0);
 * is_final non-zero: the segment's complete source. A partial longer than the model takes is
 * split at its last sentence boundary: the update is the final of the sentences before it
 * (opusrt_update_split), and later pushes of the same growing partial continue after them
 * (opusrt_update_source: what an update translated). Errors leave the session usable: invalid
 * UTF-8 (OPUSRT_ERROR_INVALID_INPUT), a push after opusrt_session_close (OPUSRT_ERROR_TRANSLATE). */
OPUSRT_C_API opusrt_status opusrt_session_push(opusrt_session* session, const char* text, size_t length, int is_final,
                                               opusrt_update** out_update);
/* Ends the session: later pushes fail. */
OPUSRT_C_API opusrt_status opusrt_session_close(opusrt_session* session);

OPUSRT_C_API void opusrt_update_free(opusrt_update* update);
/* Update getters: texts are NUL-terminated UTF-8 owned by the update (out_length may be NULL);
 * ids are the target tokens after the decoder start (committed) and the shown tentative ones. */
OPUSRT_C_API opusrt_status opusrt_update_committed(const opusrt_update* update, const char** out_text,
                                                   size_t* out_length);
OPUSRT_C_API opusrt_status opusrt_update_tentative(const opusrt_update* update, const char** out_text,
                                                   size_t* out_length);
OPUSRT_C_API opusrt_status opusrt_update_committed_ids(const opusrt_update* update, const int64_t** out_ids,
                                                       size_t* out_count);
OPUSRT_C_API opusrt_status opusrt_update_tentative_ids(const opusrt_update* update, const int64_t** out_ids,
                                                       size_t* out_count);
/* The segment (from 0; a final closes it) and the update's number within the session. */
OPUSRT_C_API opusrt_status opusrt_update_position(const opusrt_update* update, int64_t* out_segment,
                                                  int64_t* out_seq);
/* 1 when this update is its segment's final (its committed text is the final translation). */
OPUSRT_C_API opusrt_status opusrt_update_final(const opusrt_update* update, int* out_final);
/* A final whose translation does not begin with what was committed: *out_retracted 1 and the
 * number of committed characters (code points) not kept (out_chars may be NULL). */
OPUSRT_C_API opusrt_status opusrt_update_retracted(const opusrt_update* update, int* out_retracted,
                                                   size_t* out_chars);
/* Level 3. The source text this update translated: the pushed partial less the start of it an
 * earlier split closed (NUL-terminated, owned by the update; out_length may be NULL). */
OPUSRT_C_API opusrt_status opusrt_update_source(const opusrt_update* update, const char** out_text,
                                                size_t* out_length);
/* Level 3. 1 when the session made this final itself because the partial had grown longer than
 * the model takes (or a pushed final was): translated as opusrt_translate_text with split auto. */
OPUSRT_C_API opusrt_status opusrt_update_split(const opusrt_update* update, int* out_split);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* OPUSRT_OPUSRT_H */
