#!/usr/bin/python3
"""Writes PyTorch parity fixtures for the network ops into test/fixtures/*.json.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/make_fixtures.py

Inputs and weights are not stored: both sides compute them from one formula (test/nn/formula.ts holds
the TypeScript twin of `formula` below), so a fixture holds only shapes, hyperparameters and outputs.
Outputs with more than MAX_FULL elements are stored as a summary (sum, sum of |v|, the first values).
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.set_grad_enabled(True)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')
MAX_FULL = 4096
HEAD = 64


def formula(shape, k, scale=1.0, quantize=False):
    """v[i] = sin(0.37·i + 0.11·k)·scale over the flat index i (float64, then float32);
    quantize rounds v to a whole number (to make ties)."""
    n = 1
    for d in shape:
        n *= d
    vals = [math.sin(0.37 * i + 0.11 * k) * scale for i in range(n)]
    if quantize:
        vals = [float(round(v)) for v in vals]
    return torch.tensor(vals, dtype=torch.float64).to(torch.float32).reshape(shape)


def labels_formula(n, classes):
    """label[i] = (7·i + 3) mod classes."""
    return torch.tensor([(7 * i + 3) % classes for i in range(n)], dtype=torch.int64)


def out(t):
    t = t.detach().to(torch.float64).reshape(-1)
    vals = [float('%.9g' % v) for v in t.tolist()]
    if len(vals) <= MAX_FULL:
        return {'values': vals}
    return {'sum': float(t.sum()), 'abs_sum': float(t.abs().sum()), 'head': vals[:HEAD], 'count': len(vals)}


def conv_cases():
    cases = []
    configs = [
        # name, N, C_in, H, W, C_out, K, stride, padding, bias
        ('stem 7x7/2 p3', 2, 3, 16, 16, 4, 7, 2, 3, False),
        ('3x3/1 p1', 2, 5, 9, 9, 6, 3, 1, 1, True),
        ('3x3/2 p1', 2, 4, 10, 10, 6, 3, 2, 1, False),
        ('1x1/2 p0', 2, 4, 9, 9, 8, 1, 2, 0, False),
    ]
    for name, N, C, H, W, CO, K, s, p, bias in configs:
        x = formula([N, C, H, W], 1).requires_grad_()
        w = formula([CO, C, K, K], 2, 0.3).requires_grad_()
        b = formula([CO], 3, 0.5).requires_grad_() if bias else None
        y = F.conv2d(x, w, b, stride=s, padding=p)
        dy = formula(list(y.shape), 4)
        (y * dy).sum().backward()
        case = {
            'name': name, 'N': N, 'C_in': C, 'H': H, 'W': W, 'C_out': CO, 'kernel': K, 'stride': s,
            'padding': p, 'bias': bias,
            'inputs': {'x': [[N, C, H, W], 1, 1.0], 'w': [[CO, C, K, K], 2, 0.3], 'dy': [list(y.shape), 4, 1.0]},
            'y_shape': list(y.shape), 'y': out(y), 'dx': out(x.grad), 'dw': out(w.grad),
        }
        if bias:
            case['inputs']['b'] = [[CO], 3, 0.5]
            case['db'] = out(b.grad)
        cases.append(case)
    return cases


def batchnorm_cases():
    cases = []
    for name, shape in [('2d', [4, 3, 5, 5]), ('1d', [6, 5])]:
        C = shape[1]
        x = formula(shape, 1, 2.0).requires_grad_()
        gamma = (1 + formula([C], 2, 0.5)).detach().requires_grad_()
        beta = formula([C], 3, 0.5).requires_grad_()
        bn = torch.nn.BatchNorm2d(C) if len(shape) == 4 else torch.nn.BatchNorm1d(C)
        with torch.no_grad():
            bn.weight.copy_(gamma)
            bn.bias.copy_(beta)
            bn.running_mean.copy_(formula([C], 5, 0.5))
            bn.running_var.copy_(1 + formula([C], 6, 0.5))
        bn.train()
        y = bn(x)
        dy = formula(shape, 4)
        (y * dy).sum().backward()
        running_mean = bn.running_mean.clone()
        running_var = bn.running_var.clone()
        bn.eval()
        y_eval = bn(x)
        cases.append({
            'name': name, 'shape': shape, 'momentum': 0.1, 'eps': 1e-5,
            'inputs': {
                'x': [shape, 1, 2.0], 'gamma': '1 + formula([C], 2, 0.5)', 'beta': [[C], 3, 0.5],
                'running_mean': [[C], 5, 0.5], 'running_var': '1 + formula([C], 6, 0.5)', 'dy': [shape, 4, 1.0],
            },
            'y': out(y), 'dx': out(x.grad), 'dgamma': out(bn.weight.grad), 'dbeta': out(bn.bias.grad),
            'running_mean': out(running_mean), 'running_var': out(running_var),
            'y_eval_after_update': out(y_eval),
        })
    return cases


def maxpool_cases():
    cases = []
    for name, shape, k, s, p, q in [
        ('stem 3x3/2 p1', [2, 3, 9, 9], 3, 2, 1, False),
        ('3x3/2 p1 ties', [2, 2, 8, 8], 3, 2, 1, True),
        ('2x2/2', [1, 3, 7, 6], 2, 2, 0, False),
    ]:
        x = formula(shape, 1, 2.0, quantize=q).requires_grad_()
        y = F.max_pool2d(x, k, s, p)
        dy = formula(list(y.shape), 4)
        (y * dy).sum().backward()
        cases.append({
            'name': name, 'shape': shape, 'kernel': k, 'stride': s, 'padding': p, 'quantize': q,
            'inputs': {'x': [shape, 1, 2.0], 'dy': [list(y.shape), 4, 1.0]},
            'y_shape': list(y.shape), 'y': out(y), 'dx': out(x.grad),
        })
    return cases


def cross_entropy_cases():
    cases = []
    for N, K in [(6, 10), (1, 3), (9, 4)]:
        x = formula([N, K], 1, 3.0).requires_grad_()
        labels = labels_formula(N, K)
        loss = F.cross_entropy(x, labels)
        loss.backward()
        cases.append({
            'name': '%dx%d' % (N, K), 'N': N, 'K': K, 'inputs': {'logits': [[N, K], 1, 3.0], 'labels': '(7i + 3) mod K'},
            'loss': float(loss), 'dx': out(x.grad),
        })
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    meta = {'torch': torch.__version__, 'formula': 'v[i] = sin(0.37 i + 0.11 k) * scale (float64, then float32); inputs: [shape, k, scale]'}
    for fname, cases in [
        ('conv2d.json', conv_cases()),
        ('batchnorm.json', batchnorm_cases()),
        ('maxpool.json', maxpool_cases()),
        ('cross_entropy.json', cross_entropy_cases()),
    ]:
        with open(os.path.join(OUT, fname), 'w') as f:
            json.dump({'meta': meta, 'cases': cases}, f, separators=(',', ':'))
            f.write('\n')
        print('wrote', fname, len(cases), 'cases')


if __name__ == '__main__':
    main()
