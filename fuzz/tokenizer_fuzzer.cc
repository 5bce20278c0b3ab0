// libFuzzer target: MarianTokenizer::encode / encode_pieces / encode_target on arbitrary bytes, and
// decode of token ids derived from the same bytes.
//
// Contract checked (src/tokenizer/marian_tokenizer.h): invalid UTF-8 makes encode throw
// opusrt::Error and valid UTF-8 always encodes, to in-vocabulary ids ending with </s>; decode throws
// opusrt::Error exactly when an id is neither special nor in the vocabulary, and returns valid UTF-8.
// Any other exception, a sanitizer report or a broken invariant is a crash.
//
// The model directory (source.spm, target.spm, vocab.json, ...) comes from $OPUSRT_FUZZ_MODEL;
// scripts/fuzz.sh generates the tiny fixture for it. The tokenizer is loaded once per process.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "opusrt/error.h"
#include "opusrt/utf8.h"
#include "tokenizer/marian_tokenizer.h"

namespace {

const opusrt::MarianTokenizer* tokenizer = nullptr;  // reachable until exit: not a leak
std::vector<bool> decodable;                        // decodable[id] for ids 0 .. vocab_size + kMargin
constexpr int64_t kMargin = 16;

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz_tokenizer: %s%s%.*s\n", what, detail.empty() ? "" : ": ",
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

bool known_id(int64_t id) {
  return id >= 0 && static_cast<uint64_t>(id) < decodable.size() && decodable[static_cast<size_t>(id)];
}

void check_ids(const std::vector<int64_t>& ids, const char* what) {
  for (const int64_t id : ids)
    if (!known_id(id)) fail(what, "returned an id outside the vocabulary: " + std::to_string(id));
}

void check_decode(const std::vector<int64_t>& ids) {
  bool all_known = true;
  for (const int64_t id : ids) all_known = all_known && known_id(id);
  try {
    const std::string text = tokenizer->decode(ids);
    if (!all_known) fail("decode accepted an id outside the vocabulary");
    if (const auto bad = opusrt::find_invalid_utf8(text)) fail("decode returned invalid UTF-8", text);
  } catch (const opusrt::Error& e) {
    if (all_known) fail("decode threw on in-vocabulary ids", e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("OPUSRT_FUZZ_MODEL");
  if (dir == nullptr || *dir == '\0') {
    std::fprintf(stderr, "fuzz_tokenizer: set OPUSRT_FUZZ_MODEL to a Marian model directory (scripts/fuzz.sh makes one)\n");
    std::exit(1);
  }
  try {
    tokenizer = new opusrt::MarianTokenizer(dir);
  } catch (const opusrt::Error& e) {
    std::fprintf(stderr, "fuzz_tokenizer: cannot load the tokenizer from %s: %s\n", dir, e.what());
    std::exit(1);
  }
  // Which ids decode on their own: the vocabulary (dense for Marian) and the special ids.
  const int64_t limit = static_cast<int64_t>(tokenizer->vocab_size()) + kMargin;
  decodable.assign(static_cast<size_t>(limit), false);
  for (int64_t id = 0; id < limit; ++id) {
    try {
      const int64_t one[] = {id};
      tokenizer->decode(one);
      decodable[static_cast<size_t>(id)] = true;
    } catch (const opusrt::Error&) {
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool valid = !opusrt::find_invalid_utf8(text).has_value();

  try {
    const std::vector<int64_t> ids = tokenizer->encode(text);
    if (!valid) fail("encode accepted invalid UTF-8");
    if (ids.empty() || ids.back() != tokenizer->eos_id()) fail("encode did not end with </s>");
    check_ids(ids, "encode");
    const std::vector<std::string> pieces = tokenizer->encode_pieces(text);
    if (pieces.size() != ids.size()) fail("encode_pieces and encode disagree on the length");
    for (size_t i = 0; i < ids.size(); ++i)
      if (tokenizer->token_id(pieces[i]).value_or(tokenizer->unk_id()) != ids[i])
        fail("encode_pieces and encode disagree", pieces[i]);
    check_decode(ids);  // every id encode returns must decode
  } catch (const opusrt::Error& e) {
    if (valid) fail("encode threw on valid UTF-8", e.what());
  }

  try {
    const std::vector<int64_t> ids = tokenizer->encode_target(text);
    if (!valid) fail("encode_target accepted invalid UTF-8");
    check_ids(ids, "encode_target");
  } catch (const opusrt::Error& e) {
    if (valid) fail("encode_target threw on valid UTF-8", e.what());
  }

  // Ids from the bytes, two at a time: mostly near the vocabulary (some just outside it, some
  // negative), 0xFFFF and 0xFFFE for the extremes.
  std::vector<int64_t> ids;
  ids.reserve(size / 2);
  const int64_t range = static_cast<int64_t>(decodable.size()) + kMargin;
  for (size_t i = 0; i + 1 < size; i += 2) {
    const int64_t raw = data[i] | (data[i + 1] << 8);
    if (raw == 0xFFFF) {
      ids.push_back(INT64_MAX);
    } else if (raw == 0xFFFE) {
      ids.push_back(INT64_MIN);
    } else {
      ids.push_back(raw % range - kMargin);
    }
  }
  check_decode(ids);
  return 0;
}
