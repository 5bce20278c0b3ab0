#include "hub/names.h"

#include <cctype>

namespace opusrt::hub {
namespace {

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool is_repo_part(std::string_view part) {
  if (part.empty() || part.size() > 96 || !is_alnum(part.front())) return false;
  for (char c : part) {
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return part.find("..") == std::string_view::npos && part.find("--") == std::string_view::npos;
}

}  // namespace

std::optional<RepoId> parse_repo_id(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view owner = text.substr(0, slash);
  const std::string_view name = text.substr(slash + 1);
  if (!is_repo_part(owner) || !is_repo_part(name)) return std::nullopt;
  return RepoId{std::string(owner), std::string(name)};
}

bool is_safe_component(std::string_view text) {
  if (text.empty() || text.size() > 255 || text == "." || text == "..") return false;
  for (char c : text) {
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

bool is_valid_revision(std::string_view text) {
  if (text.empty() || text.size() > 255) return false;
  size_t start = 0;
  while (true) {
    const size_t slash = text.find('/', start);
    const std::string_view part = text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!is_safe_component(part)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool is_valid_repo_path(std::string_view text) {
  if (text.empty() || text.size() > 1024) return false;
  size_t start = 0;
  while (true) {
    const size_t slash = text.find('/', start);
    const std::string_view part = text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    for (char c : part) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f || c == '\\') return false;
    }
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool is_valid_variant(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  for (char c : text) {
    if (!is_alnum(c) && c != '_' && c != '-') return false;
  }
  return true;
}

std::optional<std::string> etag_to_blob_name(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.starts_with("W/")) value.remove_prefix(2);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
  if (!is_safe_component(value) || value.ends_with(".incomplete") || value.front() == '.') return std::nullopt;
  return std::string(value);
}

std::string url_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (is_alnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string graph_file(std::string_view stem, std::string_view variant) {
  std::string name(stem);
  if (!variant.empty()) name.append("_").append(variant);
  return name + ".onnx";
}

}  // namespace opusrt::hub
