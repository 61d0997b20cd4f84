#!/usr/bin/env bash
# Installs the Debian packages hako's build and tests need, if any is missing (run as root).
# The managers (podman, containerd, Docker) are for test/managers; bsdutils has `script`.
set -euo pipefail
packages=(cmake g++ make python3 binutils runc busybox-static podman conmon catatonit containerd docker.io bsdutils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
