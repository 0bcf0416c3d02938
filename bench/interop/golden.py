import os
import sys, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lmfn import *
T = os.environ.get('INTEROP_DIR', '/tmp/torch_lmfn')
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'golden')
torch.set_grad_enabled(True)
w, _ = st_read(GOLDEN + '/weights.safetensors')
io, _ = st_read(GOLDEN + '/io.safetensors')
g, _ = st_read(GOLDEN + '/grads.safetensors')
m = LMFN()
print('keys', len(w), 'missing/unexpected', m.load_state_dict(w, strict=True))
for dt in (torch.float32, torch.float64):
    mm = LMFN().to(dt); mm.load_state_dict({k: v.to(dt) for k, v in w.items()}, strict=True)
    x = io['input'].detach().to(dt).clone().requires_grad_(True)
    y = mm(x)
    d = (y.double() - io['output'].double()).abs()
    print(dt, 'out max abs', d.max().item(), 'max rel', (d / io['output'].double().abs().clamp_min(1e-3)).max().item())
    loss = (y ** 2).mean()
    print(' loss', loss.item(), 'golden', io['loss'].item())
    loss.backward()
    worst = 0; wk = None
    for k, p in mm.named_parameters():
        gr = g['grad.' + k].double(); pg = p.grad.double()
        rel = ((pg - gr).abs().max() / gr.abs().max().clamp_min(1e-30)).item()
        if rel > worst: worst, wk = rel, k
    print(' worst grad rel (max|diff|/max|ref|)', worst, wk)
    gi = g['grad.input'].double()
    print(' grad.input rel', ((x.grad.double() - gi).abs().max() / gi.abs().max()).item())
