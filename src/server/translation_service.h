#pragma once

// A fixed pool of workers over one shared Translator: each worker takes a batch from the
// BatchingQueue and makes ONE translate_batch call for it. HTTP knows nothing of this class's
// threads; it submits texts and gets a callback when they are all done.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "opusrt/translator.h"
#include "server/batching_queue.h"

namespace opusrt::server {

class ServerMetrics;

struct ServiceOptions {
  int workers = 2;
  BatchingOptions batching;
};

class TranslationService {
 public:
  // `translator` and `metrics` (optional) must outlive the service.
  TranslationService(const Translator& translator, ServiceOptions options, ServerMetrics* metrics = nullptr);
  ~TranslationService();  // shutdown()
  TranslationService(const TranslationService&) = delete;
  TranslationService& operator=(const TranslationService&) = delete;

  using Done = std::function<void(std::vector<JobResult>)>;
  // Streaming: the text decoded so far; returning false stops decoding that text.
  using Partial = std::function<bool(size_t text_index, std::string_view partial)>;

  // Queues the texts (all or none). When accepted, `done` is called once with one result per
  // text, in input order, when all are finished: from a worker thread, or right here when there
  // is nothing to translate (empty texts give "" without running the model). When the queue is
  // full or closed, nothing is queued and `done` is never called. Texts of any requests whose
  // options are equal share batches.
  BatchingQueue::Push submit(std::vector<std::string> texts, std::shared_ptr<const TranslateOptions> options,
                             Done done, Partial on_partial = {});

  // Stops accepting, translates what is queued, joins the workers. Idempotent.
  void shutdown();

  size_t queue_depth() const { return queue_.depth(); }
  size_t capacity() const { return queue_.options().capacity; }

 private:
  void work();
  void run_batch(std::vector<TranslationJob>& batch);

  const Translator& translator_;
  ServerMetrics* metrics_;
  BatchingQueue queue_;
  std::vector<std::thread> workers_;
  std::once_flag shutdown_once_;
};

}  // namespace opusrt::server
