#include "hub/sha256.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <array>
#include <fstream>
#include <vector>

#include "opusrt/error.h"

namespace opusrt::hub {
namespace {

std::string openssl_error(const char* what) {
  const unsigned long code = ERR_get_error();
  std::array<char, 256> text{};
  if (code != 0) ERR_error_string_n(code, text.data(), text.size());
  return std::string("OpenSSL SHA-256: ") + what + (code != 0 ? std::string(": ") + text.data() : std::string());
}

struct MdContextDeleter {
  void operator()(EVP_MD_CTX* context) const noexcept { EVP_MD_CTX_free(context); }
};

}  // namespace

struct Sha256::Context {
  std::unique_ptr<EVP_MD_CTX, MdContextDeleter> md;
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  context_->md.reset(EVP_MD_CTX_new());
  if (!context_->md) throw Error(openssl_error("EVP_MD_CTX_new failed"));
  reset();
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::reset() {
  if (EVP_DigestInit_ex(context_->md.get(), EVP_sha256(), nullptr) != 1) throw Error(openssl_error("init failed"));
}

void Sha256::update(const void* data, size_t size) {
  if (size == 0) return;
  if (EVP_DigestUpdate(context_->md.get(), data, size) != 1) throw Error(openssl_error("update failed"));
}

uint64_t Sha256::update_from_file(const std::filesystem::path& path, uint64_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open for reading (sha256)");
  std::vector<char> buffer(1 << 20);
  uint64_t fed = 0;
  while (fed < limit && in) {
    const uint64_t want = std::min<uint64_t>(buffer.size(), limit - fed);
    in.read(buffer.data(), static_cast<std::streamsize>(want));
    const auto got = static_cast<size_t>(in.gcount());
    update(buffer.data(), got);
    fed += got;
    if (got < want) break;
  }
  if (in.bad()) throw Error(path.string() + ": read failed (sha256)");
  return fed;
}

std::string Sha256::hex_digest() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_->md.get(), digest.data(), &length) != 1) throw Error(openssl_error("final failed"));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 15]);
  }
  reset();
  return hex;
}

std::string sha256_hex(std::string_view data) {
  Sha256 hash;
  hash.update(data);
  return hash.hex_digest();
}

std::string sha256_file(const std::filesystem::path& path) {
  Sha256 hash;
  hash.update_from_file(path);
  return hash.hex_digest();
}

}  // namespace opusrt::hub
