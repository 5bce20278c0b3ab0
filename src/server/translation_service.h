#pragma once

// A fixed pool of workers over one shared Translator: texts of any length are cut into the units
// the model translates (opusrt/text_units.h: what translate_text does with SplitMode::kAuto, so
// a text gets the CLI's translation), the units of all requests wait in one BatchingQueue, and
// each worker makes ONE translate_batch call per batch. The units' translations are joined back
// per text. HTTP knows nothing of this class's threads; it submits texts and gets a callback
// when they are all done.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "opusrt/translator.h"
#include "server/batching_queue.h"

namespace opusrt::server {

class ServerMetrics;

// One whole text's answer: its translation, or an HTTP status with a message.
struct TextResult {
  std::optional<TextTranslation> translation;  // text, and per unit: source piece, ids, scores, n-best
  // With n-best (num_return_sequences n > 1): n - 1 alternative translations of the whole text,
  // the k-th joining every unit's (k+1)-th best hypothesis (its best where it has fewer). For a
  // one-unit text these are the unit's n-best after the first; for several units it is how
  // argos-translate, which LibreTranslate runs, combines the hypotheses of sentences. As
  // LibreTranslate, one that reads like the translation or an earlier alternative is left out
  // (unique_alternatives), so there may be fewer. Empty for a text without units (blank).
  std::vector<std::string> alternatives;
  int status = 200;
  std::string error;
};

// LibreTranslate's filter_unique: `candidates` in order, without the ones equal to `translation`
// or to an earlier one (n-best hypotheses can differ in ids and read the same), nor empty ones.
std::vector<std::string> unique_alternatives(const std::string& translation, std::vector<std::string> candidates);

// What a worker calls for one batch. Tests wrap Translator::translate_batch with it (to fail one
// unit as a model run can); unset, the translator's own.
using BatchTranslate = std::function<std::vector<Translation>(
    const Translator& translator, std::span<const std::string> units, const TranslateOptions& options,
    const TokenCallback& on_token)>;

struct ServiceOptions {
  int workers = 2;
  BatchingOptions batching;
  BatchTranslate translate_batch;
};

class TranslationService {
 public:
  // `translator` and `metrics` (optional) must outlive the service.
  TranslationService(const Translator& translator, ServiceOptions options, ServerMetrics* metrics = nullptr);
  ~TranslationService();  // shutdown()
  TranslationService(const TranslationService&) = delete;
  TranslationService& operator=(const TranslationService&) = delete;

  using Done = std::function<void(std::vector<TextResult>)>;
  // Streaming: text `text_index`'s translation so far: the translations of its first units, in
  // order, the last perhaps unfinished (it only grows at its end while units finish in order;
  // a unit decoded ahead of its turn shows when the ones before it are done). Returning false
  // (the client left) stops decoding that text: each of its units stops at its next token.
  using Partial = std::function<bool(size_t text_index, std::string_view text_so_far)>;

  struct Submitted {
    BatchingQueue::Push push = BatchingQueue::Push::kAccepted;
    size_t units = 0;  // what the texts were cut into: what the queue's capacity counts
  };

  // Cuts the texts into units and queues them (all or none). When accepted, `done` is called
  // once with one result per text, in input order, when all are finished: from a worker thread,
  // or right here when there is nothing to translate (blank texts come back as they are without
  // running the model). A unit that cannot be translated fails its text only (the message names
  // the unit); the other texts and requests go on. When the queue is full or closed, or the
  // texts have more units than it can ever hold (kTooLarge), nothing is queued and `done` is
  // never called. Units of any requests whose options are equal share batches.
  Submitted submit(std::vector<std::string> texts, std::shared_ptr<const TranslateOptions> options, Done done,
                   Partial on_partial = {});

  // Stops accepting, translates what is queued, joins the workers. Idempotent.
  void shutdown();

  size_t queue_depth() const { return queue_.depth(); }
  size_t capacity() const { return queue_.options().capacity; }

 private:
  void work();
  void run_batch(std::vector<TranslationJob>& batch);

  const Translator& translator_;
  ServerMetrics* metrics_;
  BatchTranslate translate_batch_;
  BatchingQueue queue_;
  std::atomic<uint64_t> next_request_{1};
  std::vector<std::thread> workers_;
  std::once_flag shutdown_once_;
};

}  // namespace opusrt::server
