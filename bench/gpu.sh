#!/usr/bin/env bash
# One script for a machine with a real GPU: installs, checks correctness on a few shapes, and runs the quick
# benchmark (every family, ours vs TensorFlow.js on the same adapter, and vs PyTorch on the CPU where
# /usr/bin/python3 has it) and the per-op profile of two training steps. Everything it produces goes to one
# folder (default bench-out/):
#
#   adapter.txt   the WebGPU adapter Dawn picked
#   tests.log     the correctness subset of the test suite (large matmuls, conv2d, the PyTorch fixtures)
#   bench.log     the benchmark's console output
#   bench.json    every sample (npm run bench -- --json)
#   bench.md      the Markdown table (npm run bench -- --markdown)
#   ratios.png    baseline ms / ours ms per row, log scale (npm run bench -- --chart)
#   profile.md    per-op GPU time of a ResNet-18 and a BYOL training step (npm run bench -- --profile)
#   profile.json  the same, machine-readable
#
# Usage: bash bench/gpu.sh [OUT_DIR]
# Needs Node ≥ 20 and npm. On Linux without a WebGPU adapter it installs Mesa's Vulkan drivers (as
# scripts/setup.sh does); with a real GPU, install its vendor Vulkan driver first, or Dawn falls back to it.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-bench-out}"
mkdir -p "$OUT"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
start=$(date +%s)
say() { echo "gpu.sh [$(( $(date +%s) - start ))s]: $*"; }

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then $SUDO apt-get update -q; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "$@"
}

# 1. Packages.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund
fi

# 2. A WebGPU adapter (Mesa only where Dawn finds none, on Linux with apt).
if ! node scripts/check-adapter.mjs >/dev/null 2>&1; then
  if [ "$(uname -s)" = Linux ] && command -v apt-get >/dev/null; then
    if grep -q bookworm /etc/os-release 2>/dev/null; then
      say "no WebGPU adapter: installing Mesa's Vulkan drivers from bookworm-backports"
      echo 'deb http://deb.debian.org/debian bookworm-backports main' | $SUDO tee /etc/apt/sources.list.d/backports.list >/dev/null
      apt_install -t bookworm-backports mesa-vulkan-drivers libvulkan1
    else
      say "no WebGPU adapter: installing Mesa's Vulkan drivers"
      apt_install mesa-vulkan-drivers libvulkan1
    fi
  fi
fi
if ! node scripts/check-adapter.mjs >"$OUT/adapter.txt" 2>&1; then
  say "no WebGPU adapter found; see $OUT/adapter.txt"
  exit 1
fi
say "adapter: $(cat "$OUT/adapter.txt")"
# Text in the chart (resvg draws with the system's fonts).
if [ ! -d /usr/share/fonts/truetype/dejavu ] && [ "$(uname -s)" = Linux ] && command -v apt-get >/dev/null; then
  apt_install fonts-dejavu-core || say "could not install fonts-dejavu-core; the chart will lack text"
fi

# 3. Correctness on a few shapes, on this adapter.
say "tests: matmul-large, conv2d, fixtures"
npx vitest run test/core/matmul-large.test.ts test/nn/conv2d.test.ts test/nn/fixtures.test.ts 2>&1 | tee "$OUT/tests.log"

# 4. The quick benchmark (--markdown appends, so start from an empty file).
rm -f "$OUT/bench.md"
say "npm run bench -- --quick"
npm run bench -- --quick --json "$OUT/bench.json" --markdown "$OUT/bench.md" --chart "$OUT/ratios.png" 2>&1 | tee "$OUT/bench.log"

# 5. Where a training step's GPU time goes (per-op timestamps; needs the timestamp-query feature).
rm -f "$OUT/profile.md"
say "npm run bench -- --profile --quick"
npm run bench -- --profile --quick --json "$OUT/profile.json" --markdown "$OUT/profile.md" 2>&1 | tee -a "$OUT/bench.log" ||
  say "the profile failed (see $OUT/bench.log); the benchmark's results stand"
say "done; results in $OUT/"
