// libFuzzer target: HTML documents (src/text/html_document.h), parsed by gumbo, split into units
// and rebuilt. Checked on every valid UTF-8 input: nothing throws or crashes, rendering is
// deterministic, translations that change length (empty, doubled, with markup characters) are
// placed without error, and an untranslatable document (no unit) comes back byte for byte.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "opusrt/utf8.h"
#include "text/html_document.h"

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_html: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view html(reinterpret_cast<const char*>(data), size);
  if (opusrt::find_invalid_utf8(html)) return 0;  // translate_html refuses it before parsing
  const opusrt::text::HtmlDocument document(html);
  const std::vector<std::string>& units = document.units();
  for (const std::string& unit : units)
    if (unit.empty()) fail("an empty unit");
  const std::string once = document.render(units);
  if (document.render(units) != once) fail("rendering is not deterministic");
  if (units.empty() && once != html) fail("a document without units changed");
  std::vector<std::string> changed;
  for (size_t i = 0; i < units.size(); ++i) {
    switch (i % 3) {
      case 0: changed.emplace_back(); break;
      case 1: changed.push_back(units[i] + " <&> " + units[i]); break;
      default: changed.push_back(units[i].substr(units[i].size() / 2)); break;
    }
  }
  (void)document.render(changed);
  return 0;
}
