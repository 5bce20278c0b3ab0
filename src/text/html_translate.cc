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
    const auto translate = [&](std::span<const std::string> part, const TranslateOptions& part_options) {
      for (TextTranslation& result : translator.translate_texts(part, part_options, split, max_batch))
        texts.push_back(std::move(result.text));
    };
    if (options.target_prefix.empty() && options.target_prefix_ids.empty()) {
      translate(units, options);
    } else {  // a forced prefix belongs to the document's first block only, as to a text's first sentence
      TranslateOptions rest = options;
      rest.target_prefix.clear();
      rest.target_prefix_ids.clear();
      translate(std::span(units).first(1), options);
      translate(std::span(units).subspan(1), rest);
    }
    return texts;
  });
}

}  // namespace opusrt
