"""Independent PyTorch LMFN per shared/LMFN.md, plus a tiny safetensors reader/writer."""
import json, struct
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = (0.4488, 0.4371, 0.4040)

# ---------------- safetensors (F32 only, no external package) ----------------
def st_read(path):
    with open(path, 'rb') as f:
        buf = f.read()
    n = struct.unpack('<Q', buf[:8])[0]
    hdr = json.loads(buf[8:8 + n].decode('utf-8'))
    base = 8 + n
    out = {}
    meta = hdr.pop('__metadata__', None)
    for k, v in hdr.items():
        assert v['dtype'] == 'F32', (k, v['dtype'])
        b, e = v['data_offsets']
        shape = v['shape']
        cnt = int(np.prod(shape)) if shape else 1
        assert e - b == 4 * cnt and base + e <= len(buf), k
        a = np.frombuffer(buf, dtype='<f4', count=cnt, offset=base + b).reshape(shape).copy()
        out[k] = torch.from_numpy(a)
    return out, meta

def st_write(path, tensors, metadata=None):
    hdr = {}
    blobs = []
    off = 0
    for k, t in tensors.items():
        a = np.ascontiguousarray(t.detach().cpu().to(torch.float32).numpy()).astype('<f4')
        b = a.tobytes()
        hdr[k] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        hdr['__metadata__'] = metadata
    h = json.dumps(hdr, separators=(',', ':')).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)

# ---------------- model ----------------
def lrelu(x, s):
    return F.leaky_relu(x, s)

def up2(x):
    return F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)

class ResBlock(nn.Module):
    def __init__(self, c=64):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, 1, 1)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1)
    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))

class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(3, 64, 3, 1, 1)
        self.down1 = nn.Conv2d(64, 64, 3, 2, 1)
        self.down2 = nn.Conv2d(64, 64, 3, 2, 1)
        self.down3 = nn.Conv2d(64, 64, 3, 2, 1)
        self.down4 = nn.Conv2d(64, 64, 3, 2, 1)
        self.res4 = ResBlock()
        self.res3a = ResBlock()
        self.res3b = ResBlock()
        self.res2 = nn.ModuleList([ResBlock() for _ in range(5)])
    def forward(self, x):
        f0 = lrelu(self.head(x), 0.1)
        f1 = lrelu(self.down1(f0), 0.1)
        f2 = lrelu(self.down2(f1), 0.1)
        f3 = lrelu(self.down3(f2), 0.1)
        f4 = lrelu(self.down4(f3), 0.1)
        u4 = up2(self.res4(f4))
        g3 = self.res3a(f3) + u4
        u3 = up2(self.res3b(g3))
        g2 = self.res2[1](self.res2[0](f2)) + u3
        return self.res2[4](self.res2[3](self.res2[2](g2)))

