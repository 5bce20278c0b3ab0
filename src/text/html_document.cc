#include "text/html_document.h"

#include <gumbo.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "opusrt/error.h"

namespace opusrt::text {
namespace {

// What a run (a block's inline content) is made of.
struct InlineNode {
  enum class Kind {
    kText,     // a text node: its decoded text is part of the unit
    kElement,  // an inline element (<b>, <a>, ...): tags placed back around its translation
    kOpaque,   // an inline element copied as it is (<code>, translate="no"); its text is in the unit
    kAtom,     // a void element or a comment: no text, placed at a proportional position
  };
  Kind kind = Kind::kText;
  size_t source_begin = 0, source_end = 0;  // bytes of the input, tags included
  std::string_view open_tag, close_tag;     // kElement: the original tags
  size_t text_begin = 0, text_end = 0;      // bytes of the run's unit text this node covers
  int unit = -1;                            // kElement: its own unit, -1 when it has no text
  bool replaces_space = false;              // kAtom: a <br>, which stands for a space in the unit
  std::vector<InlineNode> children;         // kElement
};

struct Run {
  size_t source_begin = 0, source_end = 0;
  std::string text;  // the unit: decoded, whitespace collapsed, trimmed
  int unit = -1;     // -1: not translated (no letter outside opaque elements); copied as it is
  std::vector<InlineNode> children;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

bool has_letter(std::string_view text) {
  // Any non-ASCII byte counts: letters of other scripts (and the odd symbol, which is harmless).
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x80 || std::isalpha(byte);
  });
}

// Elements whose content is never translated, wherever they are.
bool is_untouched(const GumboNode* node) {
  if (node->type == GUMBO_NODE_TEMPLATE) return true;
  if (node->type != GUMBO_NODE_ELEMENT) return false;
  if (node->v.element.tag_namespace != GUMBO_NAMESPACE_HTML) return true;  // <svg>, <math>
  switch (node->v.element.tag) {
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_CODE:
    case GUMBO_TAG_PRE:
    case GUMBO_TAG_TEXTAREA:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_OBJECT:
      return true;
    default:
      return false;
  }
}

// Phrasing elements that may sit inside a sentence.
bool is_inline_tag(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_A: case GUMBO_TAG_ABBR: case GUMBO_TAG_ACRONYM: case GUMBO_TAG_B: case GUMBO_TAG_BDI:
    case GUMBO_TAG_BDO: case GUMBO_TAG_BIG: case GUMBO_TAG_CITE: case GUMBO_TAG_CODE: case GUMBO_TAG_DATA:
    case GUMBO_TAG_DEL: case GUMBO_TAG_DFN: case GUMBO_TAG_EM: case GUMBO_TAG_FONT: case GUMBO_TAG_I:
    case GUMBO_TAG_INS: case GUMBO_TAG_KBD: case GUMBO_TAG_LABEL: case GUMBO_TAG_MARK: case GUMBO_TAG_Q:
    case GUMBO_TAG_S: case GUMBO_TAG_SAMP: case GUMBO_TAG_SMALL: case GUMBO_TAG_SPAN: case GUMBO_TAG_STRIKE:
    case GUMBO_TAG_STRONG: case GUMBO_TAG_SUB: case GUMBO_TAG_SUP: case GUMBO_TAG_TIME: case GUMBO_TAG_TT:
    case GUMBO_TAG_U: case GUMBO_TAG_VAR:
      return true;
    default:
      return false;
  }
}

bool is_void_inline_tag(GumboTag tag) { return tag == GUMBO_TAG_BR || tag == GUMBO_TAG_IMG || tag == GUMBO_TAG_WBR; }

// translate="yes" / "no" (HTML's attribute, inherited), class "notranslate" (Google's convention).
bool translate_of(const GumboNode* node, bool inherited) {
  if (node->type != GUMBO_NODE_ELEMENT) return inherited;
  const GumboVector* attributes = &node->v.element.attributes;
  if (const GumboAttribute* translate = gumbo_get_attribute(attributes, "translate")) {
    std::string value(translate->value);
    std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
    if (value == "no") return false;
    if (value == "yes" || value.empty()) return true;
  }
  if (const GumboAttribute* classes = gumbo_get_attribute(attributes, "class")) {
    std::string_view list(classes->value);
    for (size_t start = 0; start < list.size();) {
      while (start < list.size() && is_space(list[start])) ++start;
      size_t end = start;
      while (end < list.size() && !is_space(list[end])) ++end;
      if (list.substr(start, end - start) == "notranslate") return false;
      start = end;
    }
  }
  return inherited;
}

