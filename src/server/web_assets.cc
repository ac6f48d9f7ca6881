#include "server/web_assets.h"

#include "server/web_assets_data.h"

namespace r1::server {

std::optional<WebAsset> web_asset(std::string_view path) {
  if (path == "/index.html") path = "/";
  // A few dozen entries, looked up once per page load: a linear scan is all this needs.
  for (const EmbeddedWebAsset& asset : embedded_web_assets()) {
    if (asset.path == path) return WebAsset{asset.body, asset.content_type};
  }
  return std::nullopt;
}

std::vector<std::string_view> web_asset_paths() {
  std::vector<std::string_view> paths;
  for (const EmbeddedWebAsset& asset : embedded_web_assets()) paths.push_back(asset.path);
  return paths;
}

}  // namespace r1::server