class ESA(nn.Module):
    def __init__(self, c=50):
        super().__init__()
        f = c // 4
        self.conv1 = nn.Conv2d(c, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv_max = nn.Conv2d(f, f, 3, 1, 1)
        self.conv2 = nn.Conv2d(f, f, 3, 2, 0)
        self.conv3 = nn.Conv2d(f, f, 3, 1, 1)
        self.conv3_ = nn.Conv2d(f, f, 3, 1, 1)
        self.conv4 = nn.Conv2d(f, c, 1)
    def forward(self, x):
        c1_ = self.conv1(x)
        c1 = self.conv2(c1_)
        v = F.max_pool2d(c1, kernel_size=7, stride=3)
        v = F.relu(self.conv_max(v))
        c3 = F.relu(self.conv3(v))
        c3 = self.conv3_(c3)
        c3 = F.interpolate(c3, size=(x.shape[2], x.shape[3]), mode='bilinear', align_corners=False)
        cf = self.conv_f(c1_)
        m = torch.sigmoid(self.conv4(c3 + cf))
        return x * m

class RFDB(nn.Module):
    def __init__(self, c=50):
        super().__init__()
        dc = c // 2
        self.c1_d = nn.Conv2d(c, dc, 1); self.c1_r = nn.Conv2d(c, c, 3, 1, 1)
        self.c2_d = nn.Conv2d(c, dc, 1); self.c2_r = nn.Conv2d(c, c, 3, 1, 1)
        self.c3_d = nn.Conv2d(c, dc, 1); self.c3_r = nn.Conv2d(c, c, 3, 1, 1)
        self.c4 = nn.Conv2d(c, dc, 3, 1, 1)
        self.c5 = nn.Conv2d(dc * 4, c, 1)
        self.esa = ESA(c)
    def forward(self, x):
        a = lambda t: lrelu(t, 0.05)
        d1 = a(self.c1_d(x)); r1 = a(self.c1_r(x) + x)
        d2 = a(self.c2_d(r1)); r2 = a(self.c2_r(r1) + r1)
        d3 = a(self.c3_d(r2)); r3 = a(self.c3_r(r2) + r2)
        r4 = a(self.c4(r3))
        return self.esa(self.c5(torch.cat([d1, d2, d3, r4], 1)))

class ALFM(nn.Module):
    def __init__(self):
        super().__init__()
        self.theta = nn.Parameter(torch.zeros(1))
    def forward(self, outs):
        B, C, h, w = outs[0].shape
        X = torch.stack(outs, 1).reshape(B, len(outs) * C, h * w)
        E = torch.bmm(X, X.transpose(1, 2))
        En = torch.max(E, -1, keepdim=True)[0].expand_as(E) - E
        A = torch.softmax(En, dim=-1)
        Y = torch.bmm(A, X)
        return (self.theta * Y + X).reshape(B, len(outs) * C, h, w)

class ACFM(nn.Module):
    def __init__(self):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(1))
        self.conv1 = nn.Conv3d(1, 1, (1, 3, 3), 1, (0, 1, 1))
        self.conv2 = nn.Conv3d(1, 1, (3, 1, 1), 1, (1, 0, 0))
    def forward(self, x):
        V = x.unsqueeze(1)
        W = torch.sigmoid(self.conv2(self.conv1(V))).squeeze(1)
        return x + self.alpha * W * x

class Decoder(nn.Module):
    def __init__(self, nf=50):
        super().__init__()
        self.head = nn.Conv2d(64, nf, 3, 1, 1)
        self.rfdb = nn.ModuleList([RFDB(nf) for _ in range(4)])
        self.alfm = ALFM()
        self.alfm_fuse = nn.Conv2d(4 * nf, nf, 1)
        self.acfm = ACFM()
        self.fuse = nn.Conv2d(2 * nf, nf, 3, 1, 1)
        self.tail = nn.Conv2d(nf, 48, 3, 1, 1)
    def forward(self, e):
        h = self.head(e)
        outs = []
        t = h
        for r in self.rfdb:
            t = r(t); outs.append(t)
        a = lrelu(self.alfm_fuse(self.alfm(outs)), 0.05)
        c = self.acfm(outs[-1])
        y = self.fuse(torch.cat([a, c], 1)) + h
        return F.pixel_shuffle(self.tail(y), 4)

class LMFN(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.decoder = Decoder()
        self.register_buffer('_mean', torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
    def forward(self, x):
        m = self._mean.to(x.dtype)
        return self.decoder(self.encoder(x - m)) + m

def pad_to_rule(x):
    H, W = x.shape[2], x.shape[3]
    Hp = max(64, (H + 15) // 16 * 16); Wp = max(64, (W + 15) // 16 * 16)
    return F.pad(x, (0, Wp - W, 0, Hp - H), mode='replicate')

if __name__ == '__main__':
    m = LMFN()
    sd = m.state_dict()
    print(len(sd), sum(v.numel() for v in sd.values()))
