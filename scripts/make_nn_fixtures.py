#!/usr/bin/python3
"""Writes PyTorch parity fixtures for src/nn (modules, ResNet-18, optimizers, checkpoints) into
test/fixtures/nn/.

Run with Debian's python3-torch and python3-torchvision:  /usr/bin/python3 scripts/make_nn_fixtures.py
Check a checkpoint this project wrote:                     /usr/bin/python3 scripts/make_nn_fixtures.py --check FILE

Weights and inputs come from formulas both sides compute (test/nn-modules/formula.ts is the TypeScript twin):
  pformula(shape, k, scale, offset)[i] = offset + sin(0.37·i + 0.11·k)·scale   (float64, then float32)
  hformula(shape, k, scale, offset)[i] = offset + scale·(2·fract(sin(12.9898·i + 78.233·k)·43758.5453) − 1)
and each state-dict entry, numbered k = 1, 2, ... in torchvision's order, gets `param_value(name, shape, k)`
(hformula for the ResNet parity, pformula for the checkpoint files).

Files:
  resnet18.json        torchvision resnet18 (10 classes) with formula weights at batch 2, 64×64 (so that layer4's batch norms see 8 values per channel): train-mode
                       logits, loss, every parameter's gradient (norm, head, a middle slice), running stats
                       after the step, eval-mode logits; the same for the small stem at 16×16; and the full
                       resnet18 (1000 classes) state-dict keys, shapes and dtypes.
  optim.json           torch.optim.SGD / AdamW trajectories over three steps on formula parameters and gradients.
  checkpoint.json      expectations for the checkpoint files below.
  resnet18_w4_torch.safetensors
                       a width-4 ResNet-18 (torchvision's BasicBlock and _make_layer; names as resnet18) with
                       torch's default random initialization and running statistics from three training
                       forwards, written by the tiny safetensors writer below; checkpoint.json holds its
                       eval and train logits on a formula input. The writer's output is also checked to load
                       back into torch with load_state_dict(strict=True).
  checkpoint.json also holds the SHA-256 of the checkpoint of a width-4 formula-weighted ResNet-18 as this
  writer encodes it; the TypeScript test encodes the same model and must produce the same bytes.
"""
import hashlib
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock, ResNet

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'nn')
HEAD = 8


def pformula(shape, k, scale=1.0, offset=0.0):
    n = 1
    for d in shape:
        n *= d
    vals = [offset + math.sin(0.37 * i + 0.11 * k) * scale for i in range(n)]
    return torch.tensor(vals, dtype=torch.float64).to(torch.float32).reshape(shape)


def hformula(shape, k, scale=1.0, offset=0.0):
    """offset + scale·(2·fract(sin(12.9898·i + 78.233·k)·43758.5453) − 1): hash-like values, uniform in
    offset ± scale, with no low-rank structure (weights from pformula make every filter a phase-shifted
    sinusoid, so the features of a deep network become rank 2 and its batch norms ill-conditioned)."""
    n = 1
    for d in shape:
        n *= d
    vals = []
    for i in range(n):
        h = math.sin(12.9898 * i + 78.233 * k) * 43758.5453
        vals.append(offset + scale * (2.0 * (h - math.floor(h)) - 1.0))
    return torch.tensor(vals, dtype=torch.float64).to(torch.float32).reshape(shape)


def labels_formula(n, classes):
    return torch.tensor([(7 * i + 3) % classes for i in range(n)], dtype=torch.int64)


def param_value(name, shape, k, f=hformula):
    """The formula value of a state-dict entry (num_batches_tracked: 0); uniform weights with He's variance."""
    if name.endswith('num_batches_tracked'):
        return torch.tensor(0, dtype=torch.int64)
    if name.endswith('running_mean'):
        return f(shape, k, 0.1)
    if name.endswith('running_var'):
        return f(shape, k, 0.25, 1.0)
    if len(shape) == 1 and name.endswith('weight'):
        return f(shape, k, 0.2, 1.0)
    if len(shape) == 1:
        return f(shape, k, 0.1)
    fan_in = 1
    for d in shape[1:]:
        fan_in *= d
    return f(shape, k, math.sqrt(6.0 / fan_in))


