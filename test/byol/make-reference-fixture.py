#!/usr/bin/python3
"""Writes test/fixtures/byol/reference.json: what scripts/byol_reference.py computes for
test/byol/reference.test.ts, which holds the TypeScript side to it without PyTorch at test time:

  * `splits`: --print-splits fingerprints (index lists, normalization statistics, class names, label
    sequences) of the tiny folder dataset of test/folder-dataset.ts (its formula redrawn here with PIL; PNG
    is lossless, so both sides decode the same pixels) under a few settings;
  * `cifarSplits`: the same of a small synthetic CIFAR-10 binary release (write_cifar10: 5 × 20 training and
    20 test records and a batches.meta.txt, in DATA_DIR/cifar-10-batches-bin), opened as --dataset cifar10;
  * `probe`: linear_probe (λ by stratified cross-validation, L-BFGS in float64) on small feature sets.

Run with Debian's python3-torch, python3-torchvision and python3-pil:
    /usr/bin/python3 test/byol/make-reference-fixture.py
"""
import json
import os
import sys
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import byol_reference as ref  # noqa: E402

# Settings of the split cases: flags of byol_reference.py (and of the test's config overrides).
SPLIT_CASES = [
    {'preset': 'smoke', 'seed': 0, 'testImages': 12},
    {'preset': 'smoke', 'seed': 5, 'labelsPerClass': 4, 'unlabeledImages': 0, 'testImages': 0},
    {'preset': 'quick', 'seed': 3, 'labelsPerClass': 7, 'unlabeledImages': 40, 'heldOutImages': 20, 'testImages': 25,
     'batch': 8},
]


def write_folder_dataset(data):
    """test/folder-dataset.ts's writeFolderDataset: 40 training and 10 test 16×16 RGB PNGs per class."""
    def write(split, per_class):
        for c, name in enumerate(['circle', 'stripes', 'corner']):
            d = os.path.join(data, split, name)
            os.makedirs(d, exist_ok=True)
            for i in range(per_class):
                a = np.zeros((16, 16, 3), dtype=np.uint8)
                for y in range(16):
                    for x in range(16):
                        on = ((x - 8) ** 2 + (y - 8) ** 2 < 25 + i if c == 0 else
                              (x + i) % 4 < 2 if c == 1 else x + y < 10 + (i % 5))
                        a[y, x] = (220 - 3 * i, 60 + 40 * c, 40) if on else (20 + i, 30, 200 - 5 * i)
                Image.fromarray(a, 'RGB').save(os.path.join(d, f'{i:03d}.png'))
    write('train', 40)
    write('test', 10)


CIFAR_CASES = [
    {'preset': 'smoke', 'seed': 0},
    {'preset': 'smoke', 'seed': 2, 'labelsPerClass': 3, 'unlabeledImages': 20, 'testImages': 0},
]


def write_cifar10(data_dir):
    """A synthetic CIFAR-10 binary release (the test's writeCifar10): record r (0–99 training, 1000–1019 test)
    has label (7r + ⌊r/8⌋) mod 10 and pixel byte k = (31r + 7k + 50·⌊k/1024⌋) mod 256."""
    d = os.path.join(data_dir, 'cifar-10-batches-bin')
    os.makedirs(d, exist_ok=True)
    k = np.arange(3072)

    def records(first, n):
        out = bytearray()
        for r in range(first, first + n):
            out.append((7 * r + r // 8) % 10)
            out += ((31 * r + 7 * k + 50 * (k // 1024)) % 256).astype(np.uint8).tobytes()
        return bytes(out)

    for i in range(5):
        with open(os.path.join(d, f'data_batch_{i + 1}.bin'), 'wb') as f:
            f.write(records(20 * i, 20))
    with open(os.path.join(d, 'test_batch.bin'), 'wb') as f:
        f.write(records(1000, 20))
    with open(os.path.join(d, 'batches.meta.txt'), 'w') as f:
        f.write('\n'.join(f'class {c}' for c in range(10)) + '\n\n')


def split_cases(data, cases=SPLIT_CASES, dataset=None, data_dir=None):
    ds = ref.load_dataset(dataset or f'folder:{data}', data_dir)
    out = []
    for case in cases:
        c = ref.copy.deepcopy(ref.PRESETS[case['preset']])
        c.update({k: v for k, v in case.items() if k != 'preset'})
        fp = ref.split_fingerprint(ref.prepare_data(ds, c), ds)
        del fp['dataset']['name']       # holds the temporary folder's path
        out.append({'settings': case, 'fingerprint': fp})
    return out


# (rng seed, images per class, dimensions, classes, noise), chosen so that cross-validation picks λ = 1, 1e-2, 1e-3
# and (separable data, the whole warm-started path) 1e-4 of the default candidates.
PROBE_CASES = {'lambda-1': (0, 6, 10, 3, 3.0), 'lambda-1e-2': (0, 30, 8, 3, 1.0), 'lambda-1e-3': (0, 25, 6, 4, 0.5),
               'separable': (0, 9, 5, 4, 0.2)}


def probe_cases():
    out = []
    for name, (seed, n_per_class, d, c, spread) in PROBE_CASES.items():
        rng = np.random.default_rng(seed)
        centers = rng.normal(size=(c, d))
        y = np.tile(np.arange(c), n_per_class)                      # classes interleaved: folds by rank
        yt = np.tile(np.arange(c), 8)
        scale = rng.uniform(0.01, 3.0, size=d)                          # unequal scales: standardization matters
        x = ((centers[y] + spread * rng.normal(size=(len(y), d))) * scale + 0.5).astype(np.float32)
        xt = ((centers[yt] + spread * rng.normal(size=(len(yt), d))) * scale + 0.5).astype(np.float32)
        x, xt = x.astype(np.float64), xt.astype(np.float64)                 # float32 values, as encoder features
        r = ref.linear_probe(x, y, xt, yt, c, ref.BASE['probe'])
        out.append({
            'name': name, 'numClasses': c, 'dim': d, 'options': ref.BASE['probe'],
            'trainFeatures': x.reshape(-1).tolist(), 'trainLabels': y.tolist(),
            'testFeatures': xt.reshape(-1).tolist(), 'testLabels': yt.tolist(),
            'result': {'accuracy': r['accuracy'], 'loss': r['loss'], 'lambda': r['lambda'], 'cvLoss': r['cvLoss'],
                       'cvAccuracy': r['cvAccuracy'],
                       'weight': r['weight'].reshape(-1).tolist(), 'bias': r['bias'].tolist(),
                       'iterations': r['iterations'], 'converged': r['converged']},
        })
    return out


def main():
    with tempfile.TemporaryDirectory() as tmp:
        write_folder_dataset(tmp)
        write_cifar10(os.path.join(tmp, 'cifar'))
        fixture = {'splits': split_cases(tmp),
                   'cifarSplits': split_cases(None, CIFAR_CASES, 'cifar10', os.path.join(tmp, 'cifar')),
                   'probe': probe_cases()}
    path = os.path.join(ROOT, 'test', 'fixtures', 'byol', 'reference.json')
    with open(path, 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
        f.write('\n')
    for case in fixture['splits'] + fixture['cifarSplits']:
        print(case['settings'], json.dumps(case['fingerprint'])[:160], '…')
    for case in fixture['probe']:
        r = case['result']
        print(f'probe {case["name"]}: λ {r["lambda"]}, cv loss {[round(v, 4) for v in r["cvLoss"]]}, accuracy '
              f'{r["accuracy"]:.4f}, '
              f'loss {r["loss"]:.6f}, {r["iterations"]} iterations, converged {r["converged"]}')
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