struct SourceRange {
  size_t begin = 0, end = 0;
};

// Where a node sits in the input; nullopt when gumbo made it up (an implied tag) and it cannot
// be moved as source bytes.
std::optional<SourceRange> source_range(const GumboNode* node) {
  switch (node->type) {
    case GUMBO_NODE_TEXT:
    case GUMBO_NODE_WHITESPACE:
    case GUMBO_NODE_COMMENT:
    case GUMBO_NODE_CDATA: {
      const GumboText& text = node->v.text;
      if (text.original_text.length == 0) return std::nullopt;
      return SourceRange{text.start_pos.offset, text.start_pos.offset + text.original_text.length};
    }
    case GUMBO_NODE_ELEMENT: {
      const GumboElement& element = node->v.element;
      if (element.original_tag.length == 0) return std::nullopt;
      if (is_void_inline_tag(element.tag))
        return SourceRange{element.start_pos.offset, element.start_pos.offset + element.original_tag.length};
      if (element.original_end_tag.length == 0) return std::nullopt;
      return SourceRange{element.start_pos.offset, element.end_pos.offset + element.original_end_tag.length};
    }
    default:
      return std::nullopt;
  }
}

// A text node's source spans markup gumbo dropped (a stray </span>, a tag cut off at the end):
// its bytes are not its text, so it stays as it is.
bool hides_markup(const GumboStringPiece& original) {
  const std::string_view text(original.data, original.length);
  for (size_t lt = text.find('<'); lt != std::string_view::npos; lt = text.find('<', lt + 1)) {
    if (lt + 1 >= text.size()) return true;
    const auto next = static_cast<unsigned char>(text[lt + 1]);
    if (std::isalpha(next) || next == '/' || next == '!' || next == '?') return true;
  }
  return false;
}

// Can `node` be part of a sentence: text, a comment, a void inline element, an opaque inline
// element, or an inline element whose children all can, laid out in the source without gaps
// (gumbo moves nodes around in broken markup; those are left where they are).
bool is_inline_candidate(const GumboNode* node, bool translate) {
  switch (node->type) {
    case GUMBO_NODE_TEXT:
    case GUMBO_NODE_WHITESPACE:
      return source_range(node).has_value() && !hides_markup(node->v.text.original_text);
    case GUMBO_NODE_COMMENT:
      return source_range(node).has_value();
    case GUMBO_NODE_ELEMENT:
      break;
    default:
      return false;
  }
  const GumboElement& element = node->v.element;
  if (element.tag_namespace != GUMBO_NAMESPACE_HTML) return false;
  const bool opaque = element.tag == GUMBO_TAG_CODE || !translate_of(node, translate);
  if (!is_inline_tag(element.tag) && !is_void_inline_tag(element.tag)) return false;
  const std::optional<SourceRange> range = source_range(node);
  if (!range) return false;
  if (is_void_inline_tag(element.tag) || opaque) return true;
  size_t position = element.start_pos.offset + element.original_tag.length;
  for (unsigned i = 0; i < element.children.length; ++i) {
    const auto* child = static_cast<const GumboNode*>(element.children.data[i]);
    if (!is_inline_candidate(child, translate)) return false;
    const std::optional<SourceRange> child_range = source_range(child);
    if (!child_range || child_range->begin != position) return false;
    position = child_range->end;
  }
  return position == element.end_pos.offset;
}

// Builds a run's unit text: decoded text with whitespace collapsed to single spaces, trimmed.
class TextBuilder {
 public:
  void append(std::string_view decoded) {
    for (const char c : decoded) {
      if (is_space(c)) {
        pending_space_ = !text_.empty();
        continue;
      }
      flush_space();
      text_.push_back(c);
    }
  }
  // Where an element's text starts: after the space that separates it from the text before.
  size_t element_begin() {
    flush_space();
    return text_.size();
  }
  size_t size() const { return text_.size(); }
  std::string take() { return std::move(text_); }

 private:
  void flush_space() {
    if (pending_space_) text_.push_back(' ');
    pending_space_ = false;
  }
  std::string text_;
  bool pending_space_ = false;
};