def set_formula_weights(model, f=hformula):
    sd = model.state_dict()
    new = {}
    for k, (name, t) in enumerate(sd.items(), start=1):
        new[name] = param_value(name, list(t.shape), k, f)
    model.load_state_dict(new, strict=True)


def vals(t):
    return [float('%.9g' % v) for v in t.detach().to(torch.float64).reshape(-1).tolist()]


class NarrowResNet(ResNet):
    """torchvision's ResNet with BasicBlock [2, 2, 2, 2] and base width `width` (64: resnet18 exactly)."""

    def __init__(self, width=64, num_classes=10):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = width
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(BasicBlock, width, 2)
        self.layer2 = self._make_layer(BasicBlock, 2 * width, 2, stride=2)
        self.layer3 = self._make_layer(BasicBlock, 4 * width, 2, stride=2)
        self.layer4 = self._make_layer(BasicBlock, 8 * width, 2, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8 * width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)


def small_stem(model):
    model.conv1 = nn.Conv2d(3, model.conv1.out_channels, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    return model


# ---------------------------------------------------------------------------------------------------------
# A tiny safetensors writer and reader (the format: 8-byte little-endian header length, JSON header padded
# with spaces to a multiple of 8, raw little-endian data in header order).

DTYPES = {torch.float32: ('F32', 4), torch.int64: ('I64', 8)}


def st_encode(entries, metadata):
    header = {}
    if metadata:
        header['__metadata__'] = metadata
    blobs = []
    at = 0
    for name, t in entries:
        t = t.detach().contiguous()
        dt, size = DTYPES[t.dtype]
        b = t.numpy().tobytes() if t.dim() > 0 else t.reshape(1).numpy().tobytes()
        header[name] = {'dtype': dt, 'shape': list(t.shape), 'data_offsets': [at, at + len(b)]}
        at += len(b)
        blobs.append(b)
    js = json.dumps(header, separators=(',', ':')).encode('utf-8')
    pad = (8 - len(js) % 8) % 8
    js += b' ' * pad
    return struct.pack('<Q', len(js)) + js + b''.join(blobs)


def st_decode(data):
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n].decode('utf-8'))
    meta = header.pop('__metadata__', {})
    base = 8 + n
    out = {}
    for name, e in header.items():
        b, end = e['data_offsets']
        raw = bytearray(data[base + b:base + end])
        if e['dtype'] == 'F32':
            t = torch.frombuffer(raw, dtype=torch.float32) if raw else torch.zeros(0)
        elif e['dtype'] == 'I64':
            t = torch.frombuffer(raw, dtype=torch.int64)
        else:
            raise ValueError('unsupported dtype %s' % e['dtype'])
        out[name] = t.reshape(e['shape']).clone()
    return out, meta


def model_entries(model):
    return list(model.state_dict().items())


# ---------------------------------------------------------------------------------------------------------

def grad_summary(model):
    rows = []
    for name, p in model.named_parameters():
        g = p.grad.detach().to(torch.float64).reshape(-1)
        mid = g.numel() // 2
        rows.append({'name': name, 'shape': list(p.shape), 'norm': float(g.norm()), 'head': vals(g[:HEAD]),
                     'mid_at': mid, 'mid': vals(g[mid:mid + HEAD])})
    return rows


