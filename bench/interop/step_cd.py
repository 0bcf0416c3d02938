import os
from common import *
import sys
T = os.environ.get('INTEROP_DIR', '/tmp/torch_lmfn')
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'golden')
wpath = sys.argv[1] if len(sys.argv) > 1 else T + '/w2.safetensors'
tag = sys.argv[2] if len(sys.argv) > 2 else ''
m64, w, _ = load_model(wpath, torch.float64)
m32, _, _ = load_model(wpath, torch.float32)
print('weights', wpath, 'theta', w['decoder.alfm.theta'].item(), 'alpha', w['decoder.acfm.alpha'].item())
with torch.no_grad():
    for s in ['96x128', '70x90']:
        x = st_read(f'{T}/in{s}.safetensors')[0]['image']
        ours = st_read(f'{T}/out{tag}{s}.safetensors')[0]['image']
        H, W = x.shape[2:]
        for dt, m in ((torch.float64, m64), (torch.float32, m32)):
            y = m(pad_to_rule(x.to(dt)))[:, :, :H, :W]
            cmp(f'c. deblur {s} (padded to {pad_to_rule(x).shape[2]}x{pad_to_rule(x).shape[3]}) vs torch {str(dt)[6:]}', ours, y)
        # does a no-padding or wrong padding explain anything? (diagnostic only)
    # sensitivity: how far outputs move when the attention scalars change, and the error relative to (out - mean)
    mean = torch.tensor(MEAN, dtype=torch.float64).view(1, 3, 1, 1)
    x = st_read(T + '/in96x128.safetensors')[0]['image'].double()
    ours = st_read(f'{T}/out{tag}96x128.safetensors')[0]['image'].double()
    y = m64(x)
    print('   error / max|torch_out - mean| = %.3e  (max|out-mean| = %.4g)' % (((ours - y).abs().max() / (y - mean).abs().max()).item(), (y - mean).abs().max().item()))
    for k in ['decoder.alfm.theta', 'decoder.acfm.alpha']:
        sd = {kk: v.double() for kk, v in w.items()}; sd[k] = torch.zeros(1, dtype=torch.float64)
        mz = LMFN().double(); mz.load_state_dict(sd); d = (mz(x) - y).abs().max().item()
        print(f'   sensitivity: setting {k}=0 changes torch output by max {d:.3e}')
