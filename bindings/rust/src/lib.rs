//! Safe Rust bindings to opusrt: translation with Marian / OPUS-MT models exported to ONNX, on a
//! CPU, through opusrt's C API (`include/opusrt/opusrt.h`).
//!
//! ```no_run
//! use opusrt::{TranslateOptions, Translator};
//!
//! let translator = Translator::new("opus-mt-en-zh/")?;
//! let options = TranslateOptions::new().num_beams(4).num_return_sequences(2);
//! for translation in translator.translate_batch(&["Hello world.", "How are you?"], &options)? {
//!     match translation {
//!         Ok(t) => println!("{} ({:.3}; runner-up: {})", t.text, t.score, t.n_best[1].text),
//!         Err(e) => eprintln!("{}", e), // one bad text fails alone
//!     }
//! }
//! # Ok::<(), opusrt::Error>(())
//! ```
//!
//! - A [`Translator`] is `Send + Sync`: share one (e.g. in an `Arc`) between threads; each call
//!   is independent. Everything is freed by `Drop`.
//! - [`TranslateOptions`] is a plain value (builder methods); unset fields take the model's
//!   `generation_config.json` values. Wrong values are reported by the call that uses them.
//! - Errors are [`Error`]: a [`Status`] and the library's message, which names the file, option
//!   or input at fault.
//! - Streaming: [`Translator::translate_stream`] calls a closure per new token with the text so
//!   far; returning `false` stops that text.
//!
//! - Live speech: [`IncrementalSession`], one per audio stream: push growing partial transcripts,
//!   get committed + tentative text; a final push gives exactly the offline translation.
//!
//! Minimum Rust version: 1.63 (Debian 12's rustc).
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod sys;

use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::ptr::{self, NonNull};

// ---- errors ------------------------------------------------------------------------------------

/// What kind of failure an [`Error`] is (the C API's `opusrt_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// A bad argument: an out-of-range option value, an unknown name, a string with a NUL byte.
    InvalidArgument,
    /// An input text is not valid UTF-8 (from Rust: only through [`Translator::translate_bytes`]).
    InvalidInput,
    /// The model directory is missing, incomplete or inconsistent.
    Model,
    /// The translation failed: unknown target language, input longer than the model takes,
    /// options the model rejects, ...
    Translate,
    OutOfMemory,
    Internal,
    /// A status this crate does not know (a newer library).
    Unknown(i32),
}

impl Status {
    fn from_raw(status: sys::opusrt_status) -> Status {
        match status {
            sys::OPUSRT_ERROR_INVALID_ARGUMENT => Status::InvalidArgument,
            sys::OPUSRT_ERROR_INVALID_INPUT => Status::InvalidInput,
            sys::OPUSRT_ERROR_MODEL => Status::Model,
            sys::OPUSRT_ERROR_TRANSLATE => Status::Translate,
            sys::OPUSRT_ERROR_OUT_OF_MEMORY => Status::OutOfMemory,
            sys::OPUSRT_ERROR_INTERNAL => Status::Internal,
            other => Status::Unknown(other),
        }
    }
}

/// A failure, with the library's message (naming the file, option or input at fault).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: String,
}

impl Error {
    pub fn status(&self) -> Status {
        self.status
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    fn new(status: Status, message: impl Into<String>) -> Error {
        Error { status, message: message.into() }
    }
    /// The error of the C call that just returned `status` on this thread.
    fn last(status: sys::opusrt_status) -> Error {
        // SAFETY: opusrt_last_error never returns NULL; the string is valid until the next
        // opusrt call on this thread, and is copied at once.
        let message = unsafe { CStr::from_ptr(sys::opusrt_last_error()) }.to_string_lossy().into_owned();
        Error::new(Status::from_raw(status), message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.status, self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

fn check(status: sys::opusrt_status) -> Result<()> {
    if status == sys::OPUSRT_OK {
        Ok(())
    } else {
        Err(Error::last(status))
    }
}

fn c_string(value: &str, what: &str) -> Result<CString> {
    CString::new(value)
        .map_err(|_| Error::new(Status::InvalidArgument, format!("{} contains a NUL byte", what)))
}

// ---- library -----------------------------------------------------------------------------------

/// The library's version, e.g. "0.1.0".
pub fn version() -> &'static str {
    // SAFETY: a static NUL-terminated ASCII string.
    unsafe { CStr::from_ptr(sys::opusrt_version()) }.to_str().unwrap_or("")
}

/// The C API level of the loaded library; this crate needs at least [`sys::OPUSRT_C_API_VERSION`].
pub fn api_version() -> i32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { sys::opusrt_api_version() }
}

// ---- translator --------------------------------------------------------------------------------

/// How a translator runs its decoder steps; every mode gives the same tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecoderMode {
    /// The merged decoder graph when the export has it, else the split pair, else `Recompute`
    /// (an export without past; `Translator::warnings` says so).
    Auto,
    Merged,
    Split,
    /// No KV cache: each step reruns the whole prefix (slow; a test oracle).
    Recompute,
}

/// How a [`Translator`] is built; fixed for its lifetime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranslatorConfig {
    pub decoder: DecoderMode,
    /// ONNX Runtime intra-op threads; 0: one per physical core.
    pub threads: i32,
    /// Which graphs to load: "" or "fp32" (the default), or a variant's file suffix:
    /// "quantized", "q4", "q8", "fp16", ...
    pub variant: String,
}