def resnet_case(name, model, x_shape):
    set_formula_weights(model)
    x = hformula(x_shape, 1000, 1.0)
    labels = labels_formula(x_shape[0], 10)
    model.train()
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    running = {}
    for bn in ['bn1', 'layer2.0.downsample.1', 'layer4.1.bn2']:
        m = model.get_submodule(bn)
        running[bn] = {'mean': vals(m.running_mean[:HEAD]), 'var': vals(m.running_var[:HEAD]),
                       'num_batches_tracked': int(m.num_batches_tracked)}
    model.eval()
    with torch.no_grad():
        eval_logits = model(x)
    return {'name': name, 'x': [x_shape, 1000, 1.0], 'labels': '(7i + 3) mod 10', 'logits': vals(logits), 'loss': float(loss),
            'grads': grad_summary(model), 'running': running, 'eval_logits': vals(eval_logits)}


def resnet_fixture():
    torch.manual_seed(0)
    cases = [resnet_case('resnet18 64x64', torchvision.models.resnet18(num_classes=10), [2, 3, 64, 64]),
             resnet_case('resnet18 small stem 16x16', small_stem(torchvision.models.resnet18(num_classes=10)), [2, 3, 16, 16])]
    full = torchvision.models.resnet18()
    keys = [[n, list(t.shape), 'I64' if t.dtype == torch.int64 else 'F32'] for n, t in full.state_dict().items()]
    params = [n for n, _ in full.named_parameters()]
    narrow64 = NarrowResNet(64, 1000)
    assert [k for k in narrow64.state_dict()] == [k[0] for k in keys], 'NarrowResNet(64) names differ from resnet18'
    assert all(list(narrow64.state_dict()[k[0]].shape) == k[1] for k in keys)
    return {'cases': cases, 'resnet18_state_dict': keys, 'resnet18_named_parameters': params}


# ---------------------------------------------------------------------------------------------------------

OPT_PARAMS = [('w1', [5, 7]), ('b1', [5]), ('w2', [3, 5, 2, 2])]
STEPS = 3


def opt_params():
    return [pformula(shape, j + 1, 0.5).requires_grad_() for j, (_, shape) in enumerate(OPT_PARAMS)]


def grad_for(j, shape, t):
    return pformula(shape, 100 + 10 * t + j, 1.0)


def run_opt(make):
    ps = opt_params()
    opt = make(ps)
    traj = []
    for t in range(STEPS):
        for j, (p, (_, shape)) in enumerate(zip(ps, OPT_PARAMS)):
            p.grad = grad_for(j, shape, t)
        opt.step()
        traj.append([vals(p) for p in ps])
    return traj


def optim_fixture():
    cases = []
    for cfg in [
        {'lr': 0.1, 'momentum': 0.9, 'dampening': 0.0, 'weight_decay': 1e-2, 'nesterov': False},
        {'lr': 0.05, 'momentum': 0.9, 'dampening': 0.0, 'weight_decay': 5e-4, 'nesterov': True},
        {'lr': 0.1, 'momentum': 0.0, 'dampening': 0.0, 'weight_decay': 0.0, 'nesterov': False},
        {'lr': 0.1, 'momentum': 0.8, 'dampening': 0.3, 'weight_decay': 1e-3, 'nesterov': False},
    ]:
        cases.append({'kind': 'SGD', 'config': cfg, 'params': run_opt(lambda ps: torch.optim.SGD(ps, **cfg))})
    for cfg in [
        {'lr': 1e-2, 'betas': [0.9, 0.999], 'eps': 1e-8, 'weight_decay': 1e-2},
        {'lr': 3e-3, 'betas': [0.8, 0.99], 'eps': 1e-6, 'weight_decay': 0.1},
    ]:
        c = dict(cfg, betas=tuple(cfg['betas']))
        cases.append({'kind': 'AdamW', 'config': cfg, 'params': run_opt(lambda ps: torch.optim.AdamW(ps, **c))})
    return {'params': [[n, s, j + 1, 0.5] for j, (n, s) in enumerate(OPT_PARAMS)],
            'grads': 'pformula(shape, 100 + 10 t + j, 1) for parameter j at step t', 'steps': STEPS, 'cases': cases}


# ---------------------------------------------------------------------------------------------------------

CKPT_META = {'format': 'pt', 'byol.note': 'formula weights'}


