#!/usr/bin/env bash
# Install the Debian packages a test suite needs, when their commands are missing.
# Usage: scripts/debian-packages.sh COMMAND=PACKAGE[,PACKAGE...] ...
# e.g.   scripts/debian-packages.sh lua5.4=lua5.4 kamailio=kamailio,kamailio-utils-modules
set -euo pipefail

missing=()
for spec in "$@"; do
  command="${spec%%=*}"
  packages="${spec#*=}"
  if ! command -v "$command" >/dev/null 2>&1; then
    IFS=, read -r -a list <<<"$packages"
    missing+=("${list[@]}")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "debian-packages: missing ${missing[*]} and no apt-get here; install them by hand" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "debian-packages: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "debian-packages: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