impl Default for TranslatorConfig {
    fn default() -> Self {
        TranslatorConfig { decoder: DecoderMode::Auto, threads: 0, variant: String::new() }
    }
}

/// A loaded model. `Send + Sync`: one translator serves any number of threads at once (the C
/// API's translator functions are thread-safe); it is freed when dropped.
pub struct Translator {
    raw: NonNull<sys::opusrt_translator>,
}

// SAFETY: the C API documents an opusrt_translator as usable by any number of threads at once,
// and it has no thread affinity (freeing it from another thread is fine once no call runs, which
// Drop's &mut self guarantees).
unsafe impl Send for Translator {}
unsafe impl Sync for Translator {}

impl Drop for Translator {
    fn drop(&mut self) {
        // SAFETY: raw came from opusrt_create and is freed once.
        unsafe { sys::opusrt_free(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Translator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Translator").finish_non_exhaustive()
    }
}

/// One hypothesis of an n-best list.
#[derive(Clone, Debug, PartialEq)]
pub struct Hypothesis {
    pub text: String,
    pub output_ids: Vec<i64>,
    pub score: f64,
}

/// Times of one translation call, in milliseconds (for a batch, the batch's).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timings {
    pub encoder_ms: f64,
    pub decoder_ms: f64,
    /// tokenize + encoder + decoder + detokenize
    pub total_ms: f64,
}

/// One text's (or one unit's) translation.
#[derive(Clone, Debug, PartialEq)]
pub struct Translation {
    pub text: String,
    /// The text translated (for [`Translator::translate_text`]: the unit).
    pub source_text: String,
    /// As MarianTokenizer gives them, `</s>` last.
    pub source_ids: Vec<i64>,
    /// As transformers' `generate()` returns them: decoder start token first, then any target
    /// prefix, `</s>` last unless cut.
    pub output_ids: Vec<i64>,
    /// Beam search: transformers' sequence score; greedy and sampling: the same formula.
    pub score: f64,
    /// Best first; the first is this translation. One entry unless `num_return_sequences` > 1.
    pub n_best: Vec<Hypothesis>,
    /// The streaming closure stopped it: `output_ids` are what came so far.
    pub stopped: bool,
    pub timings: Timings,
}

/// A document's translation ([`Translator::translate_text`]).
#[derive(Clone, Debug, PartialEq)]
pub struct TextTranslation {
    /// The whole translation, with the source's whitespace and line breaks.
    pub text: String,
    /// The units (sentences) the text was cut into, each with its translation, in order.
    pub units: Vec<Translation>,
}

impl Translator {
    /// Loads and checks the model in `model_dir` (an Optimum export, or a Xenova layout with
    /// `onnx/`). A missing or inconsistent file is a [`Status::Model`] error naming it.
    pub fn new<P: AsRef<Path>>(model_dir: P) -> Result<Translator> {
        Translator::with_config(model_dir, &TranslatorConfig::default())
    }

    pub fn with_config<P: AsRef<Path>>(model_dir: P, config: &TranslatorConfig) -> Result<Translator> {
        let dir = path_c_string(model_dir.as_ref())?;
        let raw_config = Config::new()?;
        let mode = match config.decoder {
            DecoderMode::Auto => "auto",
            DecoderMode::Merged => "merged",
            DecoderMode::Split => "split",
            DecoderMode::Recompute => "recompute",
        };
        let mode = c_string(mode, "decoder mode")?;
        let variant = c_string(&config.variant, "variant")?;
        // SAFETY: raw_config is a live handle; the strings outlive the calls.
        unsafe {
            check(sys::opusrt_config_set_decoder(raw_config.0.as_ptr(), mode.as_ptr()))?;
            check(sys::opusrt_config_set_threads(raw_config.0.as_ptr(), config.threads))?;
            check(sys::opusrt_config_set_variant(raw_config.0.as_ptr(), variant.as_ptr()))?;
            let mut raw = ptr::null_mut();
            check(sys::opusrt_create(dir.as_ptr(), raw_config.0.as_ptr(), &mut raw))?;
            match NonNull::new(raw) {
                Some(raw) => Ok(Translator { raw }),
                None => Err(Error::new(Status::Internal, "opusrt_create returned no translator")),
            }
        }
    }

    /// What a user should know about the loaded model, one sentence each (e.g. an export
    /// without past: no KV cache, slow decoding).
    pub fn warnings(&self) -> Vec<String> {
        // SAFETY: self.raw is a live translator; the strings live as long as it and are copied.
        unsafe {
            (0..sys::opusrt_warning_count(self.raw.as_ptr()))
                .filter_map(|i| {
                    let text = sys::opusrt_warning(self.raw.as_ptr(), i);
                    (!text.is_null()).then(|| CStr::from_ptr(text).to_string_lossy().into_owned())
                })
                .collect()
        }
    }

    /// The target languages of a multi-target model, as [`TranslateOptions::target_lang`] takes
    /// them ("cmn_Hans" for `>>cmn_Hans<<`); empty for a model with one target language.
    pub fn languages(&self) -> Vec<String> {
        // SAFETY: self.raw is a live translator; the strings live as long as it and are copied.
        unsafe {
            (0..sys::opusrt_language_count(self.raw.as_ptr()))
                .filter_map(|i| {
                    let text = sys::opusrt_language(self.raw.as_ptr(), i);
                    (!text.is_null()).then(|| CStr::from_ptr(text).to_string_lossy().into_owned())
                })
                .collect()
        }
    }

