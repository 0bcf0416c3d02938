#!/bin/bash
# Re-runs every interop check end to end. PyTorch: Debian python3-torch 1.13 (/usr/bin/python3).
set -e
T=${INTEROP_DIR:-/tmp/torch_lmfn}; mkdir -p "$T"; export INTEROP_DIR=$T; HERE=$(cd "$(dirname "$0")" && pwd); PY=/usr/bin/python3; L="node bin/lmfn.mjs"
q() { grep -v -i -e vulkan -e BackendVk -e artificially -e '^$' || true; }
cd "$HERE/../.."
echo "== tree: $(git rev-parse --short HEAD), uncommitted: $(git diff --stat | tail -1)"
echo "== 3. golden"; $PY $HERE/golden.py
echo "== 4a/b"; $L init --output $T/w.safetensors --seed 5 2>&1 | q; $PY $HERE/step_ab.py
echo "== 4c"
for s in 96x128 70x90; do $L deblur --weights $T/w2.safetensors --input $T/in$s.safetensors --output $T/out$s.safetensors --tile 0 2>&1 | q; done
($PY $HERE/step_cd.py $T/w2.safetensors)
echo "== 4d"; $L grads --weights $T/w2.safetensors --blur $T/B.safetensors --sharp $T/S.safetensors --output $T/G.safetensors 2>&1 | q
$PY $HERE/step_d.py
echo "== 4e"; rm -rf $T/run
$L train --data default --out $T/run --steps 5 --batch 2 --crop 64 --val-every 1000 > $T/train.log 2>&1; cat $T/run/metrics.jsonl
for s in 96x128 70x90; do $L deblur --weights $T/run/last.safetensors --input $T/in$s.safetensors --output $T/out_run$s.safetensors --tile 0 2>&1 | q; done
($PY $HERE/step_cd.py $T/run/last.safetensors _run)
echo "== done"
