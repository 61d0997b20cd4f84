#!/usr/bin/env bash
# The demo: hako writes a starter bundle config, validates it, then shows what it says
# about a broken one. (Running the container itself arrives with the lifecycle work.)
set -euo pipefail
hako="$(cd "$(dirname "$0")/.." && pwd)/dist/hako"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/rootfs"
set -x
"$hako" --version
"$hako" spec --bundle "$dir"
"$hako" validate --bundle "$dir"
{ set +x; } 2>/dev/null
echo "# now break it: args empty, cwd relative, a bad rlimit type, a bad namespace type"
node -e '
  const fs = require("fs"); const f = process.argv[1]; const c = JSON.parse(fs.readFileSync(f));
  c.process.args = []; c.process.cwd = "tmp"; c.linux.namespaces.push({ type: "pidd" });
  c.process.rlimits[0].type = "NOFILE"; fs.writeFileSync(f, JSON.stringify(c));' "$dir/config.json"
set -x
"$hako" validate --bundle "$dir" || echo "(exit status $?)"