    /// Translates one text; its failure (e.g. too long for the model) is the error.
    pub fn translate(&self, text: &str, options: &TranslateOptions) -> Result<Translation> {
        self.translate_batch(&[text], options)?.pop().unwrap_or_else(|| {
            Err(Error::new(Status::Internal, "opusrt_translate returned no translation"))
        })
    }

    /// Translates the texts as one padded batch; results in input order. A text that cannot be
    /// translated is an `Err` in its place and the others are translated; the outer error is for
    /// what fails every text (bad options, an unknown target language).
    pub fn translate_batch<S: AsRef<str>>(
        &self,
        texts: &[S],
        options: &TranslateOptions,
    ) -> Result<Vec<Result<Translation>>> {
        let bytes: Vec<&[u8]> = texts.iter().map(|t| t.as_ref().as_bytes()).collect();
        self.run_batch(&bytes, options, None)
    }

    /// Like [`Translator::translate_batch`] for byte strings that may not be UTF-8: such a text
    /// fails alone with [`Status::InvalidInput`] (what a transcript from a lossy source needs).
    pub fn translate_bytes<B: AsRef<[u8]>>(
        &self,
        texts: &[B],
        options: &TranslateOptions,
    ) -> Result<Vec<Result<Translation>>> {
        let bytes: Vec<&[u8]> = texts.iter().map(|t| t.as_ref()).collect();
        self.run_batch(&bytes, options, None)
    }

    /// Streaming: `on_token(index, token, text_so_far)` is called on this thread for each new
    /// token of text `index` (greedy and sampling: as each token is chosen; beam search: token by
    /// token once the best hypothesis is known). Return `false` to stop that text: it gets no
    /// more calls, and with greedy search or sampling its translation is what came so far, with
    /// `stopped` set (beam search streams a finished search: the translation is complete). A
    /// panic in `on_token` stops every text and is resumed once the library has returned.
    pub fn translate_stream<S, F>(
        &self,
        texts: &[S],
        options: &TranslateOptions,
        on_token: F,
    ) -> Result<Vec<Result<Translation>>>
    where
        S: AsRef<str>,
        F: FnMut(usize, i64, &str) -> bool,
    {
        let bytes: Vec<&[u8]> = texts.iter().map(|t| t.as_ref().as_bytes()).collect();
        let mut stream = Stream::new(on_token);
        let result = self.run_batch(&bytes, options, Some(&mut stream));
        stream.resume_panic();
        result
    }

    /// Any text, of any length, as a document: cut into units (sentences; see
    /// [`TranslateOptions::split`]), translated in padded batches, joined back with the source's
    /// whitespace. A unit that cannot be translated fails the call.
    pub fn translate_text(&self, text: &str, options: &TranslateOptions) -> Result<TextTranslation> {
        self.run_text(text, options, None)
    }

    /// [`Translator::translate_text`] with streaming; the closure's index is the unit's.
    pub fn translate_text_stream<F>(&self, text: &str, options: &TranslateOptions, on_token: F) -> Result<TextTranslation>
    where
        F: FnMut(usize, i64, &str) -> bool,
    {
        let mut stream = Stream::new(on_token);
        let result = self.run_text(text, options, Some(&mut stream));
        stream.resume_panic();
        result
    }

    fn run_batch(
        &self,
        texts: &[&[u8]],
        options: &TranslateOptions,
        stream: Option<&mut dyn StreamSink>,
    ) -> Result<Vec<Result<Translation>>> {
        let c_options = options.to_c()?;
        let pointers: Vec<*const c_char> = texts.iter().map(|t| t.as_ptr() as *const c_char).collect();
        let lengths: Vec<usize> = texts.iter().map(|t| t.len()).collect();
        let mut raw = ptr::null_mut();
        // SAFETY: pointers/lengths describe live byte slices (no terminator needed with
        // lengths); the handles are live; the stream outlives the call.
        let status = unsafe {
            match stream {
                None => sys::opusrt_translate(
                    self.raw.as_ptr(),
                    c_options.0.as_ptr(),
                    pointers.as_ptr(),
                    lengths.as_ptr(),
                    texts.len(),
                    &mut raw,
                ),
                Some(sink) => {
                    let mut sink: &mut dyn StreamSink = sink;
                    sys::opusrt_translate_stream(
                        self.raw.as_ptr(),
                        c_options.0.as_ptr(),
                        pointers.as_ptr(),
                        lengths.as_ptr(),
                        texts.len(),
                        Some(token_trampoline),
                        &mut sink as *mut &mut dyn StreamSink as *mut c_void,
                        &mut raw,
                    )
                }
            }
        };
        check(status)?;
        let result = ResultHandle::new(raw)?;
        (0..result.count()?).map(|i| result.entry(i)).collect()
    }

