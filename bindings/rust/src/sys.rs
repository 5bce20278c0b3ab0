//! The raw C API of `include/opusrt/opusrt.h`, declared by hand (no bindgen: the crate has no
//! dependencies). Enums are `i32` constants, as the header asks of FFI bindings: the library may
//! add values, and a Rust enum must never hold an unknown one. Everything here is `unsafe` to
//! call; the safe API is in the crate root.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_int, c_void};

/// The C API level these declarations follow (`OPUSRT_C_API_VERSION` of the header).
pub const OPUSRT_C_API_VERSION: i32 = 4;

pub type opusrt_status = i32;
pub const OPUSRT_OK: opusrt_status = 0;
pub const OPUSRT_ERROR_INVALID_ARGUMENT: opusrt_status = 1;
pub const OPUSRT_ERROR_INVALID_INPUT: opusrt_status = 2;
pub const OPUSRT_ERROR_MODEL: opusrt_status = 3;
pub const OPUSRT_ERROR_TRANSLATE: opusrt_status = 4;
pub const OPUSRT_ERROR_OUT_OF_MEMORY: opusrt_status = 5;
pub const OPUSRT_ERROR_INTERNAL: opusrt_status = 6;

pub type opusrt_timing = i32;
pub const OPUSRT_TIMING_ENCODER: opusrt_timing = 0;
pub const OPUSRT_TIMING_DECODER: opusrt_timing = 1;
pub const OPUSRT_TIMING_TOTAL: opusrt_timing = 2;

pub type opusrt_early_stopping = i32;
pub const OPUSRT_EARLY_STOPPING_FALSE: opusrt_early_stopping = 0;
pub const OPUSRT_EARLY_STOPPING_TRUE: opusrt_early_stopping = 1;
pub const OPUSRT_EARLY_STOPPING_NEVER: opusrt_early_stopping = 2;

pub type opusrt_split = i32;
pub const OPUSRT_SPLIT_AUTO: opusrt_split = 0;
pub const OPUSRT_SPLIT_SENTENCES: opusrt_split = 1;
pub const OPUSRT_SPLIT_NONE: opusrt_split = 2;

/// Opaque handles: only ever behind pointers.
#[repr(C)]
pub struct opusrt_translator {
    _private: [u8; 0],
}
#[repr(C)]
pub struct opusrt_config {
    _private: [u8; 0],
}
#[repr(C)]
pub struct opusrt_options {
    _private: [u8; 0],
}
#[repr(C)]
pub struct opusrt_result {
    _private: [u8; 0],
}
#[repr(C)]
pub struct opusrt_session {
    _private: [u8; 0],
}
#[repr(C)]
pub struct opusrt_update {
    _private: [u8; 0],
}

pub type opusrt_token_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        index: usize,
        token: i64,
        partial_text: *const c_char,
        partial_length: usize,
    ) -> c_int,
>;

