/* opusrt's C API: translate with Marian / OPUS-MT ONNX models from C, Rust (FFI) or any
 * language that can call C. Pure C (C99 and later, and C++); no C++ type crosses it.
 *
 *   opusrt_translator* translator = NULL;
 *   if (opusrt_create("opus-mt-en-zh/", NULL, &translator) != OPUSRT_OK) {
 *     fprintf(stderr, "%s\n", opusrt_last_error());
 *     return 1;
 *   }
 *   const char* texts[] = {"Hello world.", "How are you?"};
 *   opusrt_result* result = NULL;
 *   if (opusrt_translate(translator, NULL, texts, NULL, 2, &result) == OPUSRT_OK) {
 *     const char* text;
 *     size_t length;
 *     opusrt_result_text(result, 0, &text, &length);
 *     ...
 *     opusrt_result_free(result);
 *   }
 *   opusrt_free(translator);
 *
 * Conventions
 * - Every function that can fail returns an opusrt_status; OPUSRT_OK is 0. On failure
 *   opusrt_last_error() gives a message naming the argument, file, field or input at fault; an
 *   out-parameter that receives a handle is set to NULL (so that freeing it is always safe), other
 *   out-parameters are left untouched. No C++ exception ever crosses this API. The *_free
 *   functions, opusrt_version, opusrt_last_error and opusrt_status_string cannot fail.
 * - Handles are opaque. Whatever opusrt_*_create / opusrt_create / opusrt_translate hands out
 *   belongs to the caller and is released with the matching opusrt_*_free (each accepts NULL).
 * - Pointers read from a result (texts, id arrays) are owned by the result and stay valid until
 *   opusrt_result_free; copy what you keep. A result does not depend on its translator.
 * - Strings are UTF-8. Input texts are checked: invalid UTF-8 is OPUSRT_ERROR_INVALID_INPUT.
 * - Threads: one opusrt_translator can be used by any number of threads at once.
 *   opusrt_config / opusrt_options handles may be shared read-only (passed to calls) but must
 *   not be modified while another thread uses them. opusrt_last_error() is per thread.
 * - Settings are set through setter functions on opaque handles, so that new settings are new
 *   functions and never change the layout of anything a program was compiled against.
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
                                        than the model allows, unsupported option, ...) */
  OPUSRT_ERROR_OUT_OF_MEMORY = 5,
  OPUSRT_ERROR_INTERNAL = 6          /* anything else; the message says what */
} opusrt_status;

/* A loaded model; thread-safe. Created by opusrt_create, released by opusrt_free. */
typedef struct opusrt_translator opusrt_translator;
/* How a translator is built (decoder mode, threads); fixed once the translator exists. */
typedef struct opusrt_config opusrt_config;
/* Per-call translation settings (max_new_tokens, num_beams, target_lang). */
typedef struct opusrt_options opusrt_options;
/* The translations of one batch, in input order. */
typedef struct opusrt_result opusrt_result;

/* Which time opusrt_result_timing_ms reads. For a batch, the batch's times. */
typedef enum opusrt_timing {
  OPUSRT_TIMING_ENCODER = 0,
  OPUSRT_TIMING_DECODER = 1,
  OPUSRT_TIMING_TOTAL = 2 /* tokenize + encoder + decoder + detokenize */
} opusrt_timing;

/* ---- library ------------------------------------------------------------------------------ */

/* The library's version, e.g. "0.1.0" (static storage; compare with OPUSRT_VERSION_STRING). */
OPUSRT_C_API const char* opusrt_version(void);

/* The message of the last failed call on this thread; "" when the last call succeeded. Never
 * NULL. Owned by the library and valid until the next opusrt_* call on the same thread. */
OPUSRT_C_API const char* opusrt_last_error(void);

/* A fixed name for a status, e.g. "OPUSRT_ERROR_MODEL" (static storage; never NULL). */
OPUSRT_C_API const char* opusrt_status_string(opusrt_status status);

/* ---- translator configuration -------------------------------------------------------------- */

/* A config with the defaults: decoder "auto", threads 0 (ONNX Runtime's default). */
OPUSRT_C_API opusrt_status opusrt_config_create(opusrt_config** out_config);
OPUSRT_C_API void opusrt_config_free(opusrt_config* config);
/* "auto" (merged graph if present, else split), "merged", "split" or "recompute" (no KV cache;
 * a test oracle). Every mode gives the same tokens. */
