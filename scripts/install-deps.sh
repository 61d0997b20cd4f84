#!/usr/bin/env bash
# Installs the Debian packages hako's build and tests need, if any is missing (run as root).
# The managers (podman, containerd, Docker) are for test/managers; bsdutils has `script`;
# nlohmann-json3-dev is the JSON parser of the front (cpp/front/record.cc); uidmap has
# newuidmap/newgidmap, which rootless hako (and rootless podman) use for multi-range mappings.
set -euo pipefail
packages=(cmake g++ make python3 binutils nlohmann-json3-dev runc busybox-static podman conmon catatonit containerd docker.io bsdutils uidmap)
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
