#pragma once

// Small value types of the public API that the engine's layers use too (so that src/decoder/
// and src/model/ need not include the whole of translator.h).
//
//   opusrt::TranslatorConfig config;
//   config.decoder = opusrt::parse_decoder_mode("split");         // tuning, see translator.h
//   opusrt::TranslateOptions options;
//   options.early_stopping = opusrt::EarlyStopping::kNever;       // beam search stopping rule
#include <string_view>

namespace opusrt {

// How decoder steps are run; every mode gives the same tokens.
enum class DecoderMode {
  kAuto,       // the merged graph when the export has it, else the split pair, else recompute
               // (an export without past: decoder_model.onnx alone; the translator warns)
  kMerged,     // decoder_model_merged.onnx, branch chosen by use_cache_branch
  kSplit,      // decoder_model.onnx for the prefill, decoder_with_past_model.onnx afterwards
  kRecompute,  // no KV cache: each step reruns the whole prefix (quadratic; a test oracle)
};
const char* to_string(DecoderMode mode);
DecoderMode parse_decoder_mode(std::string_view text);  // "auto" | "merged" | "split" | "recompute"

// When beam search stops (transformers' early_stopping): kTrue as soon as num_beams hypotheses
// are finished; kFalse when no live beam can beat the worst finished one at the current length
// (transformers' default); kNever when none could at max_length.
enum class EarlyStopping { kFalse, kTrue, kNever };
const char* to_string(EarlyStopping value);
EarlyStopping parse_early_stopping(std::string_view text);  // "true" | "false" | "never"

// How translate_text cuts a text into units the model translates.
enum class SplitMode {
  kAuto,       // each line (up to a line break) as one unit when it fits the model, else its
               // sentences (never cropped); line breaks are kept
  kSentences,  // always sentence by sentence (ICU), joined back with the original whitespace
  kNone,       // the text exactly as given, as one unit (blank text too, as transformers would);
               // an error if it does not fit
};
SplitMode parse_split_mode(std::string_view text);  // "auto" | "sentences" | "none"

}  // namespace opusrt
