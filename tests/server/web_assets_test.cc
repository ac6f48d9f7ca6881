// The embedded chat page: everything it loads is embedded and served with the right type, and nothing is fetched
// from the network. Expectations come from the page's own markup and the files on disk, not from the manifest.
#include "server/web_assets.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

using r1::server::web_asset;
using r1::server::web_asset_paths;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string page_source(const std::string& name) {
  return read_file(std::string(R1_SOURCE_DIR) + "/src/server/web/" + name);
}

// Resolves a reference found in the file served at `base` ("/assets/katex/katex.min.css") the way a browser
// does for the simple relative forms the page and the libraries use.
std::string resolve(const std::string& base, const std::string& ref) {
  if (ref.starts_with("/")) return ref;
  return base.substr(0, base.rfind('/') + 1) + ref;
}

std::vector<std::string> matches(const std::string& text, const std::regex& pattern) {
  std::vector<std::string> found;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), pattern); it != std::sregex_iterator(); ++it) {
    found.push_back((*it)[1].str());
  }
  return found;
}

std::string expected_type(std::string_view path) {
  if (path == "/" || path.ends_with(".html")) return "text/html; charset=utf-8";
  if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (path.ends_with(".css")) return "text/css; charset=utf-8";
  if (path.ends_with(".woff2")) return "font/woff2";
  return "unknown extension";
}

TEST(WebAssets, PageIsServedAtRootAndIndexHtml) {
  auto root = web_asset("/");
  auto index = web_asset("/index.html");
  ASSERT_TRUE(root.has_value());
  ASSERT_TRUE(index.has_value());
  EXPECT_EQ(root->body, index->body);
  EXPECT_EQ(root->content_type, "text/html; charset=utf-8");
  // Byte for byte the file in the source tree (the embedding must not drop NULs, semicolons or newlines).
  EXPECT_EQ(root->body, page_source("index.html"));
  EXPECT_EQ(web_asset("/assets/app.js")->body, page_source("app.js"));
  EXPECT_EQ(web_asset("/assets/markdown.js")->body, page_source("markdown.js"));
  EXPECT_EQ(web_asset("/assets/style.css")->body, page_source("style.css"));
}

TEST(WebAssets, EverythingThePageReferencesResolves) {
  const std::string page(web_asset("/")->body);
  const auto refs = matches(page, std::regex(R"re((?:src|href)="([^"]+)")re"));
  int loaded = 0;
  for (const std::string& ref : refs) {
    if (ref.starts_with("data:")) continue;  // inline (the empty favicon): nothing to fetch
    EXPECT_TRUE(web_asset(resolve("/", ref)).has_value()) << ref;
    ++loaded;
  }
  // Four libraries (marked, KaTeX, highlight.js, DOMPurify), KaTeX's and two highlight.js style sheets, the
  // page's two scripts and its style sheet.
  EXPECT_EQ(loaded, 10);
}

TEST(WebAssets, KatexFontsResolveInTheFormatBrowsersPickFirst) {
  auto css = web_asset("/assets/katex/katex.min.css");
  ASSERT_TRUE(css.has_value());
  const auto urls = matches(std::string(css->body), std::regex(R"re(url\(["']?([^"')]+)["']?\))re"));
  int woff2 = 0;
  for (const std::string& url : urls) {
    // Each @font-face lists woff2 first; the woff and ttf fallbacks are deliberately not embedded.
    if (!url.ends_with(".woff2")) continue;
    ++woff2;
    auto font = web_asset(resolve("/assets/katex/katex.min.css", url));
    ASSERT_TRUE(font.has_value()) << url;
    EXPECT_TRUE(font->body.starts_with("wOF2")) << url;  // the WOFF2 signature: bytes arrived intact
  }
  EXPECT_GE(woff2, 10);  // KaTeX 0.16 has 20 faces
}

TEST(WebAssets, ContentTypesMatchExtensions) {
  const auto paths = web_asset_paths();
  ASSERT_FALSE(paths.empty());
  for (std::string_view path : paths) {
    auto asset = web_asset(path);
    ASSERT_TRUE(asset.has_value()) << path;
    EXPECT_EQ(asset->content_type, expected_type(path)) << path;
    EXPECT_FALSE(asset->body.empty()) << path;
  }
}

TEST(WebAssets, NothingIsLoadedFromTheNetwork) {
  for (const char* path : {"/", "/assets/app.js", "/assets/markdown.js", "/assets/style.css"}) {
    const std::string body(web_asset(path)->body);
    EXPECT_EQ(body.find("http://"), std::string::npos) << path;
    EXPECT_EQ(body.find("https://"), std::string::npos) << path;
    EXPECT_EQ(body.find("//cdn"), std::string::npos) << path;
  }
  // Library style sheets may only point at embedded files (the libraries' scripts mention URLs in comments and
  // namespaces, which load nothing).
  const std::regex remote_url(R"re(url\(["']?(?:https?:)?//)re");
  for (std::string_view path : web_asset_paths()) {
    if (!path.ends_with(".css")) continue;
    EXPECT_FALSE(std::regex_search(std::string(web_asset(path)->body), remote_url)) << path;
  }
}

TEST(WebAssets, UnknownPathsAreNotFound) {
  for (const char* path : {"", "/assets/", "/assets/nope.js", "/index.htm", "/../etc/passwd", "/assets/app.js?x=1",
                           "assets/app.js"}) {
    EXPECT_FALSE(web_asset(path).has_value()) << path;
  }
}

}  // namespace