void append_all_text(const GumboNode* node, TextBuilder& text) {
  if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_WHITESPACE || node->type == GUMBO_NODE_CDATA) {
    text.append(node->v.text.text);
  } else if (node->type == GUMBO_NODE_ELEMENT || node->type == GUMBO_NODE_TEMPLATE) {
    for (unsigned i = 0; i < node->v.element.children.length; ++i)
      append_all_text(static_cast<const GumboNode*>(node->v.element.children.data[i]), text);
  }
}

size_t utf8_floor(std::string_view text, size_t position) {
  position = std::min(position, text.size());
  while (position > 0 && position < text.size() && (static_cast<unsigned char>(text[position]) & 0xC0) == 0x80)
    --position;
  return position;
}

// Case-insensitive (ASCII) search of `needle` in text[from, to).
size_t find_ignoring_case(std::string_view text, std::string_view needle, size_t from, size_t to) {
  if (needle.empty() || to < from || to - from < needle.size()) return std::string_view::npos;
  for (size_t i = from; i + needle.size() <= to; ++i) {
    bool equal = true;
    for (size_t k = 0; k < needle.size() && equal; ++k)
      equal = std::tolower(static_cast<unsigned char>(text[i + k])) == std::tolower(static_cast<unsigned char>(needle[k]));
    if (equal) return i;
  }
  return std::string_view::npos;
}

std::optional<std::pair<size_t, size_t>> find_in(std::string_view text, std::string_view needle, size_t from, size_t to) {
  if (needle.empty() || to > text.size() || from > to) return std::nullopt;
  const size_t exact = text.substr(0, to).find(needle, from);
  if (exact != std::string_view::npos) return std::make_pair(exact, exact + needle.size());
  const size_t folded = find_ignoring_case(text, needle, from, to);
  if (folded != std::string_view::npos) return std::make_pair(folded, folded + needle.size());
  return std::nullopt;
}

}  // namespace

struct HtmlDocument::Impl {
  std::string source;
  std::vector<Run> runs;
  std::vector<std::string> units;
  std::map<std::string, std::string, std::less<>> entities;  // decoded text -> the entity the source used
  std::map<std::string, std::string, std::less<>> entity_cache;

  void collect(const GumboNode* container, bool translate);
  void build_run(const std::vector<const GumboNode*>& nodes);
  void add_inline(const GumboNode* node, bool translate, TextBuilder& text, std::vector<InlineNode>& out,
                  bool& translatable);
  void learn_entities(std::string_view original);
  std::string escape(std::string_view text) const;
  void render_range(std::string_view translation, size_t begin, size_t end,
                    const std::vector<InlineNode>& children, const std::vector<std::pair<size_t, size_t>>& places,
                    size_t& next_place, std::string& out) const;
};

// Decoded form of each entity in `original` (a text node's source), through gumbo itself.
void HtmlDocument::Impl::learn_entities(std::string_view original) {
  for (size_t amp = original.find('&'); amp != std::string_view::npos; amp = original.find('&', amp + 1)) {
    const size_t semicolon = original.find(';', amp);
    if (semicolon == std::string_view::npos || semicolon - amp > 32) continue;
    const std::string entity(original.substr(amp, semicolon - amp + 1));
    auto cached = entity_cache.find(entity);
    if (cached == entity_cache.end()) {
      std::string decoded;
      GumboOutput* output = gumbo_parse_with_options(&kGumboDefaultOptions, entity.data(), entity.size());
      // document -> html -> body -> text
      const GumboNode* html = output->root;
      for (unsigned i = 0; i < html->v.element.children.length; ++i) {
        const auto* body = static_cast<const GumboNode*>(html->v.element.children.data[i]);
        if (body->type != GUMBO_NODE_ELEMENT || body->v.element.tag != GUMBO_TAG_BODY) continue;
        if (body->v.element.children.length == 1) {
          const auto* text = static_cast<const GumboNode*>(body->v.element.children.data[0]);
          if (text->type == GUMBO_NODE_TEXT) decoded = text->v.text.text;
        }
      }
      gumbo_destroy_output(&kGumboDefaultOptions, output);
      cached = entity_cache.emplace(entity, decoded).first;
    }
    const std::string& decoded = cached->second;
    // Only what escaping would not write anyway, and a character rather than text.
    if (decoded.empty() || decoded == entity || decoded == "&" || decoded == "<" || decoded == ">") continue;
    entities.emplace(decoded, entity);
  }
}

