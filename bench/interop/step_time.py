"""PyTorch CPU time of one LMFN training step (forward, MSE, backward, Adam with weight decay 1e-4), the
baseline of issue 5's "training step within 5x of PyTorch CPU", measured on the same machine as
`lmfn bench model` so the two can be compared in one sitting.

Usage: /usr/bin/python3 bench/interop/step_time.py [--batch 4] [--crop 64] [--threads 2] [--reps 15]
"""
import argparse, statistics, time
import torch
from lmfn import LMFN

p = argparse.ArgumentParser()
p.add_argument('--batch', type=int, default=4)
p.add_argument('--crop', type=int, default=64)
p.add_argument('--threads', type=int, default=2)
p.add_argument('--reps', type=int, default=15)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = LMFN()
opt = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=1e-4)
blur = torch.rand(a.batch, 3, a.crop, a.crop)
sharp = torch.rand(a.batch, 3, a.crop, a.crop)

def step():
    opt.zero_grad()
    loss = ((model(blur) - sharp) ** 2).mean()
    loss.backward()
    opt.step()
    return loss.item()

for _ in range(3):
    step()
times = []
for _ in range(a.reps):
    t0 = time.perf_counter()
    step()
    times.append((time.perf_counter() - t0) * 1000)
print(f'pytorch {torch.__version__} cpu, {a.threads} threads: train step {a.batch}x{a.crop}^2 '
      f'median {statistics.median(times):.1f} ms, min {min(times):.1f} ms over {a.reps}')
