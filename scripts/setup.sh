#!/usr/bin/env bash
# Sets up a fresh machine: the npm packages, a WebGPU adapter (Mesa's software Vulkan driver, lavapipe,
# from bookworm-backports where no adapter is found), and Fashion-MNIST from Debian, the default dataset.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi
have_apt() { command -v apt-get >/dev/null; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then $SUDO apt-get update -q; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "$@"
}

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

if ! node scripts/check-adapter.mjs >/dev/null 2>&1; then
  if have_apt && grep -q bookworm /etc/os-release 2>/dev/null; then
    echo "setup: no WebGPU adapter; installing Mesa's lavapipe from bookworm-backports"
    echo 'deb http://deb.debian.org/debian bookworm-backports main' | $SUDO tee /etc/apt/sources.list.d/backports.list >/dev/null
    apt_updated=0
    apt_install -t bookworm-backports mesa-vulkan-drivers libvulkan1
  elif have_apt; then
    apt_install mesa-vulkan-drivers libvulkan1
  fi
fi
# (without Dawn's notices about the limits it lowers, which its native code prints on stderr)
echo "setup: WebGPU adapter: $(node scripts/check-adapter.mjs 2>&1 | grep -v 'BuffersPerPipelineLayout artificially reduced')"

# Debian's Chromium for the browser test of the demo page (never a browser download: the network is closed).
if ! command -v chromium >/dev/null && have_apt; then
  apt_install chromium || echo "setup: could not install chromium; the browser test will fail until it is installed"
fi

# Text in the learning-curve pictures (resvg renders with the system's fonts).
if [ ! -d /usr/share/fonts/truetype/dejavu ] && have_apt; then
  apt_install fonts-dejavu-core || echo "setup: could not install fonts-dejavu-core; charts will lack text"
fi

if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && have_apt; then
  apt_install dataset-fashion-mnist || echo "setup: Debian's dataset-fashion-mnist is not available here; use npm run data -- fashion-mnist"
fi
