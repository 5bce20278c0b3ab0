#include "text/document_batcher.h"

#include <algorithm>
#include <cctype>
#include <numeric>
#include <string_view>

#include "opusrt/error.h"

namespace opusrt {
namespace {

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

// A line or paragraph break, as ICU's sentence rules take them (Sep: they always end a
// sentence): LF, CR, NEL (U+0085), LS and PS (U+2028, U+2029).
bool has_line_break(std::string_view text) {
  return text.find_first_of("\n\r") != std::string_view::npos || text.find("\xC2\x85") != std::string_view::npos ||
         text.find("\xE2\x80\xA8") != std::string_view::npos || text.find("\xE2\x80\xA9") != std::string_view::npos;
}

// kAuto: each line that fits is one unit; a line that does not is cut into sentences. The model
// sees no line breaks (sentencepiece turns them into spaces), so a text translated whole would
// lose them, and lines without final punctuation would run into one another.
std::vector<TextSegment> line_segments(const std::string& text, const std::function<bool(std::string_view)>& fits) {
  if (!has_line_break(text) && fits(text)) return {{"", text, ""}};
  const std::vector<TextSegment> sentences = split_sentences(text);  // ICU breaks after every line break
  std::vector<TextSegment> out;
  for (size_t begin = 0; begin < sentences.size();) {
    size_t end = begin + 1;  // one line: the sentences up to whitespace with a line break
    while (end < sentences.size() && !has_line_break(sentences[end - 1].trailing) &&
           !has_line_break(sentences[end].leading))
      ++end;
    TextSegment line = sentences[begin];
    for (size_t i = begin + 1; i < end; ++i)
      line.content += sentences[i - 1].trailing + sentences[i].leading + sentences[i].content;
    line.trailing = sentences[end - 1].trailing;
    if (end - begin > 1 && fits(line.content)) {
      out.push_back(std::move(line));
    } else {
      out.insert(out.end(), sentences.begin() + static_cast<std::ptrdiff_t>(begin),
                 sentences.begin() + static_cast<std::ptrdiff_t>(end));
    }
    begin = end;
  }
  return out;
}

void add_units(const std::string& text, size_t t, SplitMode split, const std::function<bool(std::string_view)>& fits,
               DocumentUnits& out) {
  std::vector<TextSegment>& segments = out.segments[t];
  if (split == SplitMode::kNone) {
    segments.push_back({"", text, ""});
  } else if (split == SplitMode::kAuto) {
    segments = line_segments(text, fits);
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

std::vector<std::vector<size_t>> batch_by_length(std::span<const size_t> lengths, size_t max_batch, bool keep_order) {
  if (max_batch == 0) throw Error("translate_text: max_batch must be at least 1");
  std::vector<size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (!keep_order) std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
  std::vector<std::vector<size_t>> batches;
  for (size_t start = 0; start < order.size(); start += max_batch)
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                         order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + max_batch)));
  return batches;
}

std::string join_document(const DocumentUnits& units, size_t text, size_t first_unit,
                          std::span<const std::string> translations) {
  if (text >= units.segments.size())
    throw Error("join_document: text " + std::to_string(text) + " of " + std::to_string(units.segments.size()));
  size_t count = 0;
  while (first_unit + count < units.units.size() && units.units[first_unit + count].text == text) ++count;
  const bool starts_text = count == 0 || first_unit == 0 || units.units[first_unit - 1].text != text;
  if (translations.size() > count || !starts_text)
    throw Error("join_document: " + std::to_string(translations.size()) + " translations for text " +
                std::to_string(text) + ", which has " + std::to_string(count) + " units from unit " +
                std::to_string(first_unit));
  const std::vector<TextSegment>& segments = units.segments[text];
  // A segment without units is blank (kAuto and kSentences leave those out): it stays as it was.
  std::vector<std::string> joined(segments.size());
  std::vector<bool> translated(segments.size(), false);
  for (size_t k = 0; k < count; ++k) translated[units.units[first_unit + k].segment] = true;
  for (size_t s = 0; s < segments.size(); ++s)
    if (!translated[s]) joined[s] = segments[s].content;
  size_t last_segment = 0;
  for (size_t k = 0; k < translations.size(); ++k) {
    const size_t u = first_unit + k;
    const DocumentUnits::Unit& unit = units.units[u];
    std::string& target = joined[unit.segment];
    const bool continues = k > 0 && units.units[u - 1].segment == unit.segment;
    if (continues && !target.empty()) {
      const std::string& before = units.sources[u - 1];
      const std::string& after = units.sources[u];
      if (std::isspace(static_cast<unsigned char>(before.back())) || std::isspace(static_cast<unsigned char>(after.front())))
        target += ' ';
    }
    target += translations[k];
    last_segment = unit.segment;
  }
  if (translations.size() == count) return join_segments(segments, joined);
  if (translations.empty()) return "";
  std::string out;
  for (size_t s = 0; s <= last_segment; ++s) {
    out += segments[s].leading;
    out += joined[s];
    if (s < last_segment) out += segments[s].trailing;
  }
  return out;
}

std::vector<std::string> join_documents(const DocumentUnits& units, std::span<const std::string> translations) {
  if (translations.size() != units.units.size())
    throw Error("join_documents: " + std::to_string(translations.size()) + " translations for " +
                std::to_string(units.units.size()) + " units");
  std::vector<std::string> out;
  out.reserve(units.segments.size());
  size_t first_unit = 0;
  for (size_t t = 0; t < units.segments.size(); ++t) {
    size_t count = 0;
    while (first_unit + count < units.units.size() && units.units[first_unit + count].text == t) ++count;
    out.push_back(join_document(units, t, first_unit, translations.subspan(first_unit, count)));
    first_unit += count;
  }
  return out;
}

}  // namespace opusrt