extern "C" {
    pub fn opusrt_version() -> *const c_char;
    pub fn opusrt_api_version() -> i32;
    pub fn opusrt_last_error() -> *const c_char;
    pub fn opusrt_status_string(status: opusrt_status) -> *const c_char;

    pub fn opusrt_config_create(out_config: *mut *mut opusrt_config) -> opusrt_status;
    pub fn opusrt_config_free(config: *mut opusrt_config);
    pub fn opusrt_config_set_decoder(config: *mut opusrt_config, mode: *const c_char) -> opusrt_status;
    pub fn opusrt_config_set_threads(config: *mut opusrt_config, threads: i32) -> opusrt_status;
    pub fn opusrt_config_set_variant(config: *mut opusrt_config, variant: *const c_char) -> opusrt_status;

    pub fn opusrt_create(
        model_dir: *const c_char,
        config: *const opusrt_config,
        out_translator: *mut *mut opusrt_translator,
    ) -> opusrt_status;
    pub fn opusrt_free(translator: *mut opusrt_translator);
    pub fn opusrt_warning_count(translator: *const opusrt_translator) -> usize;
    pub fn opusrt_warning(translator: *const opusrt_translator, index: usize) -> *const c_char;
    pub fn opusrt_language_count(translator: *const opusrt_translator) -> usize;
    pub fn opusrt_language(translator: *const opusrt_translator, index: usize) -> *const c_char;

    pub fn opusrt_options_create(out_options: *mut *mut opusrt_options) -> opusrt_status;
    pub fn opusrt_options_copy(options: *const opusrt_options, out_copy: *mut *mut opusrt_options) -> opusrt_status;
    pub fn opusrt_options_free(options: *mut opusrt_options);
    pub fn opusrt_options_unset(options: *mut opusrt_options, name: *const c_char) -> opusrt_status;
    pub fn opusrt_options_set_max_new_tokens(options: *mut opusrt_options, max_new_tokens: i64) -> opusrt_status;
    pub fn opusrt_options_set_num_beams(options: *mut opusrt_options, num_beams: i32) -> opusrt_status;
    pub fn opusrt_options_set_length_penalty(options: *mut opusrt_options, length_penalty: f64) -> opusrt_status;
    pub fn opusrt_options_set_early_stopping(
        options: *mut opusrt_options,
        early_stopping: opusrt_early_stopping,
    ) -> opusrt_status;
    pub fn opusrt_options_set_num_return_sequences(
        options: *mut opusrt_options,
        num_return_sequences: i32,
    ) -> opusrt_status;
    pub fn opusrt_options_set_target_lang(options: *mut opusrt_options, target_lang: *const c_char) -> opusrt_status;
    pub fn opusrt_options_set_min_new_tokens(options: *mut opusrt_options, min_new_tokens: i64) -> opusrt_status;
    pub fn opusrt_options_set_repetition_penalty(options: *mut opusrt_options, repetition_penalty: f64)
        -> opusrt_status;
    pub fn opusrt_options_set_no_repeat_ngram_size(options: *mut opusrt_options, size: i64) -> opusrt_status;
    pub fn opusrt_options_add_bad_words_ids(options: *mut opusrt_options, ids: *const i64, count: usize)
        -> opusrt_status;
    pub fn opusrt_options_set_suppress_tokens(options: *mut opusrt_options, ids: *const i64, count: usize)
        -> opusrt_status;
    pub fn opusrt_options_set_do_sample(options: *mut opusrt_options, do_sample: c_int) -> opusrt_status;
    pub fn opusrt_options_set_temperature(options: *mut opusrt_options, temperature: f64) -> opusrt_status;
    pub fn opusrt_options_set_top_k(options: *mut opusrt_options, top_k: i64) -> opusrt_status;
    pub fn opusrt_options_set_top_p(options: *mut opusrt_options, top_p: f64) -> opusrt_status;
    pub fn opusrt_options_set_seed(options: *mut opusrt_options, seed: u64) -> opusrt_status;
    pub fn opusrt_options_set_target_prefix(options: *mut opusrt_options, prefix: *const c_char) -> opusrt_status;
    pub fn opusrt_options_set_target_prefix_ids(options: *mut opusrt_options, ids: *const i64, count: usize)
        -> opusrt_status;
    pub fn opusrt_options_set_split(options: *mut opusrt_options, split: opusrt_split) -> opusrt_status;
    pub fn opusrt_options_set_max_batch(options: *mut opusrt_options, max_batch: usize) -> opusrt_status;

    pub fn opusrt_translate(
        translator: *const opusrt_translator,
        options: *const opusrt_options,
        texts: *const *const c_char,
        lengths: *const usize,
        count: usize,
        out_result: *mut *mut opusrt_result,
    ) -> opusrt_status;
    pub fn opusrt_translate_stream(
        translator: *const opusrt_translator,
        options: *const opusrt_options,
        texts: *const *const c_char,
        lengths: *const usize,
        count: usize,
        callback: opusrt_token_callback,
        user_data: *mut c_void,
        out_result: *mut *mut opusrt_result,
    ) -> opusrt_status;
    pub fn opusrt_translate_text(
        translator: *const opusrt_translator,
        options: *const opusrt_options,
        text: *const c_char,
        length: usize,
        callback: opusrt_token_callback,
        user_data: *mut c_void,
        out_result: *mut *mut opusrt_result,
    ) -> opusrt_status;

    pub fn opusrt_result_free(result: *mut opusrt_result);
    pub fn opusrt_result_count(result: *const opusrt_result, out_count: *mut usize) -> opusrt_status;
    pub fn opusrt_result_error(
        result: *const opusrt_result,
        index: usize,
        out_status: *mut opusrt_status,
        out_message: *mut *const c_char,
    ) -> opusrt_status;
    pub fn opusrt_result_text(
        result: *const opusrt_result,
        index: usize,
        out_text: *mut *const c_char,
        out_length: *mut usize,
    ) -> opusrt_status;
    pub fn opusrt_result_output_ids(
        result: *const opusrt_result,
        index: usize,
        out_ids: *mut *const i64,
        out_count: *mut usize,
    ) -> opusrt_status;
    pub fn opusrt_result_source_ids(
        result: *const opusrt_result,
        index: usize,
        out_ids: *mut *const i64,
        out_count: *mut usize,
    ) -> opusrt_status;
    pub fn opusrt_result_source_text(
        result: *const opusrt_result,
        index: usize,
        out_text: *mut *const c_char,
        out_length: *mut usize,
    ) -> opusrt_status;
    pub fn opusrt_result_score(result: *const opusrt_result, index: usize, out_score: *mut f64) -> opusrt_status;
    pub fn opusrt_result_stopped(result: *const opusrt_result, index: usize, out_stopped: *mut c_int) -> opusrt_status;
    pub fn opusrt_result_timing_ms(
        result: *const opusrt_result,
        index: usize,
        timing: opusrt_timing,
        out_ms: *mut f64,
    ) -> opusrt_status;
    pub fn opusrt_result_n_best_count(result: *const opusrt_result, index: usize, out_count: *mut usize)
        -> opusrt_status;
    pub fn opusrt_result_n_best_text(
        result: *const opusrt_result,
        index: usize,
        rank: usize,
        out_text: *mut *const c_char,
        out_length: *mut usize,
    ) -> opusrt_status;
    pub fn opusrt_result_n_best_output_ids(
        result: *const opusrt_result,
        index: usize,
        rank: usize,
        out_ids: *mut *const i64,
        out_count: *mut usize,
    ) -> opusrt_status;
    pub fn opusrt_result_n_best_score(
        result: *const opusrt_result,
        index: usize,
        rank: usize,
        out_score: *mut f64,
    ) -> opusrt_status;
    pub fn opusrt_result_joined_text(
        result: *const opusrt_result,
        out_text: *mut *const c_char,
        out_length: *mut usize,
    ) -> opusrt_status;

    pub fn opusrt_options_set_commit_policy(options: *mut opusrt_options, policy: *const c_char) -> opusrt_status;
    pub fn opusrt_options_set_mask(options: *mut opusrt_options, mask: i32) -> opusrt_status;
    pub fn opusrt_options_set_bias(options: *mut opusrt_options, bias: f64) -> opusrt_status;
    pub fn opusrt_options_set_max_tentative_tokens(options: *mut opusrt_options, max_tokens: i64) -> opusrt_status;
    pub fn opusrt_session_create(
        translator: *const opusrt_translator,
        options: *const opusrt_options,
        out_session: *mut *mut opusrt_session,
    ) -> opusrt_status;
    pub fn opusrt_session_free(session: *mut opusrt_session);
    pub fn opusrt_session_push(
        session: *mut opusrt_session,
        text: *const c_char,
        length: usize,
        is_final: c_int,
        out_update: *mut *mut opusrt_update,
    ) -> opusrt_status;
    pub fn opusrt_session_close(session: *mut opusrt_session) -> opusrt_status;
    pub fn opusrt_update_free(update: *mut opusrt_update);
    pub fn opusrt_update_committed(
        update: *const opusrt_update,
        out_text: *mut *const c_char,
        out_length: *mut usize,
    ) -> opusrt_status;
    pub fn opusrt_update_tentative(
        update: *const opusrt_update,
        out_text: *mut *const c_char,
        out_length: *mut usize,
    ) -> opusrt_status;
    pub fn opusrt_update_committed_ids(
        update: *const opusrt_update,
        out_ids: *mut *const i64,
        out_count: *mut usize,
    ) -> opusrt_status;
    pub fn opusrt_update_tentative_ids(
        update: *const opusrt_update,
        out_ids: *mut *const i64,
        out_count: *mut usize,
    ) -> opusrt_status;
    pub fn opusrt_update_position(update: *const opusrt_update, out_segment: *mut i64, out_seq: *mut i64)
        -> opusrt_status;
    pub fn opusrt_update_final(update: *const opusrt_update, out_final: *mut c_int) -> opusrt_status;
    pub fn opusrt_update_retracted(update: *const opusrt_update, out_retracted: *mut c_int, out_chars: *mut usize)
        -> opusrt_status;
    pub fn opusrt_update_source(update: *const opusrt_update, out_text: *mut *const c_char, out_length: *mut usize)
        -> opusrt_status;
    pub fn opusrt_update_split(update: *const opusrt_update, out_split: *mut c_int) -> opusrt_status;
}