OPUSRT_C_API opusrt_status opusrt_config_set_decoder(opusrt_config* config, const char* mode);
/* ONNX Runtime intra-op threads; 0 (the default) is one per physical core. Must be >= 0. */
OPUSRT_C_API opusrt_status opusrt_config_set_threads(opusrt_config* config, int32_t threads);

/* ---- translator ---------------------------------------------------------------------------- */

/* Loads and checks the model in model_dir (Optimum layout, or Xenova layout with onnx/).
 * config may be NULL for the defaults; it is only read during the call. On success *out owns the
 * new translator (release with opusrt_free). A missing or inconsistent file is
 * OPUSRT_ERROR_MODEL with a message naming it. */
OPUSRT_C_API opusrt_status opusrt_create(const char* model_dir, const opusrt_config* config,
                                         opusrt_translator** out_translator);
OPUSRT_C_API void opusrt_free(opusrt_translator* translator);

/* ---- per-call options ---------------------------------------------------------------------- */

/* Options with every setting unset: the model's generation_config.json decides. */
OPUSRT_C_API opusrt_status opusrt_options_create(opusrt_options** out_options);
OPUSRT_C_API void opusrt_options_free(opusrt_options* options);
/* Cap on generated tokens, >= 1; 0 unsets it (back to the model's max_length). Negative values
 * are OPUSRT_ERROR_INVALID_ARGUMENT. The model's max_position_embeddings caps it anyway. */
OPUSRT_C_API opusrt_status opusrt_options_set_max_new_tokens(opusrt_options* options, int64_t max_new_tokens);
/* Beam size, >= 1 (1 is greedy); 0 unsets it (back to the model's num_beams). */
OPUSRT_C_API opusrt_status opusrt_options_set_num_beams(opusrt_options* options, int32_t num_beams);
/* Target language code for multi-target models, e.g. "cmn_Hans": prepends >>cmn_Hans<< unless a
 * text already starts with a >>xx<< token. NULL or "" unsets it. The string is copied. A code the
 * model does not know is reported by opusrt_translate (OPUSRT_ERROR_TRANSLATE, listing the known
 * ones). */
OPUSRT_C_API opusrt_status opusrt_options_set_target_lang(opusrt_options* options, const char* target_lang);

/* ---- translation --------------------------------------------------------------------------- */

/* Translates count texts as one padded batch. texts[i] is UTF-8; with lengths == NULL each text
 * is NUL-terminated, otherwise texts[i] has lengths[i] bytes (no terminator needed; for Rust
 * &str; texts[i] may then be NULL when lengths[i] is 0). options may be NULL (model defaults).
 * texts may be NULL only when count is 0 (an empty result). On success *out_result owns the translations (release with opusrt_result_free).
 * Nothing is kept from texts, lengths or options after the call. */
OPUSRT_C_API opusrt_status opusrt_translate(const opusrt_translator* translator, const opusrt_options* options,
                                            const char* const* texts, const size_t* lengths, size_t count,
                                            opusrt_result** out_result);

/* ---- results ------------------------------------------------------------------------------- */

OPUSRT_C_API void opusrt_result_free(opusrt_result* result);
/* Number of translations (the number of input texts). */
OPUSRT_C_API opusrt_status opusrt_result_count(const opusrt_result* result, size_t* out_count);
/* Translation index: NUL-terminated UTF-8 text and its length in bytes (out_length may be NULL). */
OPUSRT_C_API opusrt_status opusrt_result_text(const opusrt_result* result, size_t index, const char** out_text,
                                              size_t* out_length);
/* Output token ids exactly as transformers generate() returns them: decoder start token first,
 * </s> last unless cut by max_new_tokens. */
OPUSRT_C_API opusrt_status opusrt_result_output_ids(const opusrt_result* result, size_t index,
                                                    const int64_t** out_ids, size_t* out_count);
/* Source token ids as MarianTokenizer gives them (target language token first if one was
 * added), </s> last. When *out_count is 0, *out_ids may be NULL. */
OPUSRT_C_API opusrt_status opusrt_result_source_ids(const opusrt_result* result, size_t index,
                                                    const int64_t** out_ids, size_t* out_count);
/* One of the translation's timings, in milliseconds. */
OPUSRT_C_API opusrt_status opusrt_result_timing_ms(const opusrt_result* result, size_t index, opusrt_timing timing,
                                                   double* out_ms);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* OPUSRT_OPUSRT_H */
