#include "runtime/huge_pages.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace opusrt::runtime {
namespace {

constexpr uintptr_t kMiB = uintptr_t{1} << 20;

TEST(HugePages, ParsesOnlyPrivateAnonymousReadWriteMappings) {
  const std::string maps =
      "55d0c0000000-55d0c0021000 r-xp 00000000 08:01 1234   /usr/bin/opusrt\n"
      "55d0c1000000-55d0c1400000 rw-p 00000000 00:00 0      [heap]\n"
      "7f0000000000-7f0000800000 rw-p 00000000 00:00 0 \n"
      "7f0000800000-7f0000a00000 rw-s 00000000 00:05 77     /dev/shm/x\n"
      "7f0000a00000-7f0000c00000 r--p 00000000 00:00 0 \n"
      "7f0001000000-7f0001200000 rw-p 00000000 08:01 99     /tmp/file.bin\n"
      "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0      [stack]\n"
      "not a maps line\n"
      "7f0000000000-7f0000000000 rw-p 00000000 00:00 0 \n";  // empty: dropped
  const std::vector<AddressRange> ranges = parse_anonymous_mappings(maps);
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], (AddressRange{0x55d0c1000000, 0x55d0c1400000}));
  EXPECT_EQ(ranges[1], (AddressRange{0x7f0000000000, 0x7f0000800000}));
}

TEST(HugePages, AddedSpansAreWhatIsNewInWholeHugePages) {
  const uintptr_t base = 0x7f0000000000;
  // Before: [0, 4 MiB) and [10, 12) MiB. After: the first grew to 9 MiB (merged VMAs), the second
  // is unchanged, and a new 3.5 MiB block appeared at 20 MiB, misaligned by 1 MiB.
  const std::vector<AddressRange> before = {{base, base + 4 * kMiB}, {base + 10 * kMiB, base + 12 * kMiB}};
  const std::vector<AddressRange> after = {
      {base, base + 9 * kMiB}, {base + 10 * kMiB, base + 12 * kMiB}, {base + 21 * kMiB, base + 24 * kMiB + kMiB / 2}};
  const std::vector<AddressRange> added = added_huge_page_spans(before, after);
  ASSERT_EQ(added.size(), 2u);
  EXPECT_EQ(added[0], (AddressRange{base + 4 * kMiB, base + 8 * kMiB}));   // 4..9 MiB, whole 2 MiB pages
  EXPECT_EQ(added[1], (AddressRange{base + 22 * kMiB, base + 24 * kMiB}));  // 21..24.5 MiB
  EXPECT_TRUE(added_huge_page_spans(after, after).empty());
  EXPECT_TRUE(added_huge_page_spans(before, {{base + 30 * kMiB, base + 31 * kMiB}}).empty()) << "under 2 MiB";
  EXPECT_EQ(added_huge_page_spans({}, {{base, base + 4 * kMiB}}).size(), 1u);
}

uint64_t anon_huge_kib_of(uintptr_t begin) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t start = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &start, &end) == 2 && line.find(' ') > line.find('-')) {
      inside = start <= begin && begin < end;
      continue;
    }
    uint64_t kib = 0;
    if (inside && std::sscanf(line.c_str(), "AnonHugePages: %lu kB", &kib) == 1) return kib;
  }
  return 0;
}

TEST(HugePages, AFreshlyLoadedBlockEndsUpOnHugePages) {
  const std::string mode = transparent_huge_page_mode();
  if (mode != "always" && mode != "madvise") GTEST_SKIP() << "transparent huge pages are '" << mode << "' here";
  const size_t bytes = 16 * kMiB;
  void* block = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(block, MAP_FAILED);
  std::memset(block, 1, bytes);  // loaded, as weights are, before any advice
  const uintptr_t begin = reinterpret_cast<uintptr_t>(block);
  const std::vector<AddressRange> added = added_huge_page_spans({}, {{begin, begin + bytes}});
  const HugePageReport report = back_with_huge_pages(added);
  EXPECT_GE(report.advised_bytes, 14 * kMiB);
  if (report.collapsed_bytes == 0) {
    munmap(block, bytes);
    GTEST_SKIP() << "the kernel declined MADV_COLLAPSE (Linux < 6.1, or no free huge pages)";
  }
  EXPECT_GE(anon_huge_kib_of(begin + 2 * kMiB) * 1024, report.collapsed_bytes / 2);
  EXPECT_EQ(static_cast<unsigned char*>(block)[bytes - 1], 1) << "the contents survive the move";
  munmap(block, bytes);
}

}  // namespace
}  // namespace opusrt::runtime