std::string HtmlDocument::Impl::escape(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const size_t length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    const std::string_view character = text.substr(i, length);
    i += character.size();
    if (character == "&") {
      out += "&amp;";
    } else if (character == "<") {
      out += "&lt;";
    } else if (character == ">") {
      out += "&gt;";
    } else if (const auto entity = entities.find(character); entity != entities.end()) {
      out += entity->second;
    } else {
      out += character;
    }
  }
  return out;
}

void HtmlDocument::Impl::add_inline(const GumboNode* node, bool translate, TextBuilder& text,
                                    std::vector<InlineNode>& out, bool& translatable) {
  const SourceRange range = *source_range(node);
  InlineNode inline_node;
  inline_node.source_begin = range.begin;
  inline_node.source_end = range.end;
  if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_WHITESPACE) {
    inline_node.kind = InlineNode::Kind::kText;
    inline_node.text_begin = text.size();
    text.append(node->v.text.text);
    learn_entities(node->v.text.original_text.data == nullptr
                       ? std::string_view()
                       : std::string_view(node->v.text.original_text.data, node->v.text.original_text.length));
    if (has_letter(node->v.text.text)) translatable = true;
    inline_node.text_end = text.size();
    out.push_back(std::move(inline_node));
    return;
  }
  if (node->type == GUMBO_NODE_COMMENT || is_void_inline_tag(node->v.element.tag)) {
    // A line break separates words as a space does.
    inline_node.replaces_space = node->type == GUMBO_NODE_ELEMENT && node->v.element.tag == GUMBO_TAG_BR;
    inline_node.kind = InlineNode::Kind::kAtom;
    inline_node.text_begin = inline_node.text_end = text.size();
    if (inline_node.replaces_space) text.append(" ");
    out.push_back(std::move(inline_node));
    return;
  }
  const GumboElement& element = node->v.element;
  const bool element_translate = translate_of(node, translate);
  inline_node.text_begin = text.element_begin();
  if (element.tag == GUMBO_TAG_CODE || !element_translate) {
    // Its text joins the unit (the sentence reads right) and is looked for in the translation.
    inline_node.kind = InlineNode::Kind::kOpaque;
    append_all_text(node, text);
    inline_node.text_end = text.size();
    out.push_back(std::move(inline_node));
    return;
  }
  inline_node.kind = InlineNode::Kind::kElement;
  inline_node.open_tag = std::string_view(element.original_tag.data, element.original_tag.length);
  inline_node.close_tag = std::string_view(element.original_end_tag.data, element.original_end_tag.length);
  for (unsigned i = 0; i < element.children.length; ++i)
    add_inline(static_cast<const GumboNode*>(element.children.data[i]), element_translate, text,
               inline_node.children, translatable);
  inline_node.text_end = text.size();
  out.push_back(std::move(inline_node));
}

void HtmlDocument::Impl::build_run(const std::vector<const GumboNode*>& all_nodes) {
  // Comments, line breaks and blank text at either end stay outside the sentence, as they are.
  const auto is_edge = [](const GumboNode* node) {
    return node->type == GUMBO_NODE_WHITESPACE || node->type == GUMBO_NODE_COMMENT ||
           (node->type == GUMBO_NODE_ELEMENT && is_void_inline_tag(node->v.element.tag));
  };
  auto first = all_nodes.begin(), last = all_nodes.end();
  while (first != last && is_edge(*first)) ++first;
  while (last != first && is_edge(*(last - 1))) --last;
  const std::vector<const GumboNode*> nodes(first, last);
  if (nodes.empty()) return;
  Run run;
  run.source_begin = source_range(nodes.front())->begin;
  run.source_end = source_range(nodes.back())->end;
  TextBuilder text;
  bool translatable = false;
  for (const GumboNode* node : nodes) add_inline(node, true, text, run.children, translatable);
  run.text = text.take();
  if (!translatable || run.text.empty()) return;  // nothing to translate: the source stays as it is
  run.unit = static_cast<int>(units.size());
  units.push_back(run.text);
  // Each inline element's own text, for placing its tags (in document order).
  std::vector<InlineNode*> stack;
  for (InlineNode& child : run.children) stack.push_back(&child);
  std::reverse(stack.begin(), stack.end());
  while (!stack.empty()) {
    InlineNode* node = stack.back();
    stack.pop_back();
    if (node->kind != InlineNode::Kind::kElement) continue;
    const std::string_view own = std::string_view(run.text).substr(node->text_begin, node->text_end - node->text_begin);
    if (has_letter(own)) {
      node->unit = static_cast<int>(units.size());
      units.emplace_back(own);
    }
    for (auto it = node->children.rbegin(); it != node->children.rend(); ++it) stack.push_back(&*it);
  }
  runs.push_back(std::move(run));
}