    fn run_text(&self, text: &str, options: &TranslateOptions, stream: Option<&mut dyn StreamSink>) -> Result<TextTranslation> {
        let c_options = options.to_c()?;
        let mut raw = ptr::null_mut();
        // SAFETY: as in run_batch.
        let status = unsafe {
            match stream {
                None => sys::opusrt_translate_text(
                    self.raw.as_ptr(),
                    c_options.0.as_ptr(),
                    text.as_ptr() as *const c_char,
                    text.len(),
                    None,
                    ptr::null_mut(),
                    &mut raw,
                ),
                Some(sink) => {
                    let mut sink: &mut dyn StreamSink = sink;
                    sys::opusrt_translate_text(
                        self.raw.as_ptr(),
                        c_options.0.as_ptr(),
                        text.as_ptr() as *const c_char,
                        text.len(),
                        Some(token_trampoline),
                        &mut sink as *mut &mut dyn StreamSink as *mut c_void,
                        &mut raw,
                    )
                }
            }
        };
        check(status)?;
        let result = ResultHandle::new(raw)?;
        let mut units = Vec::new();
        for i in 0..result.count()? {
            units.push(result.entry(i)??);
        }
        let mut joined: *const c_char = ptr::null();
        let mut length = 0usize;
        // SAFETY: live result; the text is copied before the result is freed.
        unsafe { check(sys::opusrt_result_joined_text(result.0.as_ptr(), &mut joined, &mut length))? };
        Ok(TextTranslation { text: unsafe { copy_text(joined, length) }, units })
    }
}

#[cfg(unix)]
fn path_c_string(path: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::new(Status::InvalidArgument, "model_dir contains a NUL byte"))
}

#[cfg(not(unix))]
fn path_c_string(path: &Path) -> Result<CString> {
    match path.to_str() {
        Some(text) => c_string(text, "model_dir"),
        None => Err(Error::new(Status::InvalidArgument, "model_dir is not valid Unicode")),
    }
}

// ---- streaming ---------------------------------------------------------------------------------

trait StreamSink {
    fn token(&mut self, index: usize, token: i64, partial: &str) -> bool;
}

struct Stream<F> {
    on_token: F,
    panic: Option<Box<dyn std::any::Any + Send + 'static>>,
}

impl<F: FnMut(usize, i64, &str) -> bool> Stream<F> {
    fn new(on_token: F) -> Self {
        Stream { on_token, panic: None }
    }
    fn resume_panic(&mut self) {
        if let Some(payload) = self.panic.take() {
            panic::resume_unwind(payload);
        }
    }
}

impl<F: FnMut(usize, i64, &str) -> bool> StreamSink for Stream<F> {
    fn token(&mut self, index: usize, token: i64, partial: &str) -> bool {
        if self.panic.is_some() {
            return false;
        }
        let on_token = &mut self.on_token;
        // A panic must not unwind through the C library: caught here, resumed after the call.
        match panic::catch_unwind(AssertUnwindSafe(|| on_token(index, token, partial))) {
            Ok(go_on) => go_on,
            Err(payload) => {
                self.panic = Some(payload);
                false
            }
        }
    }
}

unsafe extern "C" fn token_trampoline(
    user_data: *mut c_void,
    index: usize,
    token: i64,
    partial_text: *const c_char,
    partial_length: usize,
) -> c_int {
    // SAFETY: user_data is the &mut &mut dyn StreamSink run_batch / run_text passed, alive for
    // the call; the partial text is valid for partial_length bytes during this callback.
    let sink = unsafe { &mut *(user_data as *mut &mut dyn StreamSink) };
    let bytes = if partial_text.is_null() {
        &[][..]
    } else {
        unsafe { std::slice::from_raw_parts(partial_text as *const u8, partial_length) }
    };
    let partial = String::from_utf8_lossy(bytes);
    sink.token(index, token, &partial) as c_int
}

// ---- options -----------------------------------------------------------------------------------

/// Beam search's stopping rule (transformers' `early_stopping`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EarlyStopping {
    /// Stop when no live beam can beat the worst finished one (transformers' default).
    False,
    /// Stop as soon as `num_beams` hypotheses are finished.
    True,
    /// Stop when none could, even at max_length.
    Never,
}

/// How [`Translator::translate_text`] cuts a text into units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// Each line as one unit when it fits the model, else its sentences; line breaks are kept.
    Auto,
    /// Always sentence by sentence.
    Sentences,
    /// The text exactly as given, as one unit; an error if it does not fit.
    None,
}

/// Per-call settings; every unset field takes the model's `generation_config.json` value
/// (transformers' `generate()` semantics). A plain value: build it once, share it between
/// threads, compare it.
///
/// ```
/// let options = opusrt::TranslateOptions::new().num_beams(4).length_penalty(0.8).max_new_tokens(64);
/// assert_eq!(options.get_num_beams(), Some(4));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TranslateOptions {
    max_new_tokens: Option<i64>,
    num_beams: Option<i32>,
    length_penalty: Option<f64>,
    early_stopping: Option<EarlyStopping>,
    num_return_sequences: Option<i32>,
    target_lang: Option<String>,
    min_new_tokens: Option<i64>,
    repetition_penalty: Option<f64>,
    no_repeat_ngram_size: Option<i64>,
    bad_words_ids: Vec<Vec<i64>>,
    suppress_tokens: Vec<i64>,
    do_sample: Option<bool>,
    temperature: Option<f64>,
    top_k: Option<i64>,
    top_p: Option<f64>,
    seed: Option<u64>,
    target_prefix: Option<String>,
    target_prefix_ids: Vec<i64>,
    split: Option<Split>,
    max_batch: Option<usize>,
}

