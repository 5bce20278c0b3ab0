#pragma once

// Validation of every name that becomes part of a local path or a URL: repository ids,
// revisions, variants, repository file paths, and the ETag / commit a server answers with.
// Nothing that fails these checks ever reaches the file system.
#include <optional>
#include <string>
#include <string_view>

namespace opusrt::hub {

struct RepoId {
  std::string owner;
  std::string name;
  std::string id() const { return owner + "/" + name; }
  std::string cache_folder() const { return "models--" + owner + "--" + name; }  // huggingface_hub's
};

// `owner/name`, each part [A-Za-z0-9][A-Za-z0-9._-]* (at most 96 characters), no ".." and no "--"
// (the cache folder name joins the parts with "--"). nullopt when invalid.
std::optional<RepoId> parse_repo_id(std::string_view text);

// A single path component safe as a file or folder name: [A-Za-z0-9._-]{1,255}, not "." / "..".
bool is_safe_component(std::string_view text);

// A branch, tag or commit: '/'-separated safe components (refs/pr/1), at most 255 characters.
bool is_valid_revision(std::string_view text);

// A file in a repository: relative, '/'-separated, no empty / "." / ".." segment, no backslash,
// no control character, at most 1024 bytes.
bool is_valid_repo_path(std::string_view text);

// A variant suffix: [A-Za-z0-9_-]{1,64} (fp16, quantized, q4f16, ...).
bool is_valid_variant(std::string_view text);

// An ETag header value as a blob name: W/ and quotes stripped; nullopt when the result is not a
// safe component or would collide with the cache's own `.incomplete` files.
std::optional<std::string> etag_to_blob_name(std::string_view header_value);

// Percent-encodes everything but unreserved characters; '/' kept when keep_slash.
std::string url_encode(std::string_view text, bool keep_slash);

// "onnx/encoder_model" + "quantized" -> "onnx/encoder_model_quantized.onnx"
std::string graph_file(std::string_view stem, std::string_view variant);

}  // namespace opusrt::hub
