"""Recipe search on the PyTorch proxy (issue: a model that deblurs). Trains the independent PyTorch
LMFN (lmfn.py, ~5x faster than our engine on a 2-core CPU) on the batches and validation pairs that
bench/interop/parity.ts dumped, once per candidate recipe, from the same initial weights, and
records validation PSNR against the blurred input's every --val-every steps.

Writes DIR/recipe.md (table: PSNR gain over the blurred input per evaluation, per recipe) and
DIR/recipe.jsonl (the curves). The candidates are learning rate (lr), linear warm-up (warmup, steps) and
Adam's L2 weight decay (wd; default the dump's) and a learning-rate multiplier for the tensors that
start at zero (zlr) or carry the picture in the identity start (plr); batches, crop
and data are those of the dump (re-dump with parity.ts --crop/--batch for others).

Usage: /usr/bin/python3 bench/interop/recipe.py DIR [--threads 2] [--val-every 100]
       [--recipes lr=1e-4,warmup=0 lr=3e-5,warmup=0 ...]
"""
import json, math, os, sys, time
import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lmfn import LMFN, st_read
from common import psnr, read_val


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


d = sys.argv[1]
torch.set_num_threads(int(arg('--threads', '2')))
val_every = int(arg('--val-every', '100'))
if '--recipes' in sys.argv:
    i = sys.argv.index('--recipes') + 1
    specs = []
    while i < len(sys.argv) and not sys.argv[i].startswith('--'):
        specs.append(sys.argv[i]); i += 1
else:
    specs = ['lr=1e-4,warmup=0', 'lr=1e-4,warmup=200', 'lr=3e-5,warmup=0', 'lr=3e-5,warmup=200', 'lr=1e-5,warmup=0']
recipes = [{k: float(v) for k, v in (p.split('=') for p in s.split(','))} for s in specs]
cfg = json.load(open(os.path.join(d, 'config.json')))
steps = len([f for f in os.listdir(os.path.join(d, 'batches')) if f.endswith('.safetensors')])
batches = [st_read(os.path.join(d, 'batches', f'{s:05d}.safetensors'))[0] for s in range(1, steps + 1)]
val = read_val(d)
weights, _ = st_read(os.path.join(d, 'init.safetensors'))



PICTURE_PATH = {'encoder.head', 'encoder.down1', 'encoder.down2', 'decoder.head', 'decoder.tail'}
blur_psnr = sum(psnr(v['blur'], v['sharp']) for v in val) / len(val)
curves = []
for r in recipes:
    model = LMFN()
    model.load_state_dict(weights, strict=True)
    # zlr: a learning-rate multiplier for the tensors that start all zero (the identity start's zero convs).
    # plr: the same for the convs that carry the picture in the identity start.
    def group(n):
        if not weights[n].any():
            return 'zero'
        return 'picture' if n.rsplit('.', 1)[0] in PICTURE_PATH else 'rest'
    scale = {'rest': 1.0, 'zero': r.get('zlr', 1.0), 'picture': r.get('plr', 1.0)}
    named = list(model.named_parameters())
    groups = [{'params': [p for n, p in named if group(n) == g], 'scale': scale[g]} for g in scale]
    opt = torch.optim.Adam(groups, lr=r['lr'], betas=(0.9, 0.999), eps=1e-8, weight_decay=r.get('wd', cfg['weightDecay']))
    warmup = int(r.get('warmup', 0))
    curve = []
    t0 = time.perf_counter()
    for step in range(0, steps + 1):
        if step % val_every == 0:
            with torch.no_grad():
                curve.append((step, sum(psnr(model(v['blur']), v['sharp']) for v in val) / len(val) - blur_psnr))
        if step == steps:
            break
        for g in opt.param_groups:
            g['lr'] = g['scale'] * r['lr'] * (min(1.0, (step + 1) / warmup) if warmup else 1.0)
        b = batches[step]
        opt.zero_grad()
        ((model(b['blur']) - b['sharp']) ** 2).mean().backward()
        opt.step()
    name = ', '.join(f'{k} {v:g}' for k, v in r.items())
    curves.append((name, curve, time.perf_counter() - t0))
    print(f'{name}: ' + ' '.join(f'{g:+.2f}' for _, g in curve), file=sys.stderr)

with open(os.path.join(d, 'recipe.jsonl'), 'w') as f:
    for name, curve, secs in curves:
        f.write(json.dumps({'recipe': name, 'seconds': secs, 'curve': curve}) + '\n')
head = (f'PyTorch proxy, {steps} steps of {cfg["batch"]}×{cfg["crop"]}², {cfg["init"]} init; validation PSNR minus the '
        f'blurred input\'s ({blur_psnr:.2f} dB), dB, every {val_every} steps.\n\n')
cols = [s for s, _ in curves[0][1]]
table = '| recipe | ' + ' | '.join(str(s) for s in cols) + ' | best | CPU s |\n|---|' + '---|' * (len(cols) + 2) + '\n'
for name, curve, secs in curves:
    table += f'| {name} | ' + ' | '.join(f'{g:+.2f}' for _, g in curve) + f' | {max(g for _, g in curve):+.2f} | {secs:.0f} |\n'
open(os.path.join(d, 'recipe.md'), 'w').write(head + table)
print(head + table)
