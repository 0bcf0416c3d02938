#!/usr/bin/env bash
# Trains our engine and the PyTorch LMFN (Debian's python3-torch) from the same weights on the
# same batches and compares their losses and validation PSNRs (bench/interop/parity.{ts,py}).
# Usage: bash bench/interop/parity.sh [DIR] [-- parity.ts flags: --steps 1000 --batch 4 --crop 64 --lr 1e-4 --init identity]
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-/tmp/lmfn-parity}; shift || true
[ "${1:-}" = -- ] && shift
rm -rf "$dir"
npx tsx bench/interop/parity.ts --out "$dir" "$@"
/usr/bin/python3 bench/interop/parity.py "$dir"
