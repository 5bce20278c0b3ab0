#pragma once

// Transparent huge pages for the weights ONNX Runtime loads. A cached decoder step reads every
// decoder weight once (about 220 MB for opus-mt-en-zh); on 4 KiB pages that is some 55,000 TLB
// misses per step, on 2 MiB pages a hundred. Linux backs anonymous memory with huge pages only
// where asked (THP mode "madvise", the common default), and ONNX Runtime does not ask, so opusrt
// asks for the memory a session's load added: MADV_HUGEPAGE, then MADV_COLLAPSE (Linux 6.1+)
// to move what is already loaded. Advice only: where the kernel declines, nothing changes.
#include <cstdint>
#include <string>
#include <vector>

namespace opusrt::runtime {

struct AddressRange {
  uintptr_t begin = 0;
  uintptr_t end = 0;  // one past the last byte
  uintptr_t size() const { return end - begin; }
  bool operator==(const AddressRange&) const = default;
};

// The process's private anonymous read-write mappings (heap and mmap'ed blocks), sorted, from
// /proc/self/maps; empty where that file cannot be read.
std::vector<AddressRange> anonymous_mappings();

// Parses /proc/<pid>/maps text (exposed for tests).
std::vector<AddressRange> parse_anonymous_mappings(const std::string& maps_text);

// The parts of `after` not covered by `before` (both sorted, non-overlapping), each trimmed to
// whole 2 MiB pages and kept only if at least one remains.
std::vector<AddressRange> added_huge_page_spans(const std::vector<AddressRange>& before,
                                                const std::vector<AddressRange>& after);

struct HugePageReport {
  uint64_t advised_bytes = 0;    // MADV_HUGEPAGE accepted
  uint64_t collapsed_bytes = 0;  // MADV_COLLAPSE succeeded (already backed by huge pages)
};

// Advises (and collapses) each range; errors are ignored (advice).
HugePageReport back_with_huge_pages(const std::vector<AddressRange>& ranges);

// "always", "madvise" or "never" from /sys/kernel/mm/transparent_hugepage/enabled; "" if unknown.
std::string transparent_huge_page_mode();

}  // namespace opusrt::runtime
