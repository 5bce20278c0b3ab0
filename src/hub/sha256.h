#pragma once

// SHA-256 from OpenSSL's libcrypto (the library libcurl already links for TLS): the hub names
// LFS blobs by the sha256 of their content, so a download is hashed as it streams in and checked
// against its ETag without reading the file a second time.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace opusrt::hub {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Feeds the first `limit` bytes of a file (all of it when limit is nullopt-like UINT64_MAX);
  // throws opusrt::Error naming the file when it cannot be read. Returns the bytes fed.
  uint64_t update_from_file(const std::filesystem::path& path, uint64_t limit = UINT64_MAX);
  std::string hex_digest();  // lower-case hex; finishes: the object starts over afterwards
  void reset();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

std::string sha256_hex(std::string_view data);
// Throws opusrt::Error naming the file when it cannot be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace opusrt::hub
