#pragma once

// Translating HTML: the text is translated, the markup kept (tags, attributes, comments,
// entities, the whitespace between blocks). <script>, <style>, <code>, <pre> and
// translate="no" content stay as they are; a sentence with inline markup (`Click <b>Save</b>
// now.`) is translated as one sentence and the tags are put back around the words they wrapped,
// as well as the model's output allows (src/text/html_document.h says how).
//
//   opusrt::Translator translator("opus-mt-en-de/");
//   std::string html = opusrt::translate_html(translator, "<p>Click <b>Save</b> now.</p>");
//
//   // Or with any translation function over plain-text units (a server's batching queue, ...):
//   std::string html = opusrt::translate_html(page, [&](const std::vector<std::string>& units) {
//     return my_translate_all(units);  // one translation per unit, same order
//   });
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "opusrt/translator.h"

namespace opusrt {

// Gets the plain-text units of a document, returns their translations (same order and size).
using TranslateUnits = std::function<std::vector<std::string>(const std::vector<std::string>& units)>;

// Throws opusrt::Error when `html` is not valid UTF-8 or `translate` returns the wrong number of
// translations (and whatever `translate` throws).
std::string translate_html(std::string_view html, const TranslateUnits& translate);

// With a Translator: the units go through translate_texts (split as `split` says, batched).
std::string translate_html(const Translator& translator, std::string_view html, const TranslateOptions& options = {},
                           SplitMode split = SplitMode::kAuto, size_t max_batch = 32);

}  // namespace opusrt