def check_loads(path_or_bytes, model_factory, x):
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else open(path_or_bytes, 'rb').read()
    tensors, meta = st_decode(data)
    sd = {k: v for k, v in tensors.items() if not k.startswith('optim.')}
    model = model_factory()
    model.load_state_dict(sd, strict=True)
    model.eval()
    with torch.no_grad():
        return model(x), meta


def checkpoint_fixture():
    x = pformula([2, 3, 32, 32], 2000, 1.0)
    # 1. A torch-initialized width-4 ResNet-18 with running statistics from three training forwards.
    torch.manual_seed(1234)
    model = NarrowResNet(4, 10)
    model.train()
    with torch.no_grad():
        for s in range(3):
            model(pformula([4, 3, 32, 32], 3000 + s, 1.5))
    model.eval()
    with torch.no_grad():
        eval_logits = model(x)
    model.train()
    with torch.no_grad():
        train_logits = model(x)  # updates running stats once more; stored after this
    data = st_encode(model_entries(model), {'format': 'pt', 'byol.note': 'torch init'})
    with open(os.path.join(OUT, 'resnet18_w4_torch.safetensors'), 'wb') as f:
        f.write(data)
    model.eval()
    with torch.no_grad():
        eval_after = model(x)
    back, _ = check_loads(data, lambda: NarrowResNet(4, 10), x)
    assert torch.equal(back, eval_after), 'round trip through the tiny safetensors writer changed the logits'

    # 2. The formula-weighted width-4 model as the TypeScript side encodes it.
    fm = NarrowResNet(4, 10)
    set_formula_weights(fm, pformula)
    fdata = st_encode(model_entries(fm), CKPT_META)
    fback, _ = check_loads(fdata, lambda: NarrowResNet(4, 10), x)
    fm.eval()
    with torch.no_grad():
        assert torch.equal(fback, fm(x))
        formula_eval = fm(x)
    n = struct.unpack('<Q', fdata[:8])[0]
    return {
        'x': [[2, 3, 32, 32], 2000, 1.0],
        'torch_file': 'resnet18_w4_torch.safetensors', 'width': 4, 'num_classes': 10,
        'torch_eval_logits_before_last_train_forward': vals(eval_logits),
        'torch_train_logits': vals(train_logits),
        'torch_eval_logits': vals(eval_after),
        'formula_metadata': CKPT_META,
        'formula_sha256': hashlib.sha256(fdata).hexdigest(), 'formula_bytes': len(fdata),
        'formula_header': fdata[8:8 + n].decode('utf-8'),
        'formula_eval_logits': vals(formula_eval),
    }


def check(path):
    x = pformula([2, 3, 32, 32], 2000, 1.0)
    fx = json.load(open(os.path.join(OUT, 'checkpoint.json')))
    logits, meta = check_loads(path, lambda: NarrowResNet(fx['width'], fx['num_classes']), x)
    want = torch.tensor(fx['formula_eval_logits'], dtype=torch.float64)
    err = float((logits.reshape(-1).to(torch.float64) - want).norm() / want.norm())
    print('loaded', path, 'into torch with load_state_dict(strict=True); metadata', meta)
    print('eval logits relative error vs the formula model: %.3g' % err)
    sys.exit(0 if err < 1e-5 else 1)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--check':
        check(sys.argv[2])
    os.makedirs(OUT, exist_ok=True)
    meta = {'torch': torch.__version__, 'torchvision': torchvision.__version__,
            'formula': 'pformula(shape, k, scale, offset)[i] = offset + sin(0.37 i + 0.11 k) * scale (float64, then float32)'}
    for fname, make in [('resnet18.json', resnet_fixture), ('optim.json', optim_fixture), ('checkpoint.json', checkpoint_fixture)]:
        data = make()
        data['meta'] = meta
        with open(os.path.join(OUT, fname), 'w') as f:
            json.dump(data, f, separators=(',', ':'))
            f.write('\n')
        print('wrote', fname)


if __name__ == '__main__':
    main()
