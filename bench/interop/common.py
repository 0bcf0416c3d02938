import os
import sys, math, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lmfn import *

def load_model(path, dt=torch.float64):
    w, meta = st_read(path)
    m = LMFN()
    r = m.load_state_dict(w, strict=True)   # raises on missing/extra/shape mismatch
    ref = m.state_dict()
    assert set(w) == set(ref) and all(tuple(w[k].shape) == tuple(ref[k].shape) for k in w)
    return m.to(dt), w, meta

def cmp(name, ours, ref, floor=1e-3):
    ours = ours.double(); ref = ref.double()
    assert ours.shape == ref.shape, (name, ours.shape, ref.shape)
    d = (ours - ref).abs()
    mabs = d.max().item()
    mrel = (d / ref.abs().clamp_min(floor)).max().item()
    nrel = (mabs / ref.abs().max().clamp_min(1e-30)).item()
    print(f'{name}: shape {list(ref.shape)} max|ref| {ref.abs().max().item():.4g} max abs {mabs:.3e} max rel(|ref|>={floor}) {mrel:.3e} max abs/max|ref| {nrel:.3e}')
    return mabs, mrel, nrel

def psnr(a, b):
    """train/metrics.ts's PSNR: both clamped to [0, 1], float64 mean squared error, peak 1."""
    mse = ((a.double().clamp(0, 1) - b.double().clamp(0, 1)) ** 2).mean().item()
    return 10 * math.log10(1 / mse)

def read_val(d):
    """The validation pairs bench/interop/parity.ts dumped into DIR/val/<i>.safetensors."""
    val = []
    while os.path.exists(os.path.join(d, 'val', f'{len(val)}.safetensors')):
        val.append(st_read(os.path.join(d, 'val', f'{len(val)}.safetensors'))[0])
    return val
