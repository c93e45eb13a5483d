#!/usr/bin/env bash
# apt-ensure.sh COMMAND PACKAGE: make sure COMMAND exists, installing Debian's PACKAGE when
# apt-get is available to root or password-less sudo. Exit 1 (saying why) when it cannot.
set -euo pipefail
cmd=$1 pkg=$2
# An empty COMMAND installs PACKAGE when it is not installed yet (no command to look for).
if [ -n "$cmd" ]; then command -v "$cmd" >/dev/null 2>&1 && exit 0; else
  dpkg -s "$pkg" >/dev/null 2>&1 && exit 0; fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo -n"
  echo "${cmd:-$pkg} not found; installing Debian's $pkg package…"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$pkg" >/dev/null
  exit 0
fi
echo "${cmd:-$pkg} is not installed and cannot be installed here (no apt-get, or no root/sudo):" \
     "install the $pkg package" >&2
exit 1