impl TranslateOptions {
    pub fn new() -> Self {
        Self::default()
    }
    /// Cap on generated tokens (after any target prefix), >= 1.
    pub fn max_new_tokens(mut self, value: i64) -> Self {
        self.max_new_tokens = Some(value);
        self
    }
    /// Beam size; 1 is greedy.
    pub fn num_beams(mut self, value: i32) -> Self {
        self.num_beams = Some(value);
        self
    }
    pub fn get_num_beams(&self) -> Option<i32> {
        self.num_beams
    }
    /// Beam score = sum of log-probs / length ^ length_penalty.
    pub fn length_penalty(mut self, value: f64) -> Self {
        self.length_penalty = Some(value);
        self
    }
    pub fn early_stopping(mut self, value: EarlyStopping) -> Self {
        self.early_stopping = Some(value);
        self
    }
    /// n-best: hypotheses kept per text, at most `num_beams` ([`Translation::n_best`]).
    pub fn num_return_sequences(mut self, value: i32) -> Self {
        self.num_return_sequences = Some(value);
        self
    }
    /// e.g. "cmn_Hans": prepends `>>cmn_Hans<<` unless the text starts with a `>>xx<<` token.
    pub fn target_lang(mut self, value: &str) -> Self {
        self.target_lang = Some(value.to_string());
        self
    }
    /// `</s>` is banned until this many tokens were generated.
    pub fn min_new_tokens(mut self, value: i64) -> Self {
        self.min_new_tokens = Some(value);
        self
    }
    /// > 1 discourages tokens already in the output.
    pub fn repetition_penalty(mut self, value: f64) -> Self {
        self.repetition_penalty = Some(value);
        self
    }
    /// No n-gram of this size twice in the output.
    pub fn no_repeat_ngram_size(mut self, value: i64) -> Self {
        self.no_repeat_ngram_size = Some(value);
        self
    }
    /// Bans one token sequence (added to the model's own bad words).
    pub fn bad_words_ids(mut self, ids: &[i64]) -> Self {
        self.bad_words_ids.push(ids.to_vec());
        self
    }
    /// Tokens never generated.
    pub fn suppress_tokens(mut self, ids: &[i64]) -> Self {
        self.suppress_tokens = ids.to_vec();
        self
    }
    /// Sampling instead of greedy search (num_beams must be 1).
    pub fn do_sample(mut self, value: bool) -> Self {
        self.do_sample = Some(value);
        self
    }
    pub fn temperature(mut self, value: f64) -> Self {
        self.temperature = Some(value);
        self
    }
    pub fn top_k(mut self, value: i64) -> Self {
        self.top_k = Some(value);
        self
    }
    pub fn top_p(mut self, value: f64) -> Self {
        self.top_p = Some(value);
        self
    }
    /// The sampling seed: the same seed gives the same output.
    pub fn seed(mut self, value: u64) -> Self {
        self.seed = Some(value);
        self
    }
    /// Forced start of the output, as text (through the target tokenizer).
    pub fn target_prefix(mut self, value: &str) -> Self {
        self.target_prefix = Some(value.to_string());
        self
    }
    /// Forced start of the output, as token ids (after the text prefix's).
    pub fn target_prefix_ids(mut self, ids: &[i64]) -> Self {
        self.target_prefix_ids = ids.to_vec();
        self
    }
    /// [`Translator::translate_text`] only: how the text is cut.
    pub fn split(mut self, value: Split) -> Self {
        self.split = Some(value);
        self
    }
    /// [`Translator::translate_text`] only: units per padded batch (default 32).
    pub fn max_batch(mut self, value: usize) -> Self {
        self.max_batch = Some(value);
        self
    }

    /// The C options handle for one call: every set field through its setter (which reports a
    /// wrong value with the library's message).
    fn to_c(&self) -> Result<Options> {
        let options = Options::new()?;
        let o = options.0.as_ptr();
        // SAFETY: o is a live handle; the arrays and strings outlive each call (setters copy).
        unsafe {
            if let Some(v) = self.max_new_tokens {
                if v < 1 {
                    return Err(Error::new(
                        Status::InvalidArgument,
                        format!("max_new_tokens must be >= 1, got {}", v),
                    ));
                }
                check(sys::opusrt_options_set_max_new_tokens(o, v))?;
            }
            if let Some(v) = self.num_beams {
                if v < 1 {
                    return Err(Error::new(Status::InvalidArgument, format!("num_beams must be >= 1, got {}", v)));
                }
                check(sys::opusrt_options_set_num_beams(o, v))?;
            }
            if let Some(v) = self.length_penalty {
                check(sys::opusrt_options_set_length_penalty(o, v))?;
            }
            if let Some(v) = self.early_stopping {
                let raw = match v {
                    EarlyStopping::False => sys::OPUSRT_EARLY_STOPPING_FALSE,
                    EarlyStopping::True => sys::OPUSRT_EARLY_STOPPING_TRUE,
                    EarlyStopping::Never => sys::OPUSRT_EARLY_STOPPING_NEVER,
                };
                check(sys::opusrt_options_set_early_stopping(o, raw))?;
            }
            if let Some(v) = self.num_return_sequences {
                if v < 1 {
                    return Err(Error::new(
                        Status::InvalidArgument,
                        format!("num_return_sequences must be >= 1, got {}", v),
                    ));
                }
                check(sys::opusrt_options_set_num_return_sequences(o, v))?;
            }
            if let Some(v) = &self.target_lang {
                let v = c_string(v, "target_lang")?;
                check(sys::opusrt_options_set_target_lang(o, v.as_ptr()))?;
            }
            if let Some(v) = self.min_new_tokens {
                check(sys::opusrt_options_set_min_new_tokens(o, v))?;
            }
            if let Some(v) = self.repetition_penalty {
                check(sys::opusrt_options_set_repetition_penalty(o, v))?;
            }
            if let Some(v) = self.no_repeat_ngram_size {
                check(sys::opusrt_options_set_no_repeat_ngram_size(o, v))?;
            }
            for word in &self.bad_words_ids {
                check(sys::opusrt_options_add_bad_words_ids(o, word.as_ptr(), word.len()))?;
            }
            check(sys::opusrt_options_set_suppress_tokens(o, self.suppress_tokens.as_ptr(), self.suppress_tokens.len()))?;
            if let Some(v) = self.do_sample {
                check(sys::opusrt_options_set_do_sample(o, v as c_int))?;
            }
            if let Some(v) = self.temperature {
                check(sys::opusrt_options_set_temperature(o, v))?;
            }
            if let Some(v) = self.top_k {
                check(sys::opusrt_options_set_top_k(o, v))?;
            }
            if let Some(v) = self.top_p {
                check(sys::opusrt_options_set_top_p(o, v))?;
            }
            if let Some(v) = self.seed {
                check(sys::opusrt_options_set_seed(o, v))?;
            }
            if let Some(v) = &self.target_prefix {
                let v = c_string(v, "target_prefix")?;
                check(sys::opusrt_options_set_target_prefix(o, v.as_ptr()))?;
            }
            check(sys::opusrt_options_set_target_prefix_ids(
                o,
                self.target_prefix_ids.as_ptr(),
                self.target_prefix_ids.len(),
            ))?;
            if let Some(v) = self.split {
                let raw = match v {
                    Split::Auto => sys::OPUSRT_SPLIT_AUTO,
                    Split::Sentences => sys::OPUSRT_SPLIT_SENTENCES,
                    Split::None => sys::OPUSRT_SPLIT_NONE,
                };
                check(sys::opusrt_options_set_split(o, raw))?;
            }
            if let Some(v) = self.max_batch {
                if v < 1 {
                    return Err(Error::new(Status::InvalidArgument, "max_batch must be >= 1, got 0"));
                }
                check(sys::opusrt_options_set_max_batch(o, v))?;
            }
        }
        Ok(options)
    }
}

