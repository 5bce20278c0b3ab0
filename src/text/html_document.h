#pragma once

// HTML in, HTML out: the text of a document as plain-text units to translate, and the document
// rebuilt around their translations. Parsed by gumbo (Google's HTML5 parser, Debian's
// libgumbo-dev), which tells where every tag and text node sits in the source: everything that
// is not translated text (tags, attributes, comments, entities outside translated text, the
// whitespace between blocks) is copied byte for byte from the input.
//
//   HtmlDocument document("<p>Click <b>Save</b> now.</p>");
//   // document.units(): {"Click Save now.", "Save"}
//   std::string html = document.render({"Cliquez sur Enregistrer maintenant.", "Enregistrer"});
//   // "<p>Cliquez sur <b>Enregistrer</b> maintenant.</p>"
//
// Units: the text of each block (a <p>, <li>, <td>, <h1>, ... or text between blocks), inline
// markup included, as one unit with its whitespace collapsed, so that a sentence is translated
// as a sentence; then the text of each inline element (<b>, <a>, <em>, <span>, ...) as a unit of
// its own. Untouched: <script>, <style>, <code>, <pre>, <textarea>, <template>, <svg>, <math>,
// elements with translate="no" (and their content, unless an inner translate="yes") or class
// "notranslate", and text without a letter (numbers, punctuation: the model could only mangle it).
//
// Placing inline tags back: the model translates the whole block; an inline element's tags go
// around the translation of its own text where that appears in the block's translation (exact,
// then ignoring ASCII case), else around its source text where that appears (names, numbers),
// else around the proportional position of its source text, widened to whole words. Nested
// elements are placed inside their parent, siblings in order. An inline <code> or translate="no"
// element is copied as it is, in place of its text in the translation (or at the proportional
// position when the model changed that text). Void elements (<br>, <img>) and comments inside a
// sentence go to the proportional position of where they were.
//
// Translated text is escaped (& < >); a character the source wrote as an entity (&nbsp;, &copy;,
// &#8217;) is written with the same entity.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace opusrt::text {

class HtmlDocument {
 public:
  // Never fails: gumbo parses any input as a browser would (invalid UTF-8 is the caller's check).
  explicit HtmlDocument(std::string_view html);
  ~HtmlDocument();
  HtmlDocument(HtmlDocument&&) noexcept;
  HtmlDocument& operator=(HtmlDocument&&) noexcept;

  // The plain-text units to translate, in a fixed order (never empty strings).
  const std::vector<std::string>& units() const;

  // The document with each unit replaced by translations[i] (same order and size as units();
  // throws opusrt::Error otherwise).
  std::string render(const std::vector<std::string>& translations) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opusrt::text