// The container's children, in order: maximal gap-free sequences of inline candidates become
// runs; anything else ends the run and is descended into (unless untouched).
void HtmlDocument::Impl::collect(const GumboNode* container, bool translate) {
  const GumboVector* children = container->type == GUMBO_NODE_DOCUMENT ? &container->v.document.children
                                                                       : &container->v.element.children;
  std::vector<const GumboNode*> sequence;
  size_t sequence_end = 0;
  for (unsigned i = 0; i < children->length; ++i) {
    const auto* child = static_cast<const GumboNode*>(children->data[i]);
    if (translate && is_inline_candidate(child, translate)) {
      const SourceRange range = *source_range(child);
      if (!sequence.empty() && range.begin != sequence_end) {
        build_run(sequence);
        sequence.clear();
      }
      sequence.push_back(child);
      sequence_end = range.end;
      continue;
    }
    build_run(sequence);
    sequence.clear();
    if (is_untouched(child)) continue;
    if (child->type == GUMBO_NODE_ELEMENT) collect(child, translate_of(child, translate));
  }
  build_run(sequence);
}

HtmlDocument::HtmlDocument(std::string_view html) : impl_(std::make_unique<Impl>()) {
  impl_->source = std::string(html);
  GumboOutput* output =
      gumbo_parse_with_options(&kGumboDefaultOptions, impl_->source.data(), impl_->source.size());
  try {
    impl_->collect(output->document, true);
  } catch (...) {
    gumbo_destroy_output(&kGumboDefaultOptions, output);
    throw;
  }
  gumbo_destroy_output(&kGumboDefaultOptions, output);
  // Runs come out in document order, but broken markup may have made gumbo reorder nodes: keep
  // only runs that follow each other in the source (the others stay as they are in the source).
  std::sort(impl_->runs.begin(), impl_->runs.end(),
            [](const Run& a, const Run& b) { return a.source_begin < b.source_begin; });
}

HtmlDocument::~HtmlDocument() = default;
HtmlDocument::HtmlDocument(HtmlDocument&&) noexcept = default;
HtmlDocument& HtmlDocument::operator=(HtmlDocument&&) noexcept = default;

const std::vector<std::string>& HtmlDocument::units() const { return impl_->units; }

