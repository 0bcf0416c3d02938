#!/usr/bin/env bash
# Runs on a GPU machine lent through the device tool, with .device/ from
# bench/device/pack.sh carried along: unpacks Node.js, node_modules and the
# Vulkan loader, then runs the named steps in order on the GPU adapter, and
# copies logs and results to $OUT (they come back to the session):
#   info      the adapter line (lmfn info)
#   test      the whole test suite on the GPU adapter
#   kernels   lmfn bench kernels --tfjs, else without tfjs (writes bench/results/*.json, bench/RESULTS.md)
#   model     lmfn bench model
#   families  the conv and matmul rows on the other kernel family (direct), JSON only
#   profile   lmfn bench profile at the GPU's default batch and crop, JSON
# SKIP_SYSTEM=1 leaves the system alone (no loader install), for a dry run elsewhere.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/device-out}
mkdir -p "$out"
pack=.device
[ -f "$pack/node.xz" ] || { echo "run.sh: $pack/node.xz is missing: run bench/device/pack.sh first and carry .device" >&2; exit 2; }

if [ "${SKIP_SYSTEM:-}" != 1 ]; then
  if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
    for f in "$pack"/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_DRIVER_FILES=${VK_DRIVER_FILES:-$icd}
fi
mkdir -p /tmp/wgrad-node/bin
xz -dc "$pack/node.xz" > /tmp/wgrad-node/bin/node && chmod +x /tmp/wgrad-node/bin/node
export PATH=/tmp/wgrad-node/bin:$PATH
[ -d node_modules ] || tar -xJf "$pack/modules.tar.xz"
export WGRAD_ADAPTER=${WGRAD_ADAPTER:-gpu}
lmfn() { node bin/lmfn.mjs "$@"; }

status=0
for step in "$@"; do
  echo "== $step ($(date -u +%H:%M:%S))"
  case "$step" in
    info) lmfn info 2>&1 | tee "$out/info.log" ;;
    test) node node_modules/uvu/bin.js -r tsx tests '\.test\.ts$' > "$out/test.log" 2>&1 || status=1; tail -6 "$out/test.log" ;;
    kernels)
      # Without tfjs if its WebGPU backend cannot start there: the engine's own rows matter most.
      lmfn bench kernels --tfjs > "$out/kernels.log" 2>&1 || lmfn bench kernels >> "$out/kernels.log" 2>&1 || status=1
      tail -25 "$out/kernels.log" ;;
    model) lmfn bench model > "$out/model.log" 2>&1 || status=1; tail -8 "$out/model.log" ;;
    families) WGRAD_KERNELS=direct lmfn bench kernels --op conv2d,matmul --no-write --json > "$out/direct-family.json" 2> "$out/families.log" || status=1 ;;
    profile) lmfn bench profile --json > "$out/profile.json" 2> "$out/profile.log" || status=1 ;;
    *) echo "run.sh: unknown step '$step'" >&2; status=2 ;;
  esac
done
cp bench/RESULTS.md "$out/" 2>/dev/null
for f in bench/results/*.json; do case "$f" in *llvmpipe*) ;; *) cp "$f" "$out/" ;; esac; done
exit $status
