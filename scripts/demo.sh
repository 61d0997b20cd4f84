#!/usr/bin/env bash
# The demo: a busybox container run by hako, after hako has checked its config.
# Needs root (containers) and busybox-static (scripts/install-deps.sh installs it).
set -euo pipefail
hako="$(cd "$(dirname "$0")/.." && pwd)/dist/hako"
dir=$(mktemp -d)
root=$(mktemp -d)
trap '"$hako" --root "$root" delete -f demo >/dev/null 2>&1 || true; rm -rf "$dir" "$root"' EXIT

# A root filesystem: busybox and its applets.
mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev" "$dir/rootfs/tmp" "$dir/rootfs/etc"
cp /bin/busybox "$dir/rootfs/bin/busybox"
for applet in sh echo cat hostname id ls ps uname mount head; do ln -s busybox "$dir/rootfs/bin/$applet"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$dir/rootfs/etc/passwd"

set -x
"$hako" --version
"$hako" spec --bundle "$dir"
{ set +x; } 2>/dev/null
# Not interactive, and say something about where we are.
node -e '
  const fs = require("fs"); const f = process.argv[1]; const c = JSON.parse(fs.readFileSync(f));
  c.process.terminal = false;
  c.process.args = ["sh", "-c", "echo hello from $(hostname), pid $$, $(id); ps; mount | head -4"];
  fs.writeFileSync(f, JSON.stringify(c, null, 2));' "$dir/config.json"
set -x
"$hako" validate --bundle "$dir"
"$hako" --root "$root" run --bundle "$dir" demo
{ set +x; } 2>/dev/null

echo "# and what hako says about a broken config: args empty, cwd relative, a bad rlimit type"
node -e '
  const fs = require("fs"); const f = process.argv[1]; const c = JSON.parse(fs.readFileSync(f));
  c.process.args = []; c.process.cwd = "tmp"; c.process.rlimits[0].type = "NOFILE";
  fs.writeFileSync(f, JSON.stringify(c));' "$dir/config.json"
set -x
"$hako" --root "$root" run --bundle "$dir" demo || echo "(exit status $?)"
{ set +x; } 2>/dev/null
