"""Long-horizon parity, PyTorch's half: trains the independent PyTorch LMFN (lmfn.py) from the
weights and on the batches that bench/interop/parity.ts dumped, with torch.optim.Adam (its
weight_decay is the same L2-in-the-gradient), and compares with the engine's run:

- the training loss, as the mean over each window of 10 steps (one batch of 4×64² is a noisy
  sample; the window mean is what a loss curve shows): within 1% at every window;
- validation PSNR at every evaluation: within 0.1 dB.

Writes DIR/torch.jsonl and DIR/parity.md (the table), prints the table, exits 1 if either bound fails.

Usage: /usr/bin/python3 bench/interop/parity.py DIR [--threads 2]
"""
import json, math, os, sys, time
import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lmfn import LMFN, st_read
from common import psnr, read_val

LOSS_WINDOW = 10
LOSS_RTOL = 0.01
PSNR_ATOL = 0.1

d = sys.argv[1]
threads = int(sys.argv[sys.argv.index('--threads') + 1]) if '--threads' in sys.argv else 2
torch.set_num_threads(threads)
cfg = json.load(open(os.path.join(d, 'config.json')))
engine = [json.loads(l) for l in open(os.path.join(d, 'engine.jsonl')) if l.strip()]
engine_loss = {r['step']: r['loss'] for r in engine if 'loss' in r}
engine_val = {r['step']: r for r in engine if 'val_psnr' in r}
steps = max(engine_loss)

weights, meta = st_read(os.path.join(d, 'init.safetensors'))
model = LMFN()
model.load_state_dict(weights, strict=True)
opt = torch.optim.Adam(model.parameters(), lr=cfg['lr'], betas=tuple(cfg['betas']), eps=cfg['eps'], weight_decay=cfg['weightDecay'])
val = read_val(d)

def validate():
    with torch.no_grad():
        return sum(psnr(model(v['blur']), v['sharp']) for v in val) / len(val)

log = open(os.path.join(d, 'torch.jsonl'), 'w')
torch_loss, torch_val = {}, {0: validate()}
log.write(json.dumps({'step': 0, 'val_psnr': torch_val[0]}) + '\n')
t0 = time.perf_counter()
for step in range(1, steps + 1):
    b = st_read(os.path.join(d, 'batches', f'{step:05d}.safetensors'))[0]
    opt.zero_grad()
    loss = ((model(b['blur']) - b['sharp']) ** 2).mean()
    loss.backward()
    opt.step()
    torch_loss[step] = loss.item()
    log.write(json.dumps({'step': step, 'loss': torch_loss[step]}) + '\n')
    if step in engine_val:
        torch_val[step] = validate()
        log.write(json.dumps({'step': step, 'val_psnr': torch_val[step]}) + '\n')
    if step % 100 == 0:
        print(f'step {step}/{steps}  {(time.perf_counter() - t0) / step * 1000:.0f} ms/step', file=sys.stderr)
log.close()

rows, ok = [], True
worst_loss, worst_psnr = 0.0, 0.0
for end in range(LOSS_WINDOW, steps + 1, LOSS_WINDOW):
    window = range(end - LOSS_WINDOW + 1, end + 1)
    e = sum(engine_loss[s] for s in window) / LOSS_WINDOW
    t = sum(torch_loss[s] for s in window) / LOSS_WINDOW
    rel = abs(e - t) / t
    worst_loss = max(worst_loss, rel)
    ok &= rel <= LOSS_RTOL
    if end in engine_val:
        ev, tv = engine_val[end]['val_psnr'], torch_val[end]
        worst_psnr = max(worst_psnr, abs(ev - tv))
        ok &= abs(ev - tv) <= PSNR_ATOL
        rows.append(f'| {end} | {e:.4e} | {t:.4e} | {100 * rel:.2f}% | {ev:.3f} | {tv:.3f} | {ev - tv:+.3f} | {engine_val[end]["blur_psnr"]:.3f} |')
ev0, tv0 = engine_val[0]['val_psnr'], torch_val[0]
worst_psnr = max(worst_psnr, abs(ev0 - tv0))
ok &= abs(ev0 - tv0) <= PSNR_ATOL
head = [
    f'{steps} steps of {cfg["batch"]}×{cfg["crop"]}², lr {cfg["lr"]}, {cfg["init"]} init, seed {cfg["seed"]}; '
    f'PyTorch {torch.__version__} CPU float32, {threads} threads, {(time.perf_counter() - t0) / steps * 1000:.0f} ms/step.',
    '',
    f'Step 0: validation PSNR {ev0:.3f} dB (engine), {tv0:.3f} dB (PyTorch).',
    f'Worst: loss window {100 * worst_loss:.2f}% (bound {100 * LOSS_RTOL:.0f}%), validation PSNR {worst_psnr:.3f} dB (bound {PSNR_ATOL} dB).',
    '',
    f'| step | engine loss (mean of {LOSS_WINDOW}) | PyTorch loss | difference | engine val PSNR | PyTorch val PSNR | difference | blurred input |',
    '|---|---|---|---|---|---|---|---|',
]
text = '\n'.join(head + rows) + '\n\n' + ('PASS' if ok else 'FAIL') + '\n'
open(os.path.join(d, 'parity.md'), 'w').write(text)
print(text)
sys.exit(0 if ok else 1)
