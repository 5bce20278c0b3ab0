#include <algorithm>
#include <cmath>
#include <optional>

#include "incremental/commit_policy.h"
#include "opusrt/incremental.h"

namespace opusrt {
namespace {

std::vector<std::string> characters(std::string_view text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {
    size_t next = i + 1;
    while (next < text.size() && (static_cast<unsigned char>(text[next]) & 0xC0) == 0x80) ++next;
    out.emplace_back(text.substr(i, next - i));
    i = next;
  }
  return out;
}

size_t common_prefix(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const size_t low = static_cast<size_t>(std::floor(position));
  const size_t high = std::min(values.size() - 1, low + 1);
  return values[low] + (values[high] - values[low]) * (position - static_cast<double>(low));
}

}  // namespace

struct StreamMetrics::Impl {
  const Translator& translator;
  TranslateOptions options;
  StreamSummary totals;
  std::vector<double> update_ms, ratios, partial_ratios, ne_committed, ne_displayed, laal;
  // The current segment.
  std::vector<std::vector<std::string>> displayed, committed;  // per update, in characters
  std::vector<size_t> committed_at_words;                       // per committed character: source words read

  void close_segment(std::string_view source, const std::vector<std::string>& final_text) {
    auto erasure = [&](const std::vector<std::vector<std::string>>& outputs) {
      double removed = 0;
      for (size_t i = 1; i < outputs.size(); ++i)
        removed += static_cast<double>(outputs[i - 1].size() - common_prefix(outputs[i - 1], outputs[i]));
      return final_text.empty() ? 0.0 : removed / static_cast<double>(final_text.size());
    };
    ne_displayed.push_back(erasure(displayed));
    ne_committed.push_back(erasure(committed));
    // LAAL over the final text's characters: d_i = source words read when character i was
    // committed (and stayed), else all of them; gamma = |Y| / |X| with Y the final output.
    const double source_words = static_cast<double>(count_words(source));
    if (!final_text.empty() && source_words > 0) {
      const double gamma = static_cast<double>(final_text.size()) / source_words;
      double sum = 0;
      size_t tau = 0;
      for (size_t i = 0; i < final_text.size(); ++i) {
        const double d = i < committed_at_words.size() ? static_cast<double>(committed_at_words[i]) : source_words;
        sum += d - static_cast<double>(i) / gamma;
        tau = i + 1;
        if (d >= source_words) break;
      }
      laal.push_back(sum / static_cast<double>(tau));
    }
    displayed.clear();
    committed.clear();
    committed_at_words.clear();
    ++totals.segments;
  }
};

StreamMetrics::StreamMetrics(const Translator& translator, TranslateOptions options)
    : impl_(std::make_unique<Impl>(Impl{translator, std::move(options), {}, {}, {}, {}, {}, {}, {}, {}, {}, {}})) {}
StreamMetrics::~StreamMetrics() = default;

void StreamMetrics::add_skipped(int64_t count) { impl_->totals.skipped_updates += count; }

void StreamMetrics::add(const IncrementalUpdate& update) {
  Impl& m = *impl_;
  const std::string& source = update.source;
  ++m.totals.updates;
  m.update_ms.push_back(update.timings.total_ms);
  const std::vector<std::string> committed = characters(update.committed);
  if (update.model_ran) {
    std::optional<std::string> offline_text;  // none: the offline translation failed
    double offline_ms = 0;
    if (update.split) {
      // Too long for one translation: offline is the CLI's --split auto of the same text.
      const TextTranslation offline = m.translator.translate_text(source, m.options, SplitMode::kAuto);
      for (const Translation& unit : offline.units) offline_ms += unit.timings.encoder_ms + unit.timings.decoder_ms;
      if (offline.ok()) offline_text = offline.text;
    } else {
      const Translation offline = m.translator.translate(source, m.options);
      offline_ms = offline.timings.encoder_ms + offline.timings.decoder_ms;
      offline_text = offline.text;
    }
    if (offline_ms > 0) {
      const double ratio = (update.timings.encoder_ms + update.timings.decoder_ms) / offline_ms;
      m.ratios.push_back(ratio);
      if (!update.final) m.partial_ratios.push_back(ratio);
    }
    if (update.final && offline_text && *offline_text == update.committed) ++m.totals.finals_equal_offline;
  }
  if (update.retracted) ++m.totals.retractions;
  if (!update.final) {
    // A committed character keeps the word count of the update that committed it, as long as
    // the committed text keeps it.
    const size_t kept = std::min(m.committed_at_words.size(), committed.size());
    m.committed_at_words.resize(kept);
    const size_t words = count_words(source);
    while (m.committed_at_words.size() < committed.size()) m.committed_at_words.push_back(words);
    m.committed.push_back(committed);
    m.displayed.push_back(characters(update.committed + update.tentative));
    return;
  }
  m.committed.push_back(committed);
  m.displayed.push_back(committed);
  const size_t kept = common_prefix(m.committed.size() > 1 ? m.committed[m.committed.size() - 2] : committed, committed);
  m.committed_at_words.resize(std::min(kept, m.committed_at_words.size()));
  m.close_segment(source, committed);
}

StreamSummary StreamMetrics::summary() const {
  const Impl& m = *impl_;
  StreamSummary s = m.totals;
  auto mean = [](const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return v.empty() ? 0.0 : sum / static_cast<double>(v.size());
  };
  s.ne_committed = mean(m.ne_committed);
  s.ne_displayed = mean(m.ne_displayed);
  s.laal_words = mean(m.laal);
  s.ms_per_update_median = percentile(m.update_ms, 0.5);
  s.ms_per_update_p95 = percentile(m.update_ms, 0.95);
  s.compute_ratio = percentile(m.ratios, 0.5);
  s.compute_ratio_partials = percentile(m.partial_ratios, 0.5);
  return s;
}

}  // namespace opusrt
