#include "runtime/huge_pages.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace opusrt::runtime {
namespace {

constexpr uintptr_t kHugePage = uintptr_t{2} << 20;

#if defined(__linux__) && !defined(MADV_COLLAPSE)
constexpr int MADV_COLLAPSE = 25;  // Linux 6.1; older headers lack it, older kernels say EINVAL
#endif

}  // namespace

std::vector<AddressRange> parse_anonymous_mappings(const std::string& maps_text) {
  // Each line: "begin-end perms offset dev inode [path]". Anonymous: inode 0 and no path, or
  // the [heap]. Private read-write only: weights live there, never in code or shared memory.
  std::vector<AddressRange> ranges;
  std::istringstream lines(maps_text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string span, perms, offset, device, inode, path;
    if (!(fields >> span >> perms >> offset >> device >> inode)) continue;
    fields >> path;
    if (perms.size() < 4 || perms[0] != 'r' || perms[1] != 'w' || perms[3] != 'p') continue;
    if (inode != "0" || !(path.empty() || path == "[heap]")) continue;
    const size_t dash = span.find('-');
    if (dash == std::string::npos) continue;
    try {
      const uintptr_t begin = std::stoull(span.substr(0, dash), nullptr, 16);
      const uintptr_t end = std::stoull(span.substr(dash + 1), nullptr, 16);
      if (end > begin) ranges.push_back({begin, end});
    } catch (const std::exception&) {
      continue;  // not a maps line
    }
  }
  std::sort(ranges.begin(), ranges.end(), [](const AddressRange& a, const AddressRange& b) { return a.begin < b.begin; });
  return ranges;
}

std::vector<AddressRange> anonymous_mappings() {
  std::ifstream maps("/proc/self/maps");
  if (!maps) return {};
  std::ostringstream text;
  text << maps.rdbuf();
  return parse_anonymous_mappings(text.str());
}

std::vector<AddressRange> added_huge_page_spans(const std::vector<AddressRange>& before,
                                                const std::vector<AddressRange>& after) {
  std::vector<AddressRange> added;
  auto keep = [&](uintptr_t begin, uintptr_t end) {
    begin = (begin + kHugePage - 1) / kHugePage * kHugePage;
    end = end / kHugePage * kHugePage;
    if (end > begin) added.push_back({begin, end});
  };
  size_t b = 0;
  for (const AddressRange& range : after) {
    uintptr_t cursor = range.begin;
    while (b < before.size() && before[b].end <= cursor) ++b;
    for (size_t i = b; i < before.size() && before[i].begin < range.end; ++i) {
      if (before[i].begin > cursor) keep(cursor, before[i].begin);
      cursor = std::max(cursor, before[i].end);
    }
    if (cursor < range.end) keep(cursor, range.end);
  }
  return added;
}

HugePageReport back_with_huge_pages(const std::vector<AddressRange>& ranges) {
  HugePageReport report;
#if defined(__linux__)
  for (const AddressRange& range : ranges) {
    void* start = reinterpret_cast<void*>(range.begin);
    if (madvise(start, range.size(), MADV_HUGEPAGE) != 0) continue;
    report.advised_bytes += range.size();
    if (madvise(start, range.size(), MADV_COLLAPSE) == 0) report.collapsed_bytes += range.size();
  }
#else
  (void)ranges;
#endif
  return report;
}

std::string transparent_huge_page_mode() {
  std::ifstream file("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string text;
  std::getline(file, text);
  const size_t open = text.find('['), close = text.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return "";
  return text.substr(open + 1, close - open - 1);
}

}  // namespace opusrt::runtime