// ---- incremental sessions ----------------------------------------------------------------------

/// What an [`IncrementalSession`] commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitPolicy {
    /// LocalAgreement-n: the longest common prefix of the last n hypotheses (default n = 2).
    LocalAgreement(u32),
    /// All but the last n tokens of the current hypothesis.
    Hold(u32),
    /// Stay k source words ahead of the committed target.
    WaitK(u32),
}

/// Settings of an [`IncrementalSession`]: the translation options its finals use, and how it
/// commits and shows partial translations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionOptions {
    pub translate: TranslateOptions,
    /// Default: LocalAgreement-2.
    pub policy: Option<CommitPolicy>,
    /// mask-k: hide the last k tentative tokens until the final.
    pub mask: u32,
    /// Biased search towards the previous hypothesis, in [0, 1); 0 is off.
    pub bias: f64,
    /// Tokens a non-final update may generate after the committed ones (default: 2 x the source
    /// tokens the update added + 8).
    pub max_tentative_tokens: Option<i64>,
}

/// One update of a session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Segment number (from 0; a final closes it) and update number within the session.
    pub segment: i64,
    pub seq: i64,
    /// Only grows within a segment; for a final, the final translation.
    pub committed: String,
    /// May change at the next update.
    pub tentative: String,
    pub committed_ids: Vec<i64>,
    pub tentative_ids: Vec<i64>,
    pub is_final: bool,
    /// A final that does not begin with what was committed, and how many committed characters
    /// (code points) were not kept.
    pub retracted: bool,
    pub retracted_chars: usize,
    /// The source text this update translated (the pushed partial less what a split closed).
    pub source: String,
    /// A final the session made itself: the partial had grown longer than the model takes, so
    /// its sentences before the last were closed as a segment; keep pushing the whole partial.
    pub split: bool,
}

/// Live translation of one audio stream's growing transcript. It borrows its [`Translator`]
/// (which must outlive it); it is `Send` (move it to the stream's thread) but not `Sync` (one
/// push at a time, which `&mut self` enforces). Freed on drop.
pub struct IncrementalSession<'a> {
    raw: NonNull<sys::opusrt_session>,
    _translator: std::marker::PhantomData<&'a Translator>,
}

// SAFETY: the C API lets a session move between threads; pushes take &mut self, so one thread
// at a time; the borrowed Translator is Sync.
unsafe impl<'a> Send for IncrementalSession<'a> {}

impl<'a> Drop for IncrementalSession<'a> {
    fn drop(&mut self) {
        // SAFETY: created by opusrt_session_create, freed once.
        unsafe { sys::opusrt_session_free(self.raw.as_ptr()) }
    }
}

impl<'a> fmt::Debug for IncrementalSession<'a> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncrementalSession").finish_non_exhaustive()
    }
}

