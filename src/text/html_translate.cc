// opusrt/html.h: HtmlDocument (this folder) around a translation function. The Translator
// overload is a thin shell over the public translate_texts.
#include "opusrt/html.h"

#include "opusrt/utf8.h"
#include "text/html_document.h"

namespace opusrt {

std::string translate_html(std::string_view html, const TranslateUnits& translate) {
  if (const std::optional<size_t> bad = find_invalid_utf8(html))
    throw Error("HTML: not valid UTF-8 (byte " + std::to_string(*bad) + ")");
  const text::HtmlDocument document(html);
  if (document.units().empty()) return std::string(html);
  return document.render(translate(document.units()));
}

std::string translate_html(const Translator& translator, std::string_view html, const TranslateOptions& options,
                           SplitMode split, size_t max_batch) {
  return translate_html(html, [&](const std::vector<std::string>& units) {
    std::vector<std::string> texts;
    texts.reserve(units.size());
    for (TextTranslation& result : translator.translate_texts(units, options, split, max_batch))
      texts.push_back(std::move(result.text));
    return texts;
  });
}

}  // namespace opusrt
