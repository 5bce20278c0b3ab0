#pragma once

// Helpers of the HTML tests: the tags of a document in order, and its text without them (a plain
// scan for '<' ... '>', enough for the documents the tests write and the output they check).
#include <string>
#include <vector>

namespace opusrt::test {

inline std::vector<std::string> tags_of(const std::string& html) {
  std::vector<std::string> tags;
  for (size_t open = html.find('<'); open != std::string::npos; open = html.find('<', open + 1)) {
    const size_t close = html.find('>', open);
    if (close == std::string::npos) break;
    tags.push_back(html.substr(open, close - open + 1));
    open = close;
  }
  return tags;
}

inline std::string strip_tags(const std::string& html) {
  std::string text;
  size_t position = 0;
  for (size_t open = html.find('<'); open != std::string::npos; open = html.find('<', position)) {
    const size_t close = html.find('>', open);
    if (close == std::string::npos) break;
    text += html.substr(position, open - position);
    position = close + 1;
  }
  return text + html.substr(std::min(position, html.size()));
}

// The text between the first `open` and the `close` after it ("" when absent).
inline std::string between(const std::string& html, const std::string& open, const std::string& close) {
  const size_t begin = html.find(open);
  if (begin == std::string::npos) return "";
  const size_t end = html.find(close, begin + open.size());
  if (end == std::string::npos) return "";
  return html.substr(begin + open.size(), end - begin - open.size());
}

}  // namespace opusrt::test
