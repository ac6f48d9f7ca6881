// The table cmake/web_assets.cmake generates (build/generated/web_assets_data.cc); only web_assets.cc reads it.
#pragma once

#include <span>
#include <string_view>

namespace r1::server {

struct EmbeddedWebAsset {
  std::string_view path;  // URL path, "/" or "/assets/..."
  std::string_view body;
  std::string_view content_type;
};

std::span<const EmbeddedWebAsset> embedded_web_assets();

}  // namespace r1::server
