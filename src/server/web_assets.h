// The chat page served at `/` by `r1 serve` and the libraries it loads, compiled into the binary so that nothing
// needs to be installed or fetched at run time. The files are listed in src/server/web/assets.txt and embedded
// by cmake/web_assets.cmake from the source tree and from Debian's libjs-* packages.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace r1::server {

struct WebAsset {
  std::string_view body;          // the file's bytes, static for the life of the program
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8", "font/woff2"
};

// The page and its libraries by URL path: "/" and "/index.html" -> the page; "/assets/..." -> its script, its
// style sheet and the libraries. Anything else (a query string included: strip it first) -> nullopt.
std::optional<WebAsset> web_asset(std::string_view path);

// Every URL path web_asset() answers except the "/index.html" alias, in manifest order (for tests and logs).
std::vector<std::string_view> web_asset_paths();

}  // namespace r1::server
