// opusrt/text_units.h: split_documents / join_document (src/text/document_batcher.h) with the
// Translator's own measure of "fits the model", behind a public type so that callers that
// schedule units themselves (the server) need nothing from src/.
#include "opusrt/text_units.h"

#include "text/document_batcher.h"
#include "translator/translator_impl.h"

namespace opusrt {

struct TextUnits::Impl {
  DocumentUnits document;
  std::vector<Unit> units;
  std::vector<size_t> first_unit;  // per text, and one past the last unit at the end
};

TextUnits::TextUnits(const Translator& translator, std::span<const std::string> texts, const TranslateOptions& options,
                     SplitMode split)
    : impl_(std::make_unique<Impl>()) {
  const Translator::Impl& model = *translator.impl_;
  impl_->document =
      split_documents(texts, split, [&](std::string_view piece) { return model.fits(piece, options); });
  const DocumentUnits& document = impl_->document;
  impl_->units.reserve(document.units.size());
  impl_->first_unit.assign(texts.size() + 1, document.units.size());
  for (size_t u = document.units.size(); u-- > 0;) impl_->first_unit[document.units[u].text] = u;
  for (size_t t = texts.size(); t-- > 0;)  // a text without units starts where the next one does
    impl_->first_unit[t] = std::min(impl_->first_unit[t], impl_->first_unit[t + 1]);
  for (size_t u = 0; u < document.units.size(); ++u)
    impl_->units.push_back({document.units[u].text, document.units[u].first, document.sources[u]});
}

TextUnits::~TextUnits() = default;
TextUnits::TextUnits(TextUnits&&) noexcept = default;
TextUnits& TextUnits::operator=(TextUnits&&) noexcept = default;

size_t TextUnits::text_count() const { return impl_->document.segments.size(); }

const std::vector<TextUnits::Unit>& TextUnits::units() const { return impl_->units; }

size_t TextUnits::first_unit(size_t text) const {
  if (text >= text_count())
    throw Error("TextUnits: text " + std::to_string(text) + " of " + std::to_string(text_count()));
  return impl_->first_unit[text];
}

size_t TextUnits::unit_count(size_t text) const { return impl_->first_unit.at(text + 1) - first_unit(text); }

const std::string& TextUnits::error(size_t text) const {
  first_unit(text);  // range check
  return impl_->document.errors[text];
}

std::vector<std::string> TextUnits::join(std::span<const std::string> translations) const {
  return join_documents(impl_->document, translations);
}

std::string TextUnits::join(size_t text, std::span<const std::string> translations) const {
  return join_document(impl_->document, text, first_unit(text), translations);
}

TranslateOptions TextUnits::unit_options(const TranslateOptions& options, const Unit& unit) {
  TranslateOptions out = options;
  if (!unit.first) {
    out.target_prefix.clear();
    out.target_prefix_ids.clear();
  }
  return out;
}

}  // namespace opusrt