impl Translator {
    /// A live session for one audio stream.
    pub fn session(&self, options: &SessionOptions) -> Result<IncrementalSession<'_>> {
        let c_options = options.translate.to_c()?;
        let o = c_options.0.as_ptr();
        // SAFETY: live handles; strings outlive the calls.
        unsafe {
            if let Some(policy) = &options.policy {
                let text = match policy {
                    CommitPolicy::LocalAgreement(n) => format!("la{}", n),
                    CommitPolicy::Hold(n) => format!("hold:{}", n),
                    CommitPolicy::WaitK(k) => format!("wait:{}", k),
                };
                let text = c_string(&text, "commit policy")?;
                check(sys::opusrt_options_set_commit_policy(o, text.as_ptr()))?;
            }
            let mask = i32::try_from(options.mask)
                .map_err(|_| Error::new(Status::InvalidArgument, format!("mask {} is too large", options.mask)))?;
            check(sys::opusrt_options_set_mask(o, mask))?;
            check(sys::opusrt_options_set_bias(o, options.bias))?;
            if let Some(n) = options.max_tentative_tokens {
                if n < 1 {
                    return Err(Error::new(
                        Status::InvalidArgument,
                        format!("max_tentative_tokens must be >= 1, got {}", n),
                    ));
                }
                check(sys::opusrt_options_set_max_tentative_tokens(o, n))?;
            }
            let mut raw = ptr::null_mut();
            check(sys::opusrt_session_create(self.raw.as_ptr(), o, &mut raw))?;
            match NonNull::new(raw) {
                Some(raw) => Ok(IncrementalSession { raw, _translator: std::marker::PhantomData }),
                None => Err(Error::new(Status::Internal, "opusrt_session_create returned no session")),
            }
        }
    }
}

struct UpdateHandle(NonNull<sys::opusrt_update>);

impl Drop for UpdateHandle {
    fn drop(&mut self) {
        // SAFETY: handed out by opusrt_session_push, freed once.
        unsafe { sys::opusrt_update_free(self.0.as_ptr()) }
    }
}

impl<'a> IncrementalSession<'a> {
    /// The current segment's source so far; `is_final`: its complete source (the update's
    /// `committed` is then exactly [`Translator::translate`]'s text). An error (invalid input, a
    /// source too long for the model, a push after [`IncrementalSession::close`]) leaves the
    /// session usable.
    pub fn push(&mut self, source: &str, is_final: bool) -> Result<Update> {
        let mut raw = ptr::null_mut();
        // SAFETY: live session; the text is valid for its length during the call.
        check(unsafe {
            sys::opusrt_session_push(
                self.raw.as_ptr(),
                source.as_ptr() as *const c_char,
                source.len(),
                is_final as c_int,
                &mut raw,
            )
        })?;
        let handle = NonNull::new(raw)
            .map(UpdateHandle)
            .ok_or_else(|| Error::new(Status::Internal, "opusrt_session_push returned no update"))?;
        let u = handle.0.as_ptr();
        let mut update = Update::default();
        // SAFETY: live update; everything is copied before it is freed.
        unsafe {
            let mut text: *const c_char = ptr::null();
            let mut length = 0usize;
            check(sys::opusrt_update_committed(u, &mut text, &mut length))?;
            update.committed = copy_text(text, length);
            check(sys::opusrt_update_tentative(u, &mut text, &mut length))?;
            update.tentative = copy_text(text, length);
            let mut ids: *const i64 = ptr::null();
            let mut count = 0usize;
            check(sys::opusrt_update_committed_ids(u, &mut ids, &mut count))?;
            update.committed_ids = copy_ids(ids, count);
            check(sys::opusrt_update_tentative_ids(u, &mut ids, &mut count))?;
            update.tentative_ids = copy_ids(ids, count);
            check(sys::opusrt_update_position(u, &mut update.segment, &mut update.seq))?;
            let mut flag: c_int = 0;
            check(sys::opusrt_update_final(u, &mut flag))?;
            update.is_final = flag != 0;
            check(sys::opusrt_update_retracted(u, &mut flag, &mut update.retracted_chars))?;
            update.retracted = flag != 0;
            check(sys::opusrt_update_source(u, &mut text, &mut length))?;
            update.source = copy_text(text, length);
            check(sys::opusrt_update_split(u, &mut flag))?;
            update.split = flag != 0;
        }
        Ok(update)
    }

    /// Ends the session: later pushes are errors.
    pub fn close(&mut self) -> Result<()> {
        // SAFETY: live session.
        check(unsafe { sys::opusrt_session_close(self.raw.as_ptr()) })
    }
}

// ---- owned C handles (private) -----------------------------------------------------------------

struct Config(NonNull<sys::opusrt_config>);

impl Config {
    fn new() -> Result<Config> {
        let mut raw = ptr::null_mut();
        // SAFETY: out-pointer to a local.
        check(unsafe { sys::opusrt_config_create(&mut raw) })?;
        NonNull::new(raw).map(Config).ok_or_else(|| Error::new(Status::Internal, "no config"))
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        // SAFETY: created by opusrt_config_create, freed once.
        unsafe { sys::opusrt_config_free(self.0.as_ptr()) }
    }
}

#[derive(Debug)]
struct Options(NonNull<sys::opusrt_options>);

impl Options {
    fn new() -> Result<Options> {
        let mut raw = ptr::null_mut();
        // SAFETY: out-pointer to a local.
        check(unsafe { sys::opusrt_options_create(&mut raw) })?;
        NonNull::new(raw).map(Options).ok_or_else(|| Error::new(Status::Internal, "no options"))
    }
}

impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: created by opusrt_options_create, freed once.
        unsafe { sys::opusrt_options_free(self.0.as_ptr()) }
    }
}

struct ResultHandle(NonNull<sys::opusrt_result>);

impl Drop for ResultHandle {
    fn drop(&mut self) {
        // SAFETY: handed out by a translate call, freed once.
        unsafe { sys::opusrt_result_free(self.0.as_ptr()) }
    }
}

