#pragma once

// Live speech: incremental translation of a growing, revisable transcript. One session per
// audio stream; each push of a partial source gives an update with `committed` text (it only
// grows within a segment) and `tentative` text (it may change at the next update). A final push
// gives exactly what Translator::translate gives for that source, then a new segment begins.
//
//   opusrt::Translator translator("opus-mt-en-zh/");
//   opusrt::IncrementalOptions options;                      // LocalAgreement-2, greedy
//   options.translate.target_lang = "cmn_Hans";
//   opusrt::IncrementalSession session(translator, options);
//   for (std::string partial : {"Open", "Open the", "Open the file"}) {
//     opusrt::IncrementalUpdate u = session.push(partial, false);
//     show(u.committed, u.tentative);
//   }
//   opusrt::IncrementalUpdate last = session.push("Open the file.", true);  // last.final
//
// Each update reuses what it can: an unchanged source runs no model at all; the encoder reruns
// on the grown source (it is bidirectional); the committed tokens go through the decoder in ONE
// prefill run; search continues from there for at most max_tentative_tokens. A session is used
// by one thread at a time; sessions of one Translator may run on different threads at once.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opusrt/translator.h"

namespace opusrt {

// What to commit (shared terms: docs/live-speech.md).
struct CommitPolicy {
  enum class Kind {
    kLocalAgreement,  // the longest common prefix of the last n full hypotheses
    kHold,            // all but the last n tokens of the current hypothesis
    kWaitK,           // stay n source words ahead of the committed target (approximated, see .cc)
  };
  Kind kind = Kind::kLocalAgreement;
  int n = 2;
  bool operator==(const CommitPolicy&) const = default;
};
// "la2", "la3" (la<n>), "hold:N", "wait:K"; throws opusrt::Error otherwise.
CommitPolicy parse_commit_policy(std::string_view text);
std::string to_string(const CommitPolicy& policy);

struct IncrementalOptions {
  TranslateOptions translate;  // beams, target language, processors: finals use exactly these
  CommitPolicy policy;
  int mask = 0;                // mask-k: hide the last k tentative tokens until the final
  double bias = 0;             // biased search towards the previous hypothesis, in [0, 1); 0: off
  // Tokens a non-final update may generate after the committed ones; default (unset):
  // 2 x the source tokens the update added + 8 (full-sentence models tend to invent endings).
  std::optional<int64_t> max_tentative_tokens;
};

struct IncrementalTimings {
  double encoder_ms = 0;
  double decoder_ms = 0;
  double total_ms = 0;
};

struct IncrementalUpdate {
  int64_t segment = 0;  // counts from 0; a final closes it
  int64_t seq = 0;      // update number within the session
  std::string committed;
  std::string tentative;
  std::vector<int64_t> committed_ids;  // target tokens after the decoder start
  std::vector<int64_t> tentative_ids;  // shown tentative tokens (after the mask)
  bool final = false;
  // A final whose translation does not begin with what was committed: the viewer saw text that
  // changed. retracted_chars characters (code points) of the committed text were not kept.
  bool retracted = false;
  size_t retracted_chars = 0;
  // The source text this update translated: the pushed partial, less the start of it that an
  // earlier split (below) already closed.
  std::string source;
  // A final the session made itself: the partial had grown longer than the model takes, so its
  // sentences before the last became a final segment (exactly Translator::translate_text with
  // SplitMode::kAuto of `source`); the last sentence continues as the next segment. Also set on
  // a pushed final that is too long for one translation (translated the same way).
  bool split = false;
  bool model_ran = false;    // false when the source tokens had not changed
  int64_t decoder_runs = 0;  // decoder runs of this update (a prefill counts one)
  IncrementalTimings timings;
};

class IncrementalSession {
 public:
  // `translator` must outlive the session. Throws opusrt::Error on invalid options.
  IncrementalSession(const Translator& translator, IncrementalOptions options = {});
  ~IncrementalSession();
  IncrementalSession(IncrementalSession&&) noexcept;
  IncrementalSession& operator=(IncrementalSession&&) noexcept;

  // The current segment's source so far (`final`: complete). Errors (opusrt::Error, the session
  // stays usable): invalid UTF-8; a push after close(). A blank non-final partial shows nothing
  // new and runs nothing; a final is always exactly Translator::translate(source), blank text
  // included.
  // A partial longer than the model takes is split at its last sentence boundary: the update
  // returned is the final (`split`) of the sentences before it, and the caller goes on pushing
  // the whole growing partial as before: the session drops the closed start from later pushes
  // (their update's `source` says what is left). If a later push no longer begins with the
  // closed text (the recogniser revised it), that push starts over as a new segment's whole
  // source: closed text cannot be reopened.
  IncrementalUpdate push(std::string_view source, bool final);

  // Ends the session: later pushes are errors.
  void close();

  const IncrementalOptions& options() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Quality and cost of a stream of updates (definitions: docs/live-speech.md). Fed every update
// with its source, in order; it translates each update's source offline to check finals and
// measure the compute ratio, so it costs an offline translation per update.
struct StreamSummary {
  int64_t segments = 0;
  int64_t updates = 0;
  int64_t skipped_updates = 0;        // partials dropped by a latest-wins caller (add_skipped)
  int64_t finals_equal_offline = 0;   // finals whose text equals Translator::translate's
  int64_t retractions = 0;
  double ne_committed = 0;            // normalized erasure of the committed text (mean over segments)
  double ne_displayed = 0;            // ... of committed + tentative
  double laal_words = 0;              // length-adaptive average lagging of the committed text, in source words
  double ms_per_update_median = 0, ms_per_update_p95 = 0;
  double compute_ratio = 0;           // median over updates that ran the model: model ms / offline model ms
  // The same over the non-final updates only: the prefill-based ones (a final IS an offline
  // translation, at a ratio of about 1). 0 when no partial ran the model.
  double compute_ratio_partials = 0;
};

class StreamMetrics {
 public:
  StreamMetrics(const Translator& translator, TranslateOptions options);
  ~StreamMetrics();
  StreamMetrics(const StreamMetrics&) = delete;
  StreamMetrics& operator=(const StreamMetrics&) = delete;

  // `update.source` is what it translated (IncrementalSession sets it).
  void add(const IncrementalUpdate& update);
  void add_skipped(int64_t count = 1);
  StreamSummary summary() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opusrt
