#!/usr/bin/python3
"""Writes test/fixtures/byol/step.json: one BYOL step of a tiny model in PyTorch, for
test/byol-train/step.test.ts.

Run with Debian's python3-torch and python3-torchvision:  /usr/bin/python3 scripts/make_byol_fixture.py

The model is what `Byol.create({ stem: 'small', width: 4, byol: { projectorHidden: 16, projectionDim: 8,
predictorHidden: 16 } })` builds: a width-4 ResNet-18 with the small stem (3×3/1, no max pool; 32 features),
projector and predictor MLPs (Linear → BatchNorm1d → ReLU → Linear, 32 → 16 → 8 and 8 → 16 → 8). The model
classes, the loss, LARS and the EMA update are those of scripts/byol_reference.py (the experiment's PyTorch
reference), so this fixture also checks the reference against the TypeScript engine.

Weights come from the formula of scripts/make_nn_fixtures.py (test/nn-modules/formula.ts is its TypeScript
twin): state-dict entry number k (1, 2, ... in state-dict order) gets param_value(name, shape, k) with
hformula; the target's entries are numbered from TARGET_K + 1, so the target starts away from the online
network and the EMA update moves it visibly. The two views are hformula([4, 3, 16, 16], 901 / 902).

The step, as src/byol/byol-phase.ts takes it, networks in train mode:
  loss = L(q(v1), z'(v2)) + L(q(v2), z'(v1));  backward;  LARS step (lr, momentum, weight decay, η = 0.001;
  1-D parameters excluded from decay and adaptation);  target ← τ·target + (1 − τ)·online.
lr and weight decay are larger than training's so that one step moves every parameter well above float32
rounding and the decay term matters; the LARS update of an adapted parameter has norm lr·η·‖w‖ whatever the
gradient, so the test compares the update (new − old) itself, not only the new values.

Stored, per parameter (online, then target): the update's norm, sum, sum of |·| and first values, and the
new value's norm; per batch-norm buffer: the new running mean's and variance's first values and norms.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from byol_reference import LARS, Byol  # noqa: E402  (the reference's model, loss and optimizer)
from make_nn_fixtures import hformula, param_value  # noqa: E402  (the project's formula convention)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'byol')
CONFIG = {'stem': 'small', 'width': 4, 'byol': {'projectorHidden': 16, 'projectionDim': 8, 'predictorHidden': 16}}
VIEW_SHAPE = [4, 3, 16, 16]
TARGET_K = 1000
LR = 2.0
MOMENTUM = 0.9
WEIGHT_DECAY = 0.05
TAU = 0.99
HEAD = 4


def set_formula(module, k0):
    sd = module.state_dict()
    module.load_state_dict({name: param_value(name, list(t.shape), k0 + k) for k, (name, t) in enumerate(sd.items(), 1)},
                           strict=True)
    return list(sd.keys())


def g(v):
    return float('%.9g' % v)


def update_rows(module, before):
    rows = []
    for name, p in module.named_parameters():
        d = p.detach().to(torch.float64) - before[name].to(torch.float64)
        rows.append({'name': name, 'size': p.numel(), 'norm': g(d.norm()), 'sum': g(d.sum()), 'l1': g(d.abs().sum()),
                     'head': [g(v) for v in d.reshape(-1)[:HEAD].tolist()], 'value_norm': g(p.detach().double().norm())})
    return rows


def buffer_rows(module):
    rows = []
    for name, b in module.named_buffers():
        if name.endswith('num_batches_tracked'):
            rows.append({'name': name, 'count': int(b)})
            continue
        b = b.detach().to(torch.float64)
        rows.append({'name': name, 'norm': g(b.norm()), 'head': [g(v) for v in b.reshape(-1)[:HEAD].tolist()]})
    return rows


def main():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    byol = Byol(CONFIG)
    online_names = set_formula(byol.online, 0)
    target_names = set_formula(byol.target, TARGET_K)
    byol.train(True)
    before_online = {n: p.detach().clone() for n, p in byol.online.named_parameters()}
    before_target = {n: p.detach().clone() for n, p in byol.target.named_parameters()}
    v1 = hformula(VIEW_SHAPE, 901)
    v2 = hformula(VIEW_SHAPE, 902)

    opt = LARS(list(byol.online.parameters()), LR, MOMENTUM, WEIGHT_DECAY)
    opt.zero_grad()
    loss = byol.loss(v1, v2)
    loss.backward()
    opt.step(LR)
    byol.update_target(TAU)

    fixture = {
        'meta': {'torch': torch.__version__, 'made_by': 'scripts/make_byol_fixture.py'},
        'config': CONFIG, 'view_shape': VIEW_SHAPE, 'view_k': [901, 902], 'target_k': TARGET_K,
        'lr': LR, 'momentum': MOMENTUM, 'weight_decay': WEIGHT_DECAY, 'tau': TAU,
        'online_state_names': online_names, 'target_state_names': target_names,
        'loss': g(loss),
        'online': update_rows(byol.online, before_online),
        'target': update_rows(byol.target, before_target),
        'online_buffers': buffer_rows(byol.online),
        'target_buffers': buffer_rows(byol.target),
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, 'step.json'), 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
        f.write('\n')
    print('loss', float(loss), '; wrote', os.path.join(OUT, 'step.json'))


if __name__ == '__main__':
    main()