/// Copies length bytes of UTF-8 text owned by a result.
unsafe fn copy_text(text: *const c_char, length: usize) -> String {
    if text.is_null() || length == 0 {
        return String::new();
    }
    // SAFETY: the caller passes a pointer the C API gave for length bytes.
    let bytes = unsafe { std::slice::from_raw_parts(text as *const u8, length) };
    String::from_utf8_lossy(bytes).into_owned()
}

/// Copies count ids owned by a result.
unsafe fn copy_ids(ids: *const i64, count: usize) -> Vec<i64> {
    if ids.is_null() || count == 0 {
        return Vec::new();
    }
    // SAFETY: the caller passes a pointer the C API gave for count ids.
    unsafe { std::slice::from_raw_parts(ids, count) }.to_vec()
}

impl ResultHandle {
    fn new(raw: *mut sys::opusrt_result) -> Result<ResultHandle> {
        NonNull::new(raw)
            .map(ResultHandle)
            .ok_or_else(|| Error::new(Status::Internal, "the translate call returned no result"))
    }

    fn count(&self) -> Result<usize> {
        let mut count = 0usize;
        // SAFETY: live result, out-pointer to a local.
        check(unsafe { sys::opusrt_result_count(self.0.as_ptr(), &mut count) })?;
        Ok(count)
    }

    /// Translation i, copied out, or its own error.
    fn entry(&self, i: usize) -> Result<Result<Translation>> {
        let r = self.0.as_ptr();
        // SAFETY: r is live and i < count; every pointer read is copied before r is freed.
        unsafe {
            let mut status = sys::OPUSRT_OK;
            let mut message: *const c_char = ptr::null();
            check(sys::opusrt_result_error(r, i, &mut status, &mut message))?;
            if status != sys::OPUSRT_OK {
                let message = if message.is_null() {
                    String::new()
                } else {
                    CStr::from_ptr(message).to_string_lossy().into_owned()
                };
                return Ok(Err(Error::new(Status::from_raw(status), message)));
            }
            let mut pointer: *const c_char = ptr::null();
            let mut length = 0usize;
            check(sys::opusrt_result_text(r, i, &mut pointer, &mut length))?;
            let text = copy_text(pointer, length);
            let mut source: *const c_char = ptr::null();
            check(sys::opusrt_result_source_text(r, i, &mut source, &mut length))?;
            let source_text = copy_text(source, length);
            let mut ids: *const i64 = ptr::null();
            let mut count = 0usize;
            check(sys::opusrt_result_output_ids(r, i, &mut ids, &mut count))?;
            let output_ids = copy_ids(ids, count);
            check(sys::opusrt_result_source_ids(r, i, &mut ids, &mut count))?;
            let source_ids = copy_ids(ids, count);
            let mut score = 0f64;
            check(sys::opusrt_result_score(r, i, &mut score))?;
            let mut stopped: c_int = 0;
            check(sys::opusrt_result_stopped(r, i, &mut stopped))?;
            let mut timings = Timings::default();
            check(sys::opusrt_result_timing_ms(r, i, sys::OPUSRT_TIMING_ENCODER, &mut timings.encoder_ms))?;
            check(sys::opusrt_result_timing_ms(r, i, sys::OPUSRT_TIMING_DECODER, &mut timings.decoder_ms))?;
            check(sys::opusrt_result_timing_ms(r, i, sys::OPUSRT_TIMING_TOTAL, &mut timings.total_ms))?;
            let mut hypotheses = 0usize;
            check(sys::opusrt_result_n_best_count(r, i, &mut hypotheses))?;
            let mut n_best = Vec::with_capacity(hypotheses);
            for rank in 0..hypotheses {
                check(sys::opusrt_result_n_best_text(r, i, rank, &mut pointer, &mut length))?;
                let hypothesis_text = copy_text(pointer, length);
                check(sys::opusrt_result_n_best_output_ids(r, i, rank, &mut ids, &mut count))?;
                let hypothesis_ids = copy_ids(ids, count);
                let mut hypothesis_score = 0f64;
                check(sys::opusrt_result_n_best_score(r, i, rank, &mut hypothesis_score))?;
                n_best.push(Hypothesis { text: hypothesis_text, output_ids: hypothesis_ids, score: hypothesis_score });
            }
            Ok(Ok(Translation {
                text,
                source_text,
                source_ids,
                output_ids,
                score,
                n_best,
                stopped: stopped != 0,
                timings,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_plain_comparable_values() {
        let a = TranslateOptions::new().num_beams(4).seed(7).bad_words_ids(&[1, 2]);
        let b = a.clone();
        assert_eq!(a, b);
        assert_ne!(a, b.seed(8));
    }

    #[test]
    fn translator_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Translator>();
        assert_send_sync::<TranslateOptions>();
        assert_send_sync::<Error>();
        fn assert_send<T: Send>() {}
        assert_send::<IncrementalSession<'static>>();
    }

    #[test]
    fn library_reports_this_crates_api_level() {
        assert!(api_version() >= sys::OPUSRT_C_API_VERSION);
        assert!(!version().is_empty());
    }

    #[test]
    fn bad_option_values_are_errors_with_the_libraries_message() {
        let e = TranslateOptions::new().top_p(1.5).to_c().unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument);
        assert!(e.message().contains("top_p must be in (0, 1]"), "{}", e);
        let e = TranslateOptions::new().target_lang("a\0b").to_c().unwrap_err();
        assert!(e.message().contains("NUL"), "{}", e);
    }
}
