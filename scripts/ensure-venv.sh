#!/usr/bin/env bash
# ensure-venv.sh PYTHON DIR: create the virtualenv DIR. A stock Debian/Ubuntu python3 lacks
# ensurepip (package pythonX.Y-venv), so `python3 -m venv` fails there: install it when
# apt-get is available to root or password-less sudo, else say exactly what to install.
set -euo pipefail
py=$1 dir=$2
here=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$py" -m venv "$dir" 2>"$log" && exit 0
rm -rf "$dir"  # a half-made venv (no pip) would pass for a working one next time
pkg="python$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
if ! "$here/scripts/apt-ensure.sh" "" "$pkg"; then
  cat "$log" >&2
  echo "Vigil: '$py -m venv' failed; install the $pkg package (sudo apt-get install $pkg)" \
       "and run make again" >&2
  exit 1
fi
"$py" -m venv "$dir"
