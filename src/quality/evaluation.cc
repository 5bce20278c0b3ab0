// An evaluation run: translate a test set with a Translator, score it (src/quality/metrics.cc).
#include <chrono>
#include <string>

#include "opusrt/error.h"
#include "opusrt/quality.h"

namespace opusrt {

Evaluation evaluate(const Translator& translator, const std::vector<std::string>& sources,
                    const std::vector<std::string>& references, const TranslateOptions& options,
                    size_t batch_size) {
  if (sources.size() != references.size())
    throw Error("evaluate: " + std::to_string(sources.size()) + " source lines but " +
                std::to_string(references.size()) + " reference lines");
  if (batch_size == 0) throw Error("evaluate: batch_size must be at least 1");
  Evaluation evaluation;
  const auto start = std::chrono::steady_clock::now();
  // Each line is one unit, exactly as given: a test set is already segmented.
  const std::vector<TextTranslation> results =
      translator.translate_texts(sources, options, SplitMode::kNone, batch_size);
  evaluation.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ChrfScorer chrf;
  BleuScorer bleu;
  for (size_t i = 0; i < results.size(); ++i) {
    for (const Translation& unit : results[i].units)
      evaluation.output_tokens += static_cast<int64_t>(unit.output_ids.size()) - 1;  // minus the start token
    chrf.add(results[i].text, references[i]);
    bleu.add(results[i].text, references[i]);
    evaluation.hypotheses.push_back(results[i].text);
  }
  evaluation.chrf = chrf.score();
  evaluation.bleu = bleu.score();
  evaluation.tokens_per_second =
      evaluation.seconds > 0 ? static_cast<double>(evaluation.output_tokens) / evaluation.seconds : 0.0;
  return evaluation;
}

}  // namespace opusrt
