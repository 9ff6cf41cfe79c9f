#!/usr/bin/env bash
# Install FreeSWITCH for the FreeSWITCH end-to-end suite, when none is there.
# Nothing happens when FS_HOME names an existing install (bin/freeswitch under it) or when
# /opt/freeswitch/bin/freeswitch exists. Otherwise the package freeswitch-minimal 1.10.12 is
# installed from $FREESWITCH_DEB_DIR, else from ../shared/freeswitch/ beside the repository,
# after checking its sha256; apt brings its Debian libraries. Nothing else is downloaded.
set -euo pipefail

deb=freeswitch-minimal_1.10.12-1_amd64.deb
sha256=b1e58dab6e2b05b5fca3f258de04f9fb894baee960c3aca05e13871fdc7c2736

if [ -n "${FS_HOME:-}" ]; then
  [ -x "$FS_HOME/bin/freeswitch" ] && exit 0
  echo "freeswitch-package: FS_HOME=$FS_HOME has no bin/freeswitch" >&2
  exit 1
fi
[ -x /opt/freeswitch/bin/freeswitch ] && exit 0

repo=$(cd "$(dirname "$0")/.." && pwd)
file=""
for dir in ${FREESWITCH_DEB_DIR:+"$FREESWITCH_DEB_DIR"} "$repo/../shared/freeswitch"; do
  if [ -f "$dir/$deb" ]; then file=$(cd "$dir" && pwd)/$deb; break; fi
done
if [ -z "$file" ]; then
  echo "freeswitch-package: no FreeSWITCH found: set FS_HOME to an install, or put $deb in FREESWITCH_DEB_DIR (or ../shared/freeswitch/)" >&2
  exit 1
fi
if ! echo "$sha256  $file" | sha256sum --check --status; then
  echo "freeswitch-package: $file does not have the expected sha256 $sha256" >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "freeswitch-package: need root (or sudo) to install $deb" >&2; exit 1; }
  sudo="sudo"
fi
echo "freeswitch-package: installing $file"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$file" >/dev/null
/opt/freeswitch/bin/freeswitch -version
