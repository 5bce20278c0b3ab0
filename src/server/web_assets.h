#pragma once

// The translation page's files (src/server/web/), compiled into the binary at build time
// (cmake/EmbedWebAssets.cmake): the page works offline and needs no files next to the server.
//
//   for (const WebAsset& asset : web_assets()) serve(asset.path, asset.content_type, asset.content);
#include <span>
#include <string_view>

namespace opusrt::server {

struct WebAsset {
  std::string_view path;          // "/index.html", "/app.js", ...
  std::string_view content_type;  // "text/html; charset=utf-8", ...
  std::string_view content;
};

std::span<const WebAsset> web_assets();

}  // namespace opusrt::server
