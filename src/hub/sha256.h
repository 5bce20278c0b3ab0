#pragma once

// SHA-256 (FIPS 180-4): the hub names LFS blobs by the sha256 of their content, so a download
// can be checked against its ETag.
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace opusrt::hub {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  std::string hex_digest();  // finishes; the object is spent afterwards

 private:
  void block(const uint8_t* data);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t length_ = 0;
};

std::string sha256_hex(std::string_view data);
// Throws opusrt::Error naming the file when it cannot be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace opusrt::hub
