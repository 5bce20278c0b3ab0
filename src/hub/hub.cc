// resolve_model / hub_download: which files a model needs, where they go in the Hugging Face
// cache, and how each one gets there (HEAD for metadata, resumable GET, size and sha256 checks,
// atomic rename). HTTP is hub/http_client, the cache layout hub/hub_cache.
#include "opusrt/hub.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include <unistd.h>

#include "hub/http_client.h"
#include "hub/hub_cache.h"
#include "hub/names.h"
#include "hub/progress_bar.h"
#include "hub/sha256.h"
#include "model/model_files.h"

namespace opusrt {

namespace fs = std::filesystem;

namespace {

// ---- settings from options and the environment ------------------------------------------------

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

bool env_true(const char* name) {
  std::optional<std::string> value = env(name);
  if (!value) return false;
  for (char& c : *value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return *value == "1" || *value == "true" || *value == "yes" || *value == "on";
}

fs::path expand_user(const std::string& path) {
  if (path == "~" || path.starts_with("~/")) {
    if (std::optional<std::string> home = env("HOME")) return fs::path(*home) / path.substr(std::min<size_t>(2, path.size()));
  }
  return path;
}

fs::path hf_home() {
  if (std::optional<std::string> home = env("HF_HOME")) return expand_user(*home);
  if (std::optional<std::string> xdg = env("XDG_CACHE_HOME")) return fs::path(expand_user(*xdg)) / "huggingface";
  if (std::optional<std::string> home = env("HOME")) return fs::path(*home) / ".cache" / "huggingface";
  throw Error("cannot locate the Hugging Face cache: set HF_HOME (HOME is not set)");
}

std::string trim(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  return text.substr(start);
}

// HF_TOKEN, else the file huggingface_hub's `login` writes ($HF_TOKEN_PATH, default $HF_HOME/token).
std::string token_from_environment() {
  if (std::optional<std::string> token = env("HF_TOKEN")) return trim(*token);
  fs::path file;
  if (std::optional<std::string> path = env("HF_TOKEN_PATH")) {
    file = expand_user(*path);
  } else {
    try {
      file = hf_home() / "token";
    } catch (const Error&) {
      return "";  // no HOME: no token file either
    }
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return "";
  std::string token;
  std::getline(in, token);
  return trim(token);
}

struct Settings {
  hub::RepoId repo;
  std::string revision;
  std::string variant;
  std::string endpoint;  // no trailing '/'
  std::string token;
  bool offline = false;
  fs::path cache_root;
  const HubOptions* options = nullptr;

  std::string label() const { return repo.id() + "@" + revision; }
};

hub::RepoId parse_repo_or_throw(const std::string& model) {
  std::optional<hub::RepoId> repo = hub::parse_repo_id(model);
  if (!repo) {
    throw Error("'" + model + "': not a model directory, and not a Hugging Face hub id owner/name "
                "(each part [A-Za-z0-9][A-Za-z0-9._-]*, without '..' or '--')");
  }
  return *repo;
}

Settings make_settings(hub::RepoId repo, const HubOptions& options) {
  Settings s;
  s.repo = std::move(repo);
  s.options = &options;
  s.revision = options.revision.empty() ? "main" : options.revision;
  if (!hub::is_valid_revision(s.revision))
    throw Error("revision '" + s.revision + "': refused (a branch, tag or commit: [A-Za-z0-9._-] parts separated by '/')");
  s.variant = options.variant == "fp32" ? "" : options.variant;
  if (!s.variant.empty() && !hub::is_valid_variant(s.variant))
    throw Error("variant '" + s.variant + "': refused (letters, digits, '_' and '-' only, e.g. fp16 or quantized)");
  s.endpoint = options.endpoint ? *options.endpoint : env("HF_ENDPOINT").value_or("https://huggingface.co");
  while (s.endpoint.ends_with('/')) s.endpoint.pop_back();
  if (!s.endpoint.starts_with("http://") && !s.endpoint.starts_with("https://"))
    throw Error("hub endpoint '" + s.endpoint + "' (HF_ENDPOINT): must start with http:// or https://");
  s.token = options.token ? *options.token : token_from_environment();
  s.offline = options.offline ? *options.offline : env_true("HF_HUB_OFFLINE");
  if (options.cache_dir) {
    s.cache_root = *options.cache_dir;
  } else if (std::optional<std::string> cache = env("HF_HUB_CACHE")) {
    s.cache_root = expand_user(*cache);
  } else if (std::optional<std::string> legacy = env("HUGGINGFACE_HUB_CACHE")) {
    s.cache_root = expand_user(*legacy);
  } else {
    s.cache_root = hf_home() / "hub";
  }
  return s;
}

// ---- what a model needs ------------------------------------------------------------------------

const std::vector<std::string>& required_files() {
  static const std::vector<std::string> files = {"config.json", "source.spm", "target.spm", "vocab.json"};
  return files;
}

const std::vector<std::string>& optional_files() {
  static const std::vector<std::string> files = {"generation_config.json", "tokenizer_config.json",
                                                 "special_tokens_map.json", "target_vocab.json"};
  return files;
}

// ---- the cache alone ---------------------------------------------------------------------------

// The snapshot folder the cache has for the revision, nullopt when it has none.
std::optional<std::string> cached_commit(const hub::RepoCache& cache, const std::string& revision) {
  if (std::optional<std::string> commit = cache.read_ref(revision)) return commit;
  std::error_code ec;
  if (hub::is_safe_component(revision) && fs::is_directory(cache.snapshot_dir(revision), ec)) return revision;
  return std::nullopt;
}

// What a cached snapshot lacks for the variant ("" when complete).
std::string snapshot_gaps(const fs::path& snapshot, const std::string& variant) {
  std::string gaps;
  std::error_code ec;
  for (const std::string& file : required_files()) {
    if (!fs::is_regular_file(snapshot / file, ec)) gaps += (gaps.empty() ? "" : ", ") + file;
  }
  try {
    (void)ModelFiles::find(snapshot, variant);
  } catch (const Error& e) {
    gaps += (gaps.empty() ? "" : "; ") + std::string(e.what());
  }
  return gaps;
}

fs::path offline_snapshot(const Settings& s, const std::string& why) {
  const hub::RepoCache cache(s.cache_root, s.repo);
  const std::optional<std::string> commit = cached_commit(cache, s.revision);
  if (!commit) {
    throw Error(s.label() + ": " + why + ", and the model is not in the Hugging Face cache (" +
                (cache.dir() / "refs" / s.revision).string() + " not found); run once online to download it");
  }
  const fs::path snapshot = cache.snapshot_dir(*commit);
  const std::string gaps = snapshot_gaps(snapshot, s.variant);
  if (!gaps.empty()) {
    throw Error(s.label() + ": " + why + ", and the cached snapshot " + snapshot.string() + " is incomplete: missing " +
                gaps + "; run once online to download it");
  }
  return snapshot;
}

std::optional<fs::path> complete_cached_snapshot(const Settings& s) {
  const hub::RepoCache cache(s.cache_root, s.repo);
  const std::optional<std::string> commit = cached_commit(cache, s.revision);
  if (!commit) return std::nullopt;
  const fs::path snapshot = cache.snapshot_dir(*commit);
  if (!snapshot_gaps(snapshot, s.variant).empty()) return std::nullopt;
  return snapshot;
}

// ---- the hub -----------------------------------------------------------------------------------

// The hub could not be reached at all (before any answer): the cache may still serve.
class Unreachable : public Error {
 public:
  using Error::Error;
};

std::optional<uint64_t> parse_size(const std::optional<std::string>& text) {
  if (!text || text->empty() || text->size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : *text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool is_retryable_status(long status) { return status == 429 || (status >= 500 && status <= 599); }

bool is_sha256_hex(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

void backoff(int attempt) {
  const int ms = std::min(4000, 250 << std::min(attempt, 4));
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// "scheme://host[:port]" of a URL.
std::string origin_of(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

struct FileMeta {
  bool exists = false;
  std::string commit;  // X-Repo-Commit, "" when the server sent none
  std::string etag;    // the blob name
  bool lfs = false;    // the ETag came from X-Linked-Etag: the content's sha256
  std::optional<uint64_t> size;
  std::string url;  // where GET starts (the resolve URL; redirects are followed)
};

class HubSession {
 public:
  HubSession(const Settings& settings, bool model_context)
      : s_(settings),
        options_(*settings.options),
        cache_(settings.cache_root, settings.repo),
        http_(HttpSettingsFor(settings)),
        bar_(options_.progress_bar),
        pinned_revision_(settings.revision),
        model_context_(model_context) {}

  const hub::RepoCache& cache() const { return cache_; }
  const std::string& commit() const { return commit_; }

  // Metadata of one file (HEAD). exists=false for a 404 on the file itself; a missing repository
  // or revision, an auth failure or any other error throws.
  FileMeta head(const std::string& repo_path) {
    if (!hub::is_valid_repo_path(repo_path))
      throw Error("file name '" + repo_path + "': refused (must be relative, without '..' or '\\')");
    const std::string resolve_url = s_.endpoint + "/" + s_.repo.owner + "/" + s_.repo.name + "/resolve/" +
                                    hub::url_encode(pinned_revision_, false) + "/" + hub::url_encode(repo_path, true);
    std::string url = resolve_url;
    hub::HttpResult r;
    for (int attempt = 0, redirects = 0;; ++attempt) {
      r = http_.head(url);
      if (r.curl_code != 0) {
        if (r.unreachable() && !answered_) {
          throw Unreachable("cannot reach the hub at " + s_.endpoint + " (HF_ENDPOINT): " + r.curl_error);
        }
        if (r.transient_error() && attempt < options_.max_retries) {
          backoff(attempt);
          continue;
        }
        throw Error(s_.label() + ": " + repo_path + ": HEAD " + url + " failed: " + r.curl_error);
      }
      answered_ = true;
      if (is_redirect(r.status)) {
        const std::string location = r.header("location").value_or("");
        // A relative redirect stays on the hub (a renamed repository): follow it. An absolute
        // one goes to the file storage; the file's metadata is on this response.
        if (location.starts_with("/") && !location.starts_with("//") && !r.header("x-linked-etag")) {
          if (++redirects > 5) throw Error(s_.label() + ": " + repo_path + ": too many redirects from " + resolve_url);
          url = origin_of(s_.endpoint) + location;
          attempt = -1;
          continue;
        }
        break;
      }
      if (is_retryable_status(r.status) && attempt < options_.max_retries) {
        backoff(attempt);
        continue;
      }
      break;
    }

    FileMeta meta;
    meta.url = url;
    if (r.status == 404) {
      const std::string code = r.header("x-error-code").value_or("");
      if (code == "RepoNotFound" || code == "RevisionNotFound") throw http_error(r, url, repo_path);
      return meta;  // the file is not there (EntryNotFound)
    }
    if (r.status != 200 && !is_redirect(r.status)) throw http_error(r, url, repo_path);

    meta.exists = true;
    if (std::optional<std::string> commit = r.header("x-repo-commit")) {
      if (!hub::is_safe_component(*commit))
        throw Error(s_.label() + ": " + repo_path + ": X-Repo-Commit '" + *commit + "' from " + url +
                    ": refused (not a safe folder name)");
      meta.commit = *commit;
    }
    const std::optional<std::string> linked_etag = r.header("x-linked-etag");
    const std::optional<std::string> etag = linked_etag ? linked_etag : r.header("etag");
    if (!etag) {
      throw Error(s_.label() + ": " + repo_path + ": " + url + " answered without an ETag; is " + s_.endpoint +
                  " (HF_ENDPOINT) a Hugging Face hub?");
    }
    std::optional<std::string> blob = hub::etag_to_blob_name(*etag);
    if (!blob) {
      throw Error(s_.label() + ": " + repo_path + ": ETag '" + *etag + "' from " + url +
                  ": refused (a blob name must be [A-Za-z0-9._-], no path)");
    }
    meta.etag = *blob;
    meta.lfs = linked_etag.has_value();
    meta.size = parse_size(r.header("x-linked-size"));
    if (!meta.size && !is_redirect(r.status)) meta.size = parse_size(r.header("content-length"));
    note_commit(meta.commit.empty() ? std::nullopt : std::optional<std::string>(meta.commit), url);
    // GET from the pinned commit, so that every file comes from the same snapshot.
    meta.url = s_.endpoint + "/" + s_.repo.owner + "/" + s_.repo.name + "/resolve/" +
               hub::url_encode(pinned_revision_, false) + "/" + hub::url_encode(repo_path, true);
    return meta;
  }

  // The file in the snapshot, downloaded into blobs/ first unless the blob is already there.
  fs::path fetch(const std::string& repo_path, const FileMeta& meta) {
    const fs::path pointer = cache_.snapshot_file(commit_, repo_path);
    const fs::path blob = cache_.blob(meta.etag);
    if (blob_complete(blob, meta.size) && pointer_ok(pointer, blob)) return pointer;
    {
      const hub::FileLock lock = cache_.lock(meta.etag);
      if (!blob_complete(blob, meta.size)) {
        std::error_code ec;
        fs::remove(blob, ec);  // a blob of the wrong size is not the file the hub has
        download_blob(repo_path, meta, blob);
      }
    }
    cache_.link_snapshot_file(commit_, repo_path, meta.etag);
    return pointer;
  }

  void mark_missing(const std::string& repo_path) { cache_.mark_missing(commit_, repo_path); }

  void write_ref() {
    if (!commit_.empty() && commit_ != s_.revision) cache_.write_ref(s_.revision, commit_);
  }

 private:
  static hub::HttpSettings HttpSettingsFor(const Settings& s) {
    hub::HttpSettings http;
    http.token = s.token;
    http.connect_timeout_s = s.options->connect_timeout_s;
    http.low_speed_time_s = s.options->low_speed_time_s;
    http.low_speed_bytes_per_s = s.options->low_speed_bytes_per_s;
    http.head_timeout_s = std::max<long>(s.options->connect_timeout_s + s.options->low_speed_time_s, 10);
    return http;
  }

  // The snapshot is named by the first X-Repo-Commit; every later request asks for that commit.
  void note_commit(const std::optional<std::string>& commit, const std::string& url) {
    if (!commit_.empty()) return;
    if (commit) {
      commit_ = *commit;
      pinned_revision_ = *commit;
    } else if (hub::is_safe_component(s_.revision)) {
      commit_ = s_.revision;
    } else {
      throw Error(s_.label() + ": " + url + " sent no X-Repo-Commit, and the revision '" + s_.revision +
                  "' cannot name a snapshot folder");
    }
  }

  Error http_error(const hub::HttpResult& r, const std::string& url, const std::string& repo_path) const {
    std::string message = s_.label() + ": " + repo_path + ": HTTP " + std::to_string(r.status) + " from " + url;
    if (std::optional<std::string> detail = r.header("x-error-message")) message += ": " + *detail;
    const std::string code = r.header("x-error-code").value_or("");
    if (r.status == 401 || r.status == 403) {
      message += s_.token.empty()
                     ? ". The repository may be private or gated, or may not exist: set HF_TOKEN to a token that can read it"
                     : ". The token (HF_TOKEN) was refused or cannot read this repository (gated? accept its terms on the hub)";
    } else if (code == "RevisionNotFound") {
      message += ". No revision '" + s_.revision + "' in " + s_.repo.id();
    } else if (r.status == 404) {
      message += ". Not found";
    }
    if (model_context_ && (r.status == 401 || r.status == 404) && code != "RevisionNotFound" && repo_path == "config.json")
      message += " ('" + s_.repo.id() + "' is not a local directory either)";
    return Error(message);
  }

  static bool blob_complete(const fs::path& blob, const std::optional<uint64_t>& size) {
    std::error_code ec;
    if (!fs::is_regular_file(blob, ec)) return false;
    if (!size) return true;
    const uint64_t actual = fs::file_size(blob, ec);
    return !ec && actual == *size;
  }

  static bool pointer_ok(const fs::path& pointer, const fs::path& blob) {
    std::error_code ec;
    if (!fs::exists(pointer, ec)) return false;
    if (fs::equivalent(pointer, blob, ec)) return true;
    return !fs::is_symlink(pointer, ec) && fs::file_size(pointer, ec) == fs::file_size(blob, ec);
  }

  void report(const std::string& repo_path, uint64_t done, uint64_t total) {
    bar_.update(done, total);
    if (options_.on_progress) options_.on_progress(HubProgress{repo_path, done, total});
  }

  [[noreturn]] void size_error(const std::string& repo_path, const fs::path& incomplete, const std::string& url,
                               uint64_t expected, uint64_t got, const std::string& detail) {
    std::error_code ec;
    fs::remove(incomplete, ec);
    throw Error(s_.label() + ": " + repo_path + ": wrong size from " + url + ": expected " + std::to_string(expected) +
                " bytes, " + detail + " " + std::to_string(got) + "; the partial download was removed");
  }

  struct FileCloser {
    void operator()(std::FILE* file) const noexcept { std::fclose(file); }
  };

  // Downloads into blobs/<etag>.incomplete (resuming what an earlier attempt or run left there),
  // checks size and sha256, then renames to blobs/<etag>.
  void download_blob(const std::string& repo_path, const FileMeta& meta, const fs::path& blob) {
    const fs::path incomplete = cache_.incomplete(meta.etag);
    const std::optional<uint64_t> expected = meta.size;
    std::error_code ec;
    fs::create_directories(incomplete.parent_path(), ec);
    if (ec) throw Error(incomplete.parent_path().string() + ": cannot create directory: " + ec.message());
    uint64_t first_offset = fs::exists(incomplete, ec) ? fs::file_size(incomplete, ec) : 0;
    bar_.start(repo_path, first_offset);

    for (int attempt = 0;; ++attempt) {
      uint64_t offset = fs::exists(incomplete, ec) ? fs::file_size(incomplete, ec) : 0;
      if (ec) offset = 0;
      if (expected && offset > *expected) {
        fs::remove(incomplete, ec);
        offset = 0;
      }
      if (expected && offset == *expected && (offset > 0 || fs::exists(incomplete, ec))) break;  // complete already
      if (expected && *expected == 0) {
        hub::write_file_atomically(incomplete, "");
        break;
      }
      report(repo_path, offset, expected.value_or(0));

      std::unique_ptr<std::FILE, FileCloser> file;
      uint64_t base = 0, written = 0;
      bool bad_range = false;
      std::optional<uint64_t> announced;  // this response's own idea of the total size
      const auto on_body = [&](const hub::HttpResult& response, std::string_view data) -> bool {
        if (!file) {
          const std::optional<uint64_t> length = parse_size(response.header("content-length"));
          if (response.status == 206) {
            // Content-Range: bytes <start>-<end>/<total>
            const std::string range = response.header("content-range").value_or("");
            const size_t space = range.find(' '), dash = range.find('-');
            const std::optional<uint64_t> start =
                (space == std::string::npos || dash == std::string::npos || dash < space)
                    ? std::nullopt
                    : parse_size(range.substr(space + 1, dash - space - 1));
            if (!start || *start != offset) {
              bad_range = true;
              return false;
            }
            base = offset;
            file.reset(std::fopen(incomplete.c_str(), "ab"));
          } else {
            base = 0;
            file.reset(std::fopen(incomplete.c_str(), "wb"));
          }
          if (!file) throw Error(incomplete.string() + ": cannot open for writing");
          if (length) announced = base + *length;
          if (expected && announced && *announced != *expected) return false;
        }
        if (expected && base + written + data.size() > *expected) {
          announced = base + written + data.size();
          return false;
        }
        if (std::fwrite(data.data(), 1, data.size(), file.get()) != data.size())
          throw Error(incomplete.string() + ": write failed (disk full?)");
        written += data.size();
        report(repo_path, base + written, expected.value_or(announced.value_or(0)));
        return true;
      };
      const hub::HttpResult r = http_.get(meta.url, offset, on_body);
      if (file) {
        const bool flushed = std::fflush(file.get()) == 0 && ::fsync(::fileno(file.get())) == 0;
        if (!flushed) throw Error(incomplete.string() + ": write failed (disk full?)");
        file.reset();
      }

      if (r.aborted_by_handler) {
        if (bad_range) {  // the server answered another range than asked: start over
          fs::remove(incomplete, ec);
          if (attempt < options_.max_retries) continue;
          throw Error(s_.label() + ": " + repo_path + ": " + meta.url + " answered a Range request with the wrong range");
        }
        size_error(repo_path, incomplete, meta.url, *expected, announced.value_or(0), "the server sent");
      }
      if (r.curl_code != 0) {
        const uint64_t have = fs::exists(incomplete, ec) ? fs::file_size(incomplete, ec) : 0;
        if (r.transient_error() && attempt < options_.max_retries) {
          // An attempt that moved at least 1 MiB does not use up the retry budget: a big file
          // over a flaky connection gets there piece by piece.
          if (written >= (uint64_t{1} << 20)) attempt = -1;
          backoff(std::max(attempt, 0));
          continue;
        }
        throw Error(s_.label() + ": " + repo_path + ": download from " + meta.url + " interrupted after " +
                    std::to_string(have) + (expected ? " of " + std::to_string(*expected) : std::string()) +
                    " bytes: " + r.curl_error + (have > 0 ? "; run again to resume" : ""));
      }
      if (r.status == 416 && offset > 0) {
        // Nothing past `offset`: the server's file is shorter than the size it announced.
        if (expected && offset < *expected) size_error(repo_path, incomplete, meta.url, *expected, offset, "the server has only");
        fs::remove(incomplete, ec);
        continue;
      }
      if (r.status != 200 && r.status != 206) {
        if (is_retryable_status(r.status) && attempt < options_.max_retries) {
          backoff(attempt);
          continue;
        }
        throw http_error(r, meta.url, repo_path);
      }
      if (!fs::exists(incomplete, ec)) hub::write_file_atomically(incomplete, "");  // an empty body
      const uint64_t got = fs::file_size(incomplete, ec);
      if (expected && got != *expected) size_error(repo_path, incomplete, meta.url, *expected, got, "got");
      break;
    }

    const uint64_t size = fs::file_size(incomplete, ec);
    if (meta.lfs && options_.verify_sha256 && is_sha256_hex(meta.etag)) {
      const std::string digest = hub::sha256_file(incomplete);
      if (digest != lower(meta.etag)) {
        fs::remove(incomplete, ec);
        throw Error(s_.label() + ": " + repo_path + ": downloaded content has sha256 " + digest +
                    ", the hub's ETag says " + meta.etag + "; the corrupt download was removed");
      }
    }
    fs::rename(incomplete, blob, ec);
    if (ec) throw Error(blob.string() + ": cannot move the finished download into place: " + ec.message());
    report(repo_path, size, expected.value_or(size));
    bar_.finish(size, expected.value_or(size));
  }

  const Settings& s_;
  const HubOptions& options_;
  hub::RepoCache cache_;
  hub::HttpClient http_;
  hub::ProgressBar bar_;
  std::string pinned_revision_;
  std::string commit_;
  bool answered_ = false;  // the hub answered at least once
  bool model_context_ = false;
};

FileMeta require(HubSession& session, const Settings& s, const std::string& repo_path) {
  FileMeta meta = session.head(repo_path);
  if (!meta.exists)
    throw Error(s.label() + ": the repository has no " + repo_path + " (HTTP 404 from " + meta.url + ")");
  return meta;
}

fs::path download_model(const Settings& s) {
  HubSession session(s, /*model_context=*/true);
  std::vector<std::pair<std::string, FileMeta>> files;
  std::vector<std::string> absent;
  const auto optional = [&](const std::string& path) {
    FileMeta meta = session.head(path);
    if (meta.exists) {
      files.emplace_back(path, std::move(meta));
    } else {
      absent.push_back(path);
    }
  };

  for (const std::string& path : required_files()) files.emplace_back(path, require(session, s, path));
  for (const std::string& path : optional_files()) optional(path);

  // The graphs: the Xenova layout (onnx/) first, then the repository root.
  const std::string xenova_encoder = hub::graph_file("onnx/encoder_model", s.variant);
  const std::string root_encoder = hub::graph_file("encoder_model", s.variant);
  std::string graph_dir;
  FileMeta encoder = session.head(xenova_encoder);
  if (encoder.exists) {
    graph_dir = "onnx/";
  } else {
    encoder = session.head(root_encoder);
    if (!encoder.exists) {
      throw Error(s.label() + ": the repository has no " + xenova_encoder + " nor " + root_encoder +
                  (s.variant.empty() ? std::string() : " (variant '" + s.variant + "')"));
    }
  }
  std::vector<std::string> graphs = {graph_dir + root_encoder};
  files.emplace_back(graphs.back(), std::move(encoder));
  const std::string merged = graph_dir + hub::graph_file("decoder_model_merged", s.variant);
  FileMeta merged_meta = session.head(merged);
  if (merged_meta.exists) {
    graphs.push_back(merged);
    files.emplace_back(merged, std::move(merged_meta));
  } else {
    absent.push_back(merged);
    const std::string decoder = graph_dir + hub::graph_file("decoder_model", s.variant);
    const std::string with_past = graph_dir + hub::graph_file("decoder_with_past_model", s.variant);
    FileMeta decoder_meta = session.head(decoder);
    FileMeta with_past_meta = session.head(with_past);
    if (!decoder_meta.exists || !with_past_meta.exists) {
      throw Error(s.label() + ": the repository has no decoder: need " + merged + ", or " + decoder + " and " +
                  with_past + " (missing: " + (decoder_meta.exists ? with_past : decoder) + ")");
    }
    graphs.push_back(decoder);
    files.emplace_back(decoder, std::move(decoder_meta));
    graphs.push_back(with_past);
    files.emplace_back(with_past, std::move(with_past_meta));
  }
  for (const std::string& graph : graphs) optional(graph + "_data");  // external weights, when exported so

  for (const auto& [path, meta] : files) session.fetch(path, meta);
  for (const std::string& path : absent) session.mark_missing(path);
  session.write_ref();

  const fs::path snapshot = session.cache().snapshot_dir(session.commit());
  const std::string gaps = snapshot_gaps(snapshot, s.variant);
  if (!gaps.empty()) throw Error(s.label() + ": the downloaded snapshot " + snapshot.string() + " is incomplete: " + gaps);
  return snapshot;
}

}  // namespace

bool is_hub_model_id(std::string_view model) { return hub::parse_repo_id(model).has_value(); }

fs::path resolve_model(const std::string& model, const HubOptions& options) {
  if (model.empty()) throw Error("model: empty name (a model directory or a hub id owner/name)");
  std::error_code ec;
  if (fs::is_directory(model, ec)) return model;
  const Settings s = make_settings(parse_repo_or_throw(model), options);
  if (s.offline) return offline_snapshot(s, "offline (HF_HUB_OFFLINE)");
  try {
    return download_model(s);
  } catch (const Unreachable& e) {
    if (std::optional<fs::path> cached = complete_cached_snapshot(s)) {
      if (options.progress_bar && ::isatty(STDERR_FILENO) == 1)
        std::fprintf(stderr, "opusrt: %s; using the cached %s\n", e.what(), cached->string().c_str());
      return *cached;
    }
    return offline_snapshot(s, e.what());  // throws, naming what the cache lacks
  }
}

fs::path hub_download(const std::string& repo_id, const std::string& filename, const HubOptions& options) {
  const Settings s = make_settings(parse_repo_or_throw(repo_id), options);
  if (!hub::is_valid_repo_path(filename))
    throw Error("file name '" + filename + "': refused (must be relative, without '..' or '\\')");
  const auto from_cache = [&](const std::string& why) {
    const hub::RepoCache cache(s.cache_root, s.repo);
    const std::optional<std::string> commit = cached_commit(cache, s.revision);
    std::error_code ec;
    if (commit) {
      const fs::path path = cache.snapshot_file(*commit, filename);
      if (fs::is_regular_file(path, ec)) return path;
    }
    throw Error(s.label() + ": " + why + ", and " + filename + " is not in the Hugging Face cache (" +
                cache.dir().string() + ")");
  };
  if (s.offline) return from_cache("offline (HF_HUB_OFFLINE)");
  try {
    HubSession session(s, /*model_context=*/false);
    const FileMeta meta = require(session, s, filename);
    const fs::path path = session.fetch(filename, meta);
    session.write_ref();
    return path;
  } catch (const Unreachable& e) {
    return from_cache(e.what());
  }
}

}  // namespace opusrt
