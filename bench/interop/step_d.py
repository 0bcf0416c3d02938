import os
from common import *
T = os.environ.get('INTEROP_DIR', '/tmp/torch_lmfn')
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'golden')
G, _ = st_read(T + '/G.safetensors')
B = st_read(T + '/B.safetensors')[0]['image']; S = st_read(T + '/S.safetensors')[0]['image']
print('G keys', len(G), 'extra keys:', sorted(set(G) - {'loss'} - set(LMFN().state_dict())), 'missing:', sorted(set(LMFN().state_dict()) - set(G)))
for dt in (torch.float64, torch.float32):
    m, w, _ = load_model(T + '/w2.safetensors', dt)
    m.zero_grad()
    loss = ((m(B.to(dt)) - S.to(dt)) ** 2).mean(); loss.backward()
    print(f'--- torch {str(dt)[6:]}: loss torch {loss.item():.10g} ours {G["loss"].item():.10g} abs {abs(loss.item()-G["loss"].item()):.3e} rel {abs(loss.item()-G["loss"].item())/loss.item():.3e}')
    rows = []
    for k, p in m.named_parameters():
        ref = p.grad.double(); o = G[k].double()
        d = (o - ref).abs(); mabs = d.max().item(); nrel = mabs / max(ref.abs().max().item(), 1e-30)
        cos = (o.flatten() @ ref.flatten() / (o.norm() * ref.norm() + 1e-300)).item()
        rows.append((nrel, k, mabs, ref.abs().max().item(), cos))
    rows.sort(reverse=True)
    print('worst 8 params by max|diff|/max|ref_grad|:')
    for r in rows[:8]: print('  %-40s rel %.3e abs %.3e max|ref| %.3e cos %.9f' % (r[1], r[0], r[2], r[3], r[4]))
    print('median rel %.3e; all 176 under %.3e; min cosine %.9f' % (sorted(r[0] for r in rows)[88], rows[0][0], min(r[4] for r in rows)))
    for k in ['decoder.alfm.theta', 'decoder.acfm.alpha', 'decoder.acfm.conv1.weight', 'decoder.acfm.conv2.bias']:
        print('  %s ours %s torch %s' % (k, G[k].flatten()[:3].tolist(), dict(m.named_parameters())[k].grad.flatten()[:3].tolist()))
