#!/usr/bin/env bash
# Fresh machine to demo: system packages, npm packages, build, demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm ci --no-audit --no-fund
npm run build
bash scripts/demo.sh
