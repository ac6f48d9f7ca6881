#!/usr/bin/env bash
# Installs what r1 needs to build and test, and nothing that is already there.
# Debian packages only; Python packages for the test oracles are installed by the tests that need them.
set -euo pipefail

packages=(cmake g++ make pkg-config libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev
          libfmt-dev libcli11-dev libpcre2-dev libutf8proc-dev libhwy-dev libcpp-httplib-dev
          # the web page's libraries, embedded into r1 at build time, and the browser its tests drive
          libjs-marked libjs-katex libjs-highlight.js node-dompurify chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
