#include "text/document_batcher.h"

#include <algorithm>
#include <cctype>
#include <numeric>

#include "opusrt/error.h"

namespace opusrt {
namespace {

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

void add_units(const std::string& text, size_t t, SplitMode split, const std::function<bool(std::string_view)>& fits,
               DocumentUnits& out) {
  std::vector<TextSegment>& segments = out.segments[t];
  if (split == SplitMode::kNone || (split == SplitMode::kAuto && fits(text))) {
    segments.push_back({"", text, ""});
  } else {
    segments = split_sentences(text);
  }
  bool first = true;
  for (size_t i = 0; i < segments.size(); ++i) {
    // Blank text is kept, not translated; except with kNone, which translates exactly what it is given.
    if (split != SplitMode::kNone && is_blank(segments[i].content)) continue;
    std::vector<std::string> pieces;
    if (split == SplitMode::kNone) {
      pieces.push_back(segments[i].content);
    } else {
      pieces = split_to_fit(segments[i].content, fits);
    }
    for (std::string& piece : pieces) {
      out.units.push_back({t, i, first});
      out.sources.push_back(std::move(piece));
      first = false;
    }
  }
}

}  // namespace

DocumentUnits split_documents(std::span<const std::string> texts, SplitMode split,
                              const std::function<bool(std::string_view)>& fits) {
  DocumentUnits out;
  out.segments.resize(texts.size());
  out.errors.resize(texts.size());
  for (size_t t = 0; t < texts.size(); ++t) {
    try {
      add_units(texts[t], t, split, fits, out);
    } catch (const Error& e) {
      out.errors[t] = e.what();
      out.segments[t].clear();
      while (!out.units.empty() && out.units.back().text == t) {
        out.units.pop_back();
        out.sources.pop_back();
      }
    }
  }
  return out;
}

std::vector<std::vector<size_t>> batch_by_length(const std::vector<std::string>& sources, size_t max_batch,
                                                 bool keep_order) {
  if (max_batch == 0) throw Error("translate_text: max_batch must be at least 1");
  std::vector<size_t> order(sources.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (!keep_order)
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sources[a].size() < sources[b].size(); });
  std::vector<std::vector<size_t>> batches;
  for (size_t start = 0; start < order.size(); start += max_batch)
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                         order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + max_batch)));
  return batches;
}

std::vector<std::string> join_documents(const DocumentUnits& units, const std::vector<std::string>& translations) {
  if (translations.size() != units.units.size())
    throw Error("join_documents: " + std::to_string(translations.size()) + " translations for " +
                std::to_string(units.units.size()) + " units");
  std::vector<std::vector<std::string>> joined(units.segments.size());
  for (size_t t = 0; t < units.segments.size(); ++t) joined[t].resize(units.segments[t].size());
  for (size_t u = 0; u < units.units.size(); ++u) {
    const DocumentUnits::Unit& unit = units.units[u];
    std::string& target = joined[unit.text][unit.segment];
    const bool continues = u > 0 && units.units[u - 1].text == unit.text && units.units[u - 1].segment == unit.segment;
    if (continues && !target.empty()) {
      const std::string& before = units.sources[u - 1];
      const std::string& after = units.sources[u];
      if (std::isspace(static_cast<unsigned char>(before.back())) || std::isspace(static_cast<unsigned char>(after.front())))
        target += ' ';
    }
    target += translations[u];
  }
  std::vector<std::string> out;
  for (size_t t = 0; t < units.segments.size(); ++t) out.push_back(join_segments(units.segments[t], joined[t]));
  return out;
}

}  // namespace opusrt
