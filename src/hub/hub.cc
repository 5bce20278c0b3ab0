// resolve_model / hub_download: which files a model needs, where they go in the Hugging Face
// cache, and how each one gets there (HEAD for metadata, resumable GET, size and sha256 checks,
// atomic rename). HTTP is hub/http_client, the cache layout hub/hub_cache.
#include "opusrt/hub.h"

#include <curl/curl.h>
#include <pwd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
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

#include <nlohmann/json.hpp>

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

// Python's os.path.expanduser: a leading ~ ($HOME, else the password database) or ~user.
std::string expand_user(const std::string& path) {
  if (!path.starts_with("~")) return path;
  const size_t slash = path.find('/');
  const std::string name = path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
  const std::string rest = slash == std::string::npos ? "" : path.substr(slash);
  std::string home;
  if (name.empty() && env("HOME")) {
    home = *env("HOME");
  } else {
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    const int rc = name.empty() ? ::getpwuid_r(::getuid(), &entry, buffer.data(), buffer.size(), &found)
                                : ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (rc != 0 || found == nullptr || entry.pw_dir == nullptr) return path;  // unknown user: unchanged
    home = entry.pw_dir;
  }
  while (home.size() > 1 && home.ends_with('/')) home.pop_back();
  return (home == "/" && !rest.empty()) ? rest : home + rest;
}

// Python's os.path.expandvars: $NAME and ${NAME}; a variable that is not set stays as written.
std::string expand_vars(const std::string& text) {
  const auto is_name = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; };
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out.push_back(text[i++]);
      continue;
    }
    size_t name_start = i + 1, name_end = 0, next = 0;
    if (text[i + 1] == '{') {
      const size_t close = text.find('}', i + 2);
      if (close == std::string::npos) {
        out.push_back(text[i++]);
        continue;
      }
      name_start = i + 2;
      name_end = close;
      next = close + 1;
    } else {
      name_end = name_start;
      while (name_end < text.size() && is_name(text[name_end])) ++name_end;
      next = name_end;
    }
    const std::string name = text.substr(name_start, name_end - name_start);
    const char* value = name.empty() ? nullptr : std::getenv(name.c_str());
    if (value == nullptr) {
      out.append(text, i, next - i);
    } else {
      out.append(value);
    }
    i = next;
  }
  return out;
}

// What huggingface_hub applies to every path it reads from the environment:
// os.path.expandvars(os.path.expanduser(path)). Not wordexp(3): it also splits on spaces and globs.
fs::path expand_path(const std::string& path) { return expand_vars(expand_user(path)); }

fs::path hf_home() {
  if (std::optional<std::string> home = env("HF_HOME")) return expand_path(*home);
  if (std::optional<std::string> xdg = env("XDG_CACHE_HOME")) return expand_path(*xdg) / "huggingface";
  const std::string home = expand_user("~");
  if (home == "~") throw Error("cannot locate the Hugging Face cache: set HF_HOME (HOME is not set)");
  return fs::path(home) / ".cache" / "huggingface";
}

std::string trim(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  return text.substr(start);
}

// huggingface_hub's cleaning: line breaks anywhere dropped, then surrounding space.
std::string clean_token(std::string token) {
  std::erase_if(token, [](char c) { return c == '\r' || c == '\n'; });
  return trim(std::move(token));
}

