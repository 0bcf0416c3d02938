import os
from common import *
T = os.environ.get('INTEROP_DIR', '/tmp/torch_lmfn')
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'golden')
m, w, meta = load_model(T + '/w.safetensors')
print('a. strict load OK:', len(w), 'tensors,', sum(v.numel() for v in w.values()), 'params, metadata', meta)
# sanity of init per §9
for k in ['encoder.res2.0.conv1.weight', 'encoder.down1.weight', 'decoder.head.weight', 'decoder.acfm.conv1.weight', 'decoder.tail.bias']:
    t = w[k].double(); fan = t[0].numel() if t.dim() > 1 else None
    print('  ', k, 'std %.4g min %.4g max %.4g' % (t.std().item(), t.min().item(), t.max().item()),
          ('expect kaiming*0.1 std %.4g' % (0.1 * math.sqrt(2 / fan))) if 'res' in k else ('U bound 1/sqrt(fan_in)' + (' %.4g' % (1 / math.sqrt(fan)) if fan else '')))
print('  theta', w['decoder.alfm.theta'].item(), 'alpha', w['decoder.acfm.alpha'].item(),
      'res biases all zero', all((w[k] == 0).all().item() for k in w if k.startswith('encoder.res') and k.endswith('bias')))
w2 = dict(w)
w2['decoder.alfm.theta'] = torch.tensor([0.3])
w2['decoder.acfm.alpha'] = torch.tensor([0.7])
st_write(T + '/w2.safetensors', w2, {'writer': 'torch_lmfn python'})
print('b. wrote w2.safetensors with theta=0.3 alpha=0.7')
g = torch.Generator().manual_seed(123)
st_write(T + '/in96x128.safetensors', {'image': torch.rand(1, 3, 96, 128, generator=g)})
st_write(T + '/in70x90.safetensors', {'image': torch.rand(1, 3, 70, 90, generator=g)})
# 64x64 grads pair: smooth-ish blur = avg-pooled noise, sharp = noise
s = torch.rand(1, 3, 64, 64, generator=g)
b = F.avg_pool2d(F.pad(s, (2, 2, 2, 2), mode='replicate'), 5, 1)
st_write(T + '/B.safetensors', {'image': b}); st_write(T + '/S.safetensors', {'image': s})
print('inputs written')
