#pragma once

// Models from the Hugging Face hub: `owner/name` -> a local model directory.
//
//   std::filesystem::path dir = opusrt::resolve_model("Xenova/opus-mt-en-zh");
//   opusrt::Translator translator(dir);
//
// Files land in the Hugging Face cache exactly as huggingface_hub lays it out, so Python tools
// and opusrt share one cache:
//
//   $HF_HOME/hub/models--Xenova--opus-mt-en-zh/
//     blobs/<etag>                      file contents, named by ETag (sha256 for LFS files)
//     snapshots/<commit>/<file>         relative symlinks to the blobs (copies where no symlinks)
//     refs/main                         the commit `main` pointed to
//
// Environment, read on every call unless the option is set, as huggingface_hub reads it:
// HF_ENDPOINT, HF_HOME (default $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface),
// HF_HUB_CACHE (default $HF_HOME/hub), HF_TOKEN or HUGGING_FACE_HUB_TOKEN (else the file
// $HF_TOKEN_PATH, default $HF_HOME/token), HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE (1/true/yes/on).
// Paths expand a leading ~ or ~user and $VAR / ${VAR}.
//
// The hub protocol as huggingface_hub speaks it: HEAD follows relative redirects (renamed
// repositories, /api/resolve-cache/...) and a mirror's redirects to another host, and reads the
// metadata (X-Repo-Commit, X-Linked-Etag, X-Linked-Size) from the redirect to the file storage;
// the token never goes to another host; 429 waits as long as the RateLimit header's t= (or
// Retry-After) says; a file is only recorded as absent (.no_exist) when the hub says so
// (X-Error-Code: EntryNotFound). When the hub cannot answer usefully (network, TLS, 5xx, 429,
// 401/403, a gated repository, an answer without metadata) a complete cached snapshot of the
// revision is used; a commit-hash revision that is cached is used without contacting the hub.
//
// Downloads resume (blobs/<etag>.incomplete + an HTTP Range request), are checked against the
// size the hub announced (and the sha256 of LFS files, hashed with OpenSSL while the file streams
// in), and are renamed into place only when complete. Nothing is ever written outside the cache: every name that comes from the server or
// the caller (ETag, commit, revision, variant, file name) is validated. Errors are opusrt::Error
// naming the model, file, URL and HTTP status.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "opusrt/error.h"

namespace opusrt {

// One file's download progress (not reported for files already in the cache).
struct HubProgress {
  std::string_view file;     // path in the repository, e.g. "onnx/encoder_model.onnx"
  uint64_t bytes_done = 0;   // includes bytes kept from an interrupted earlier download
  uint64_t bytes_total = 0;  // 0 when the server did not say
};

struct HubOptions {
  std::string revision = "main";  // branch, tag or commit hash
  std::string variant;            // "" (or "fp32"): encoder_model.onnx; else encoder_model_<variant>.onnx ("q8": _quantized, as transformers.js)
  std::optional<std::string> endpoint;             // default: $HF_ENDPOINT, else https://huggingface.co
  std::optional<std::string> token;                // default: $HF_TOKEN, else $HF_HOME/token; "" = none
  std::optional<bool> offline;                     // default: $HF_HUB_OFFLINE (1/true/yes/on)
  std::optional<std::filesystem::path> cache_dir;  // the hub cache; default: $HF_HUB_CACHE, else $HF_HOME/hub

  std::function<void(const HubProgress&)> on_progress;  // called while a file downloads
  bool progress_bar = false;  // draw a progress bar on stderr, only when stderr is a terminal

  // Network: a connection must open within connect_timeout_s; a transfer slower than
  // low_speed_bytes_per_s for low_speed_time_s is dropped and retried (resuming), at most
  // max_retries times per request.
  long connect_timeout_s = 10;
  long low_speed_time_s = 30;
  long low_speed_bytes_per_s = 1024;
  int max_retries = 5;
  // Longest wait a rate limit (429 with RateLimit t= or Retry-After) may ask for before a retry;
  // a longer one fails at once, saying when to try again.
  long max_retry_wait_s = 300;
  bool verify_sha256 = true;  // check LFS files (whose ETag is their sha256) after download
};

// `model` is a local directory -> returned as it is. Otherwise it must be a hub id `owner/name`
// (each part [A-Za-z0-9][A-Za-z0-9._-]*, no "..", no "--"): config.json, generation_config.json,
// the tokenizer files and the graphs of the requested variant (onnx/ subfolder first, then the
// repository root; decoder_model_merged, else decoder_model + decoder_with_past_model, or
// decoder_model alone when the hub confirms there is no with-past graph (an export without past); plus each
// graph's external data: the .onnx_data, .onnx_data_1, ... shards config.json's
// transformers.js_config.use_external_data_format counts, else .onnx_data and the shards that
// follow it when the repository has them) are downloaded into the cache when missing, and
// the snapshot directory is returned: a model directory opusrt::Translator loads.
// Offline, the cached snapshot is returned, or an error naming what is missing. Online but with the
// hub unreachable or failing (see above), a complete cached snapshot of the revision is used.
std::filesystem::path resolve_model(const std::string& model, const HubOptions& options = {});

// One file of a hub repository (any path, validated: relative, no "..", no backslash) into the
// cache; returns its path in the snapshot directory. Throws when the repository has no such file.
std::filesystem::path hub_download(const std::string& repo_id, const std::string& filename,
                                   const HubOptions& options = {});

// True when `model` is a syntactically valid hub id `owner/name` (see resolve_model).
bool is_hub_model_id(std::string_view model);

}  // namespace opusrt