// HF_TOKEN, else HUGGING_FACE_HUB_TOKEN (the older name huggingface_hub still reads), else the file
// huggingface_hub's `login` writes ($HF_TOKEN_PATH, default $HF_HOME/token).
std::string token_from_environment() {
  std::optional<std::string> variable = env("HF_TOKEN");
  if (!variable) variable = env("HUGGING_FACE_HUB_TOKEN");
  if (variable) {
    if (std::string token = clean_token(*variable); !token.empty()) return token;
  }
  fs::path file;
  if (std::optional<std::string> path = env("HF_TOKEN_PATH")) {
    file = expand_path(*path);
  } else {
    try {
      file = hf_home() / "token";
    } catch (const Error&) {
      return "";  // no HOME: no token file either
    }
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return "";
  const std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return clean_token(content);
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
    // A path (absolute, relative with ./ or ~, or not of the owner/name shape): the directory is
    // what is missing.
    const bool path_like = model.starts_with('/') || model.starts_with('.') || model.starts_with('~') ||
                           std::count(model.begin(), model.end(), '/') != 1;
    if (path_like) throw Error("'" + model + "': model directory not found, and not a hub id owner/name such as Xenova/opus-mt-en-zh");
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
  // transformers.js's dtype q8 names the `_quantized` files; the hub publishes no `_q8`.
  if (s.variant == "q8") s.variant = "quantized";
  if (!s.variant.empty() && !hub::is_valid_variant(s.variant))
    throw Error("variant '" + s.variant + "': refused (letters, digits, '_' and '-' only, e.g. fp16 or quantized)");
  s.endpoint = options.endpoint ? *options.endpoint : env("HF_ENDPOINT").value_or("https://huggingface.co");
  while (s.endpoint.ends_with('/')) s.endpoint.pop_back();
  if (!s.endpoint.starts_with("http://") && !s.endpoint.starts_with("https://"))
    throw Error("hub endpoint '" + s.endpoint + "' (HF_ENDPOINT): must start with http:// or https://");
  s.token = options.token ? *options.token : token_from_environment();
  // As huggingface_hub: HF_HUB_OFFLINE when set (even to 0), else TRANSFORMERS_OFFLINE.
  s.offline = options.offline ? *options.offline : env_true(env("HF_HUB_OFFLINE") ? "HF_HUB_OFFLINE" : "TRANSFORMERS_OFFLINE");
  if (options.cache_dir) {
    s.cache_root = *options.cache_dir;
  } else if (std::optional<std::string> cache = env("HF_HUB_CACHE")) {
    s.cache_root = expand_path(*cache);
  } else if (std::optional<std::string> legacy = env("HUGGINGFACE_HUB_CACHE")) {
    s.cache_root = expand_path(*legacy);
  } else {
    s.cache_root = hf_home() / "hub";
  }
  return s;
}

// ---- what a model needs ------------------------------------------------------------------------

// transformers.js's count of external-data files for one graph: config.json's
// transformers.js_config.use_external_data_format, a bool or a count, or an object keyed by the
// graph's file name ("encoder_model_quantized.onnx") or its stem ("encoder_model"). nullopt when
// the config does not say. The files are <graph>.onnx_data, <graph>.onnx_data_1, ...
constexpr int kMaxExternalDataFiles = 100;  // transformers.js's own limit

std::optional<int> external_data_files(const nlohmann::json& config, const std::string& graph_path,
                                       const std::string& config_name) {
  const auto js = config.find("transformers.js_config");
  if (js == config.end() || !js->is_object()) return std::nullopt;
  const auto format = js->find("use_external_data_format");
  if (format == js->end() || format->is_null()) return std::nullopt;
  const std::string file = fs::path(graph_path).filename().string();  // encoder_model_quantized.onnx
  const std::string field = config_name + ": transformers.js_config.use_external_data_format";
  nlohmann::json value = *format;
  if (value.is_object()) {
    std::string stem = file.ends_with(".onnx") ? file.substr(0, file.size() - 5) : file;
    for (const char* base : {"encoder_model", "decoder_model_merged", "decoder_with_past_model", "decoder_model"}) {
      if (stem.starts_with(base)) {
        stem = base;
        break;
      }
    }
    const auto entry = value.contains(file) ? value.find(file) : value.find(stem);
    if (entry == value.end()) return 0;  // transformers.js: a graph the object does not name has none
    nlohmann::json picked = *entry;
    value = std::move(picked);
  }
  if (value.is_boolean()) return value.get<bool>() ? 1 : 0;
  if (value.is_number_integer() || value.is_number_unsigned()) {
    const int64_t count = value.get<int64_t>();
    if (count < 0 || count > kMaxExternalDataFiles)
      throw Error(field + " for " + file + " is " + std::to_string(count) + ": must be 0.." +
                  std::to_string(kMaxExternalDataFiles));
    return static_cast<int>(count);
  }
  throw Error(field + " for " + file + ": must be true/false or a count, found " + value.dump());
}

std::string external_data_file(const std::string& graph_path, int index) {
  return graph_path + "_data" + (index == 0 ? std::string() : "_" + std::to_string(index));
}

bool is_commit_hash(std::string_view revision) {
  if (revision.size() != 40) return false;
  for (char c : revision) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// ---- the cache alone ---------------------------------------------------------------------------

// The snapshot folder the cache has for the revision, nullopt when it has none.
std::optional<std::string> cached_commit(const hub::RepoCache& cache, const std::string& revision) {
  if (std::optional<std::string> commit = cache.read_ref(revision)) return commit;
  std::error_code ec;
  if (hub::is_safe_component(revision) && fs::is_directory(cache.snapshot_dir(revision), ec)) return revision;
  return std::nullopt;
}

// What a cached snapshot lacks for the variant ("" when complete): the required files, the graphs,
// and the external-data files config.json counts for them.
std::string snapshot_gaps(const fs::path& snapshot, const std::string& variant) {
  std::string gaps;
  const auto gap = [&](const std::string& what) { gaps += (gaps.empty() ? "" : ", ") + what; };
  std::error_code ec;
  for (const std::string& file : ModelFiles::required_support_files()) {
    if (!fs::is_regular_file(snapshot / file, ec)) gap(file);
  }
  try {
    const ModelFiles files = ModelFiles::find(snapshot, variant);
    if (!files.decoder_merged && !files.decoder_with_past) {
      // decoder_model alone is an export without past only when the hub said the with-past graph
      // does not exist (.no_exist); else the download stopped before it.
      const std::string with_past =
          (files.onnx_dir / files.graph_file("decoder_with_past_model")).lexically_relative(snapshot).generic_string();
      if (!fs::exists(snapshot.parent_path().parent_path() / ".no_exist" / snapshot.filename() / with_past, ec))
        gap(with_past);
    }
    std::ifstream in(snapshot / "config.json", std::ios::binary);
    const nlohmann::json config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (config.is_object()) {
      for (const fs::path& graph : files.graphs()) {
        const std::string relative = graph.lexically_relative(snapshot).generic_string();
        const std::optional<int> count = external_data_files(config, relative, "config.json");
        for (int i = 0; count && i < *count; ++i) {
          if (!fs::is_regular_file(snapshot / external_data_file(relative, i), ec)) gap(external_data_file(relative, i));
        }
      }
    }
  } catch (const Error& e) {
    gaps += (gaps.empty() ? "" : "; ") + std::string(e.what());
  }
  return gaps;
}

fs::path offline_snapshot(const Settings& s, std::string why) {
  if (why.starts_with(s.label() + ": ")) why.erase(0, s.label().size() + 2);  // said once, in front
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

// The hub gave no usable answer: no connection, a TLS failure, a 5xx or 429 after the retries, a
// 401/403 (private or gated repository, bad token), an unknown repository, a 404 that did not come
// from the hub, an answer without the file's metadata. As in huggingface_hub, a complete cached
// snapshot of the revision is then used; otherwise this is the error the caller sees.
// network(): nothing was answered at all (the message then says what the cache lacks).
class HubUnavailable : public Error {
 public:
  HubUnavailable(const std::string& message, bool network) : Error(message), network_(network) {}
  bool network() const { return network_; }

 private:
  bool network_;
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

// huggingface_hub's retry set: timeouts, rate limits, server errors that pass.
bool is_retryable_status(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

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

// A rate-limited answer's own word on when to come back, in seconds: the IETF RateLimit header
// the hub sends (`"resolvers";r=0;t=55`: none remaining, the window resets in 55 s) on a 429,
// else Retry-After (seconds or an HTTP date).
struct RetryHint {
  double seconds = 0;
  std::string why;  // "the 'resolvers' rate limit resets in 55 s", "Retry-After: 3"
};

std::optional<RetryHint> retry_hint(const hub::HttpResult& r) {
  if (r.status == 429) {
    if (std::optional<std::string> limit = r.header("ratelimit")) {
      const auto number_after = [&](const std::string& key) -> std::optional<uint64_t> {
        for (size_t at = limit->find(key); at != std::string::npos; at = limit->find(key, at + 1)) {
          if (at > 0 && (*limit)[at - 1] != ';' && (*limit)[at - 1] != ' ') continue;
          size_t start = at + key.size();
          size_t end = start;
          while (end < limit->size() && std::isdigit(static_cast<unsigned char>((*limit)[end]))) ++end;
          return parse_size(limit->substr(start, end - start));
        }
        return std::nullopt;
      };
      const std::optional<uint64_t> remaining = number_after("r=");
      const std::optional<uint64_t> reset = number_after("t=");
      if (remaining && *remaining == 0 && reset) {
        std::string resource;
        if (const size_t open = limit->find('"'), close = limit->find('"', open + 1);
            open != std::string::npos && close != std::string::npos)
          resource = limit->substr(open + 1, close - open - 1);
        // +1 s: t= is rounded down; asking again at t would find the window still closed.
        return RetryHint{static_cast<double>(*reset) + 1.0,
                         "the hub's '" + resource + "' rate limit resets in " + std::to_string(*reset) + " s"};
      }
    }
  }
  if (std::optional<std::string> after = r.header("retry-after")) {
    if (std::optional<uint64_t> seconds = parse_size(*after)) {
      return RetryHint{static_cast<double>(*seconds), "Retry-After: " + *after};
    }
    const time_t when = curl_getdate(after->c_str(), nullptr);  // an HTTP date
    if (when != -1) {
      const double seconds = std::max(0.0, std::difftime(when, std::time(nullptr)));
      return RetryHint{seconds, "Retry-After: " + *after};
    }
  }
  return std::nullopt;
}

void sleep_seconds(double seconds) {
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
}

void backoff(int attempt) {
  const int ms = std::min(4000, 250 << std::min(attempt, 4));
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// "scheme://host[:port]" of a URL.
std::string origin_of(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t path = url.find_first_of("/?#", scheme == std::string::npos ? 0 : scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

bool has_scheme(const std::string& reference) {
  const size_t colon = reference.find("://");
  return colon != std::string::npos && reference.find_first_of("/?#") > colon;
}

// A Location header against the URL it answered (RFC 3986 reference resolution for the forms
// servers send: absolute, //host/path, /path?query, relative path). The query is kept: the hub's
// /api/resolve-cache/... redirects carry the ETag in it.
std::string resolve_location(const std::string& base, const std::string& location) {
  if (has_scheme(location)) return location;
  if (location.starts_with("//")) return base.substr(0, base.find("://") + 1) + location;
  if (location.starts_with("/")) return origin_of(base) + location;
  std::string directory = base.substr(0, base.find_first_of("?#", origin_of(base).size()));
  directory = directory.substr(0, directory.rfind('/') + 1);
  if (directory.size() <= origin_of(base).size()) directory = origin_of(base) + "/";
  return directory + location;
}

struct FileMeta {
  bool exists = false;
  std::string commit;  // X-Repo-Commit, "" when the server sent none
  std::string etag;    // the blob name
  bool lfs = false;    // the ETag came from X-Linked-Etag: the content's sha256
  std::optional<uint64_t> size;
  std::string url;  // the resolve URL asked (messages; GET starts from the pinned commit's)
  // When !exists: the hub itself said so (404 with X-Error-Code: EntryNotFound), and at which
  // commit (X-Repo-Commit of that 404): only then is the absence recorded in .no_exist.
  bool absence_confirmed = false;
  std::string absent_at_commit;
};

class HubSession {
 public:
  // cache_fallback: a complete cached snapshot exists, so a failing hub is not waited for (no
  // retries, no rate-limit waits): the caller uses the cache at once, as huggingface_hub does.
  HubSession(const Settings& settings, bool model_context, bool cache_fallback)
      : s_(settings),
        options_(*settings.options),
        cache_(settings.cache_root, settings.repo),
        http_(HttpSettingsFor(settings)),
        bar_(options_.progress_bar),
        pinned_revision_(settings.revision),
        model_context_(model_context),
        cache_fallback_(cache_fallback) {}

  const hub::RepoCache& cache() const { return cache_; }
  const std::string& commit() const { return commit_; }

  // Metadata of one file (HEAD). exists=false for a 404 on the file itself; a missing revision
  // throws Error; anything else the hub cannot answer throws HubUnavailable.
  FileMeta head(const std::string& repo_path) {
    if (!hub::is_valid_repo_path(repo_path))
      throw Error("file name '" + repo_path + "': refused (must be relative, without '..' or '\\')");
    const std::string resolve_url = resolve_url_for(repo_path);
    std::string url = resolve_url;
    bool with_token = true;
    hub::HttpResult r;
    for (int hops = 0;; ++hops) {
      r = head_with_retries(url, with_token, repo_path);
      if (!is_redirect(r.status)) break;
      // The redirect to the file storage carries the file's metadata (X-Linked-Etag for LFS files;
      // X-Repo-Commit and an ETag otherwise): stop there. Any other redirect (a renamed repository,
      // the hub's /api/resolve-cache/..., a mirror sending to another host) is followed.
      if (r.header("x-linked-etag") || (r.header("x-repo-commit") && r.header("etag") && has_scheme(r.header("location").value_or(""))))
        break;
      const std::optional<std::string> location = r.header("location");
      if (!location || location->empty())
        throw HubUnavailable(s_.label() + ": " + repo_path + ": HTTP " + std::to_string(r.status) + " from " + url +
                                 " without a Location header",
                             false);
      const std::string next = resolve_location(url, *location);
      if (!next.starts_with("http://") && !next.starts_with("https://"))
        throw HubUnavailable(s_.label() + ": " + repo_path + ": " + url + " redirects to '" + next + "': refused (http/https only)", false);
      if (hops >= 10) throw HubUnavailable(s_.label() + ": " + repo_path + ": too many redirects from " + resolve_url, false);
      // The token is for the hub (HF_ENDPOINT) only, never for a host it sends us to.
      with_token = origin_of(next) == origin_of(s_.endpoint);
      url = next;
    }

    FileMeta meta;
    meta.url = url;
    if (r.status == 404) {
      const std::string code = r.header("x-error-code").value_or("");
      if (code == "RevisionNotFound") throw http_error(r, url, repo_path);
      if (code == "EntryNotFound") {
        meta.absence_confirmed = true;
        const std::string commit = r.header("x-repo-commit").value_or("");
        if (hub::is_safe_component(commit)) meta.absent_at_commit = commit;
        return meta;
      }
      if (code.empty()) return meta;  // a 404 the hub did not explain: absent for this run, not recorded
    }
    if (r.status != 200 && !is_redirect(r.status)) throw HubUnavailable(http_error(r, url, repo_path).what(), false);

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
      throw HubUnavailable(s_.label() + ": " + repo_path + ": " + url + " answered without an ETag; is " + s_.endpoint +
                               " (HF_ENDPOINT) a Hugging Face hub, or is a proxy answering in its place?",
                           false);
    }
    std::optional<std::string> blob = hub::etag_to_blob_name(*etag);
    if (!blob) {
      throw Error(s_.label() + ": " + repo_path + ": ETag '" + *etag + "' from " + url +
                  ": refused (a blob name must be [A-Za-z0-9._-], no path)");
    }
    meta.etag = *blob;
    meta.lfs = linked_etag.has_value();
    // The size of the file, never the redirect's own Content-Length.
    meta.size = parse_size(r.header("x-linked-size"));
    if (!meta.size && !is_redirect(r.status)) meta.size = parse_size(r.header("content-length"));
    note_commit(meta.commit.empty() ? std::nullopt : std::optional<std::string>(meta.commit), url);
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

  // Records in .no_exist/<commit>/ a file the hub said (EntryNotFound, with its commit) is absent.
  void mark_missing(const std::string& repo_path, const FileMeta& meta) {
    if (meta.absence_confirmed && !meta.absent_at_commit.empty()) cache_.mark_missing(meta.absent_at_commit, repo_path);
  }

  void write_ref() {
    if (!commit_.empty() && commit_ != s_.revision) cache_.write_ref(s_.revision, commit_);
  }

  // The error for a file that must exist and does not: the hub said so (Error), or a 404 came
  // without the hub's X-Error-Code (a proxy or mirror: HubUnavailable, the cache may serve).
  [[noreturn]] void absent(const FileMeta& meta, const std::string& message) const {
    if (meta.absence_confirmed) throw Error(message);
    throw HubUnavailable(message + "; the 404 from " + meta.url +
                             " came without the hub's X-Error-Code: EntryNotFound (a proxy or mirror answering?)",
                         false);
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

  std::string resolve_url_for(const std::string& repo_path) const {
    return s_.endpoint + "/" + s_.repo.owner + "/" + s_.repo.name + "/resolve/" + hub::url_encode(pinned_revision_, false) +
           "/" + hub::url_encode(repo_path, true);
  }

  // How long to wait before retrying a retryable status (attempt counts from 0); throws
  // HubUnavailable when the answer asks for longer than max_retry_wait_s.
  double wait_before_retry(const hub::HttpResult& r, int attempt, const std::string& url, const std::string& repo_path) const {
    const std::optional<RetryHint> hint = retry_hint(r);
    if (!hint) return std::min(4.0, 0.25 * (1 << std::min(attempt, 4)));
    if (hint->seconds > static_cast<double>(options_.max_retry_wait_s)) {
      throw HubUnavailable(std::string(http_error(r, url, repo_path).what()) + "; not waiting that long (more than " +
                               std::to_string(options_.max_retry_wait_s) + " s): try again later",
                           false);
    }
    if (options_.progress_bar && ::isatty(STDERR_FILENO) == 1 && hint->seconds >= 2) {
      std::fprintf(stderr, "opusrt: %s: HTTP %ld (%s); waiting %.0f s before asking again\n", repo_path.c_str(), r.status,
                   hint->why.c_str(), hint->seconds);
    }
    return hint->seconds;
  }

  hub::HttpResult head_with_retries(const std::string& url, bool with_token, const std::string& repo_path) {
    for (int attempt = 0;; ++attempt) {
      hub::HttpResult r = http_.head(url, with_token);
      if (r.curl_code != 0) {
        // A refused connection or an unknown host does not get better by asking again.
        if (!cache_fallback_ && !r.unreachable() && r.transient_error() && attempt < options_.max_retries) {
          backoff(attempt);
          continue;
        }
        throw HubUnavailable(s_.label() + ": " + repo_path + ": cannot reach the hub: HEAD " + url + " failed: " +
                                 r.curl_error + " (HF_ENDPOINT " + s_.endpoint + ")",
                             true);
      }
      if (!is_retryable_status(r.status)) return r;
      if (cache_fallback_ || attempt >= options_.max_retries) throw HubUnavailable(http_error(r, url, repo_path).what(), false);
      sleep_seconds(wait_before_retry(r, attempt, url, repo_path));
    }
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
    const std::string page = s_.endpoint + "/" + s_.repo.id();
    if (code == "GatedRepo") {
      message += ". " + s_.repo.id() + " is a gated repository: " +
                 (s_.token.empty()
                      ? "sign in at " + page + ", accept its access conditions, then set HF_TOKEN to a token of that account"
                      : "the account of the token (HF_TOKEN) has not been granted access yet; accept the conditions at " + page +
                            " (some need the authors' approval)");
    } else if (r.status == 401 || r.status == 403) {
      message += s_.token.empty()
                     ? ". The repository may be private or gated, or may not exist: set HF_TOKEN to a token that can read it"
                     : ". The token (HF_TOKEN) was refused or cannot read this repository (gated? accept its terms on the hub)";
    } else if (code == "RevisionNotFound") {
      message += ". No revision '" + s_.revision + "' in " + s_.repo.id();
    } else if (code == "RepoNotFound") {
      message += ". No repository " + s_.repo.id() + " (or it is private: set HF_TOKEN)";
    } else if (r.status == 404) {
      message += ". Not found";
    } else if (r.status == 429) {
      const std::optional<RetryHint> hint = retry_hint(r);
      message += ". Rate limited" + (hint ? ": " + hint->why : std::string()) +
                 (s_.token.empty() ? " (signed-in users get higher limits: set HF_TOKEN)" : "");
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
  // hashing the bytes as they are written, checks size and sha256, then renames to blobs/<etag>.
  void download_blob(const std::string& repo_path, const FileMeta& meta, const fs::path& blob) {
    const fs::path incomplete = cache_.incomplete(meta.etag);
    const std::optional<uint64_t> expected = meta.size;
    // GET from the pinned commit, so that every file comes from the same snapshot; the hub's
    // redirects (renamed repository, file storage on another host) are followed from there.
    const std::string url = resolve_url_for(repo_path);
    std::error_code ec;
    fs::create_directories(incomplete.parent_path(), ec);
    if (ec) throw Error(incomplete.parent_path().string() + ": cannot create directory: " + ec.message());
    uint64_t first_offset = fs::exists(incomplete, ec) ? fs::file_size(incomplete, ec) : 0;
    bar_.start(repo_path, first_offset);

    // The sha256 of the first `hashed` bytes of `incomplete`: a resumed download hashes what an
    // earlier attempt left (read once), then every byte as it arrives.
    const bool check_sha = meta.lfs && options_.verify_sha256 && is_sha256_hex(meta.etag);
    hub::Sha256 hash;
    uint64_t hashed = 0;
    const auto restart_hash = [&] {
      hash.reset();
      hashed = 0;
    };

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
          const std::string encoding = lower(response.header("content-encoding").value_or("identity"));
          if (encoding != "identity") {
            throw Error(s_.label() + ": " + repo_path + ": " + url + " sent the file with Content-Encoding: " + encoding +
                        " although asked for identity; its size and sha256 cannot be checked (a proxy compressing?)");
          }
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
            if (check_sha && hashed != offset) {
              restart_hash();
              hashed = hash.update_from_file(incomplete, offset);
            }
            file.reset(std::fopen(incomplete.c_str(), "ab"));
          } else {
            base = 0;
            restart_hash();
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
        if (check_sha) {
          hash.update(data);
          hashed += data.size();
        }
        written += data.size();
        report(repo_path, base + written, expected.value_or(announced.value_or(0)));
        return true;
      };
      const hub::HttpResult r = http_.get(url, offset, on_body);
      if (file) {
        const bool flushed = std::fflush(file.get()) == 0 && ::fsync(::fileno(file.get())) == 0;
        if (!flushed) throw Error(incomplete.string() + ": write failed (disk full?)");
        file.reset();
      }

      if (r.aborted_by_handler) {
        if (bad_range) {  // the server answered another range than asked: start over
          fs::remove(incomplete, ec);
          restart_hash();
          if (attempt < options_.max_retries) continue;
          throw Error(s_.label() + ": " + repo_path + ": " + url + " answered a Range request with the wrong range");
        }
        size_error(repo_path, incomplete, url, *expected, announced.value_or(0), "the server sent");
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
        throw Error(s_.label() + ": " + repo_path + ": download from " + url + " interrupted after " +
                    std::to_string(have) + (expected ? " of " + std::to_string(*expected) : std::string()) +
                    " bytes: " + r.curl_error + (have > 0 ? "; run again to resume" : ""));
      }
      if (r.status == 416 && offset > 0) {
        // Nothing past `offset`: the server's file is shorter than the size it announced.
        if (expected && offset < *expected) size_error(repo_path, incomplete, url, *expected, offset, "the server has only");
        fs::remove(incomplete, ec);
        restart_hash();
        continue;
      }
      if (r.status != 200 && r.status != 206) {
        if (is_retryable_status(r.status) && attempt < options_.max_retries) {
          sleep_seconds(wait_before_retry(r, attempt, url, repo_path));
          continue;
        }
        throw http_error(r, url, repo_path);
      }
      if (!fs::exists(incomplete, ec)) hub::write_file_atomically(incomplete, "");  // an empty body
      const uint64_t got = fs::file_size(incomplete, ec);
      if (expected && got != *expected) size_error(repo_path, incomplete, url, *expected, got, "got");
      break;
    }

    const uint64_t size = fs::file_size(incomplete, ec);
    if (check_sha) {
      if (hashed != size) {  // complete before this call (an earlier run stopped before the rename)
        restart_hash();
        hashed = hash.update_from_file(incomplete);
      }
      const std::string digest = hash.hex_digest();
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
  bool model_context_ = false;
  bool cache_fallback_ = false;
};

FileMeta require(HubSession& session, const Settings& s, const std::string& repo_path) {
  FileMeta meta = session.head(repo_path);
  if (!meta.exists) session.absent(meta, s.label() + ": the repository has no " + repo_path + " (HTTP 404 from " + meta.url + ")");
  return meta;
}

fs::path download_model(const Settings& s, bool cache_fallback) {
  HubSession session(s, /*model_context=*/true, cache_fallback);
  std::vector<std::pair<std::string, FileMeta>> files;
  std::vector<std::pair<std::string, FileMeta>> absent;
  const auto optional = [&](const std::string& path) {
    FileMeta meta = session.head(path);
    const bool exists = meta.exists;
    if (exists) {
      files.emplace_back(path, std::move(meta));
    } else {
      absent.emplace_back(path, std::move(meta));
    }
    return exists;
  };

  // config.json first, into the cache: it says how many external-data files each graph has.
  FileMeta config_meta = require(session, s, "config.json");
  const fs::path config_path = session.fetch("config.json", config_meta);
  nlohmann::json config;
  {
    std::ifstream in(config_path, std::ios::binary);
    config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  }
  for (const std::string& path : ModelFiles::required_support_files()) {
    if (path != "config.json") files.emplace_back(path, require(session, s, path));
  }
  for (const std::string& path : ModelFiles::optional_support_files()) optional(path);

  // The graphs: the Xenova layout (onnx/) first, then the repository root.
  const std::string xenova_encoder = hub::graph_file("onnx/encoder_model", s.variant);
  const std::string root_encoder = hub::graph_file("encoder_model", s.variant);
  std::string graph_dir;
  FileMeta encoder = session.head(xenova_encoder);
  if (encoder.exists) {
    graph_dir = "onnx/";
  } else {
    FileMeta xenova = std::move(encoder);
    encoder = session.head(root_encoder);
    if (!encoder.exists) {
      session.absent(xenova.absence_confirmed ? encoder : xenova,
                     s.label() + ": the repository has no " + xenova_encoder + " nor " + root_encoder +
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
    absent.emplace_back(merged, merged_meta);
    const std::string decoder = graph_dir + hub::graph_file("decoder_model", s.variant);
    const std::string with_past = graph_dir + hub::graph_file("decoder_with_past_model", s.variant);
    FileMeta decoder_meta = session.head(decoder);
    if (!decoder_meta.exists) {
      session.absent(decoder_meta, s.label() + ": the repository has no decoder: need " + merged + ", or " + decoder +
                                       " (with " + with_past + " for the KV cache)");
    }
    graphs.push_back(decoder);
    files.emplace_back(decoder, std::move(decoder_meta));
    // Without it the repository is an export without past: decoder_model alone, run in recompute
    // mode. Only when the hub says so: a proxy's 404 is no proof (absent() then lets the cache serve).
    FileMeta with_past_meta = session.head(with_past);
    if (with_past_meta.exists) {
      graphs.push_back(with_past);
      files.emplace_back(with_past, std::move(with_past_meta));
    } else {
      if (!with_past_meta.absence_confirmed)
        session.absent(with_past_meta, s.label() + ": " + with_past + " is missing and the hub did not confirm it");
      absent.emplace_back(with_past, with_past_meta);
    }
  }

  // External weights: as many files as config.json counts (transformers.js), all required; when
  // it does not say, <graph>.onnx_data and the _1, _2, ... shards that follow it, when present.
  for (const std::string& graph : graphs) {
    const std::optional<int> count =
        config.is_object() ? external_data_files(config, graph, s.label() + ": config.json") : std::nullopt;
    if (count) {
      for (int i = 0; i < *count; ++i) {
        const std::string data = external_data_file(graph, i);
        files.emplace_back(data, session.head(data));
        if (!files.back().second.exists) {
          session.absent(files.back().second, s.label() + ": the repository has no " + data + ", one of the " +
                                                  std::to_string(*count) + " external-data files config.json's "
                                                  "transformers.js_config.use_external_data_format counts for " + graph);
        }
      }
    } else {
      for (int i = 0; i < kMaxExternalDataFiles && optional(external_data_file(graph, i)); ++i) {
      }
    }
  }

  for (const auto& [path, meta] : files) session.fetch(path, meta);
  for (const auto& [path, meta] : absent) session.mark_missing(path, meta);
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
  const std::optional<fs::path> cached = complete_cached_snapshot(s);
  // A commit never changes: cached, it is used without asking the hub (as huggingface_hub does).
  if (cached && is_commit_hash(s.revision)) return *cached;
  try {
    return download_model(s, cached.has_value());
  } catch (const HubUnavailable& e) {
    if (cached) {
      if (options.progress_bar && ::isatty(STDERR_FILENO) == 1)
        std::fprintf(stderr, "opusrt: %s; using the cached %s\n", e.what(), cached->string().c_str());
      return *cached;
    }
    if (e.network()) return offline_snapshot(s, e.what());  // throws, naming what the cache lacks
    throw;
  }
}

fs::path hub_download(const std::string& repo_id, const std::string& filename, const HubOptions& options) {
  const Settings s = make_settings(parse_repo_or_throw(repo_id), options);
  if (!hub::is_valid_repo_path(filename))
    throw Error("file name '" + filename + "': refused (must be relative, without '..' or '\\')");
  const hub::RepoCache cache(s.cache_root, s.repo);
  const auto cached = [&]() -> std::optional<fs::path> {
    const std::optional<std::string> commit = cached_commit(cache, s.revision);
    std::error_code ec;
    if (commit) {
      const fs::path path = cache.snapshot_file(*commit, filename);
      if (fs::is_regular_file(path, ec)) return path;
    }
    return std::nullopt;
  };
  const auto from_cache = [&](const std::string& why) {
    if (std::optional<fs::path> path = cached()) return *path;
    throw Error(s.label() + ": " + why + ", and " + filename + " is not in the Hugging Face cache (" +
                cache.dir().string() + ")");
  };
  if (s.offline) return from_cache("offline (HF_HUB_OFFLINE)");
  const std::optional<fs::path> in_cache = cached();
  if (in_cache && is_commit_hash(s.revision)) return *in_cache;
  try {
    HubSession session(s, /*model_context=*/false, in_cache.has_value());
    const FileMeta meta = require(session, s, filename);
    const fs::path path = session.fetch(filename, meta);
    session.write_ref();
    return path;
  } catch (const HubUnavailable& e) {
    if (in_cache) return *in_cache;
    if (e.network()) return from_cache(e.what());
    throw;
  }
}

}  // namespace opusrt