namespace {

// Moves a proportional position to a word boundary when the translation has spaces.
size_t snap_to_word(std::string_view text, size_t position, size_t low, size_t high, bool is_start) {
  position = utf8_floor(text, std::clamp(position, low, high));
  if (text.substr(low, high - low).find(' ') == std::string_view::npos) return position;
  size_t left = position, right = position;
  while (left > low && text[left - 1] != ' ') --left;
  while (right < high && text[right] != ' ') ++right;
  if (is_start) return position - left <= right - position ? left : std::min(high, right + 1);
  return position - left < right - position ? (left > low ? left - 1 : low) : right;
}

// Places each child of a range in the translation, in order (see the header comment).
void place_children(std::string_view translation, std::string_view unit_text, const std::vector<std::string>& translations,
                    const std::vector<InlineNode>& children, size_t parent_text_begin, size_t parent_text_end,
                    size_t low, size_t high, std::vector<std::pair<size_t, size_t>>& places) {
  size_t cursor = low;
  const double source_span = static_cast<double>(std::max<size_t>(1, parent_text_end - parent_text_begin));
  const double target_span = static_cast<double>(high - low);
  auto proportional = [&](size_t source_position) {
    const double fraction = static_cast<double>(source_position - parent_text_begin) / source_span;
    return low + static_cast<size_t>(fraction * target_span + 0.5);
  };
  for (const InlineNode& child : children) {
    if (child.kind == InlineNode::Kind::kText) continue;
    std::optional<std::pair<size_t, size_t>> place;
    const std::string_view own = unit_text.substr(child.text_begin, child.text_end - child.text_begin);
    if (child.kind == InlineNode::Kind::kElement && child.unit >= 0)
      place = find_in(translation, translations[static_cast<size_t>(child.unit)], cursor, high);
    if (!place && child.kind != InlineNode::Kind::kAtom) place = find_in(translation, own, cursor, high);
    if (!place) {
      size_t begin = proportional(child.text_begin), end = proportional(child.text_end);
      if (child.kind == InlineNode::Kind::kAtom && child.replaces_space) {
        // A <br> takes the place of the space nearest to where it was.
        begin = end = snap_to_word(translation, begin, cursor, high, true);
        if (begin > cursor && translation[begin - 1] == ' ') {
          place = std::make_pair(begin - 1, begin);
        } else if (begin < high && translation[begin] == ' ') {
          place = std::make_pair(begin, begin + 1);
        }
      } else if (child.kind == InlineNode::Kind::kAtom || child.kind == InlineNode::Kind::kOpaque) {
        begin = end = snap_to_word(translation, begin, cursor, high, true);
      } else {
        begin = snap_to_word(translation, begin, cursor, high, true);
        end = std::max(begin, snap_to_word(translation, end, begin, high, false));
      }
      if (!place) place = std::make_pair(begin, end);
    }
    places.push_back(*place);
    if (child.kind == InlineNode::Kind::kElement)
      place_children(translation, unit_text, translations, child.children, child.text_begin, child.text_end,
                     place->first, place->second, places);
    cursor = place->second;
  }
}

}  // namespace

void HtmlDocument::Impl::render_range(std::string_view translation, size_t begin, size_t end,
                                      const std::vector<InlineNode>& children,
                                      const std::vector<std::pair<size_t, size_t>>& places, size_t& next_place,
                                      std::string& out) const {
  size_t cursor = begin;
  for (const InlineNode& child : children) {
    if (child.kind == InlineNode::Kind::kText) continue;
    const auto [child_begin, child_end] = places.at(next_place++);
    out += escape(translation.substr(cursor, child_begin - cursor));
    if (child.kind == InlineNode::Kind::kElement) {
      out += child.open_tag;
      render_range(translation, child_begin, child_end, child.children, places, next_place, out);
      out += child.close_tag;
    } else {
      out += std::string_view(source).substr(child.source_begin, child.source_end - child.source_begin);
    }
    cursor = child_end;
  }
  out += escape(translation.substr(cursor, end - cursor));
}

std::string HtmlDocument::render(const std::vector<std::string>& translations) const {
  if (translations.size() != impl_->units.size())
    throw Error("HTML: " + std::to_string(translations.size()) + " translations for " +
                std::to_string(impl_->units.size()) + " text units");
  const std::string_view source = impl_->source;
  std::string out;
  out.reserve(source.size() * 2);
  size_t copied = 0;
  for (const Run& run : impl_->runs) {
    if (run.unit < 0 || run.source_begin < copied) continue;  // nothing to translate, or overlapping
    out += source.substr(copied, run.source_begin - copied);
    const std::string_view raw = source.substr(run.source_begin, run.source_end - run.source_begin);
    // The whitespace around the block's text, as written.
    size_t leading = 0, trailing = 0;
    while (leading < raw.size() && is_space(raw[leading])) ++leading;
    while (trailing < raw.size() - leading && is_space(raw[raw.size() - 1 - trailing])) ++trailing;
    out += raw.substr(0, leading);
    std::string_view translation = translations[static_cast<size_t>(run.unit)];
    while (!translation.empty() && is_space(translation.front())) translation.remove_prefix(1);
    while (!translation.empty() && is_space(translation.back())) translation.remove_suffix(1);
    std::vector<std::pair<size_t, size_t>> places;
    place_children(translation, run.text, translations, run.children, 0, run.text.size(), 0, translation.size(), places);
    size_t next_place = 0;
    impl_->render_range(translation, 0, translation.size(), run.children, places, next_place, out);
    out += raw.substr(raw.size() - trailing);
    copied = run.source_end;
  }
  out += source.substr(copied);
  return out;
}

}  // namespace opusrt::text
