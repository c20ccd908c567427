#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (fuse for fusermount, busybox for the shell-script tests,
# Chromium for the dashboard test, sshd for remote-source tests). Idempotent; quiet when all
# are present. Needs root (or sudo) to install.
set -euo pipefail
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for pkg in fuse busybox-static chromium openssh-server openssh-client; do
  have "$pkg" || need+=("$pkg")
done
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "install-system-deps: installing ${need[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install-system-deps: need root to install: ${need[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
