#!/usr/bin/python3
"""The PyTorch reference of the whole BYOL experiment (src/byol/experiment.ts and its phases), on the CPU.

Run with Debian's python3-torch, python3-torchvision and python3-pil (NOT a python3 without torch):

    /usr/bin/python3 scripts/byol_reference.py --preset quick --seed 0 --out /tmp/ref-seed0
    /usr/bin/python3 scripts/byol_reference.py --settings runs/quick-fashion-mnist/summary.json --out /tmp/ref
    /usr/bin/python3 scripts/byol_reference.py --preset cifar --dataset folder:PATH --seeds 0,1,2 --out /tmp/ref
    /usr/bin/python3 scripts/byol_reference.py --print-splits          # the split fingerprint, then exit
    /usr/bin/python3 scripts/byol_reference.py --self-test             # augmentations, L-BFGS port vs torch

It runs the same protocol as `npm run train:byol`:
  * the same data: Fashion-MNIST / MNIST (IDX), CIFAR-10 (cifar-10-batches-bin under --data-dir) and image
    folders (folder:PATH, PATH/train/<class>/*.png|jpg and PATH/test/…), located, listed (sorting, hidden
    files, symbolic links) and numbered as src/data/open.ts does; the project's seeded generators (xoshiro128**
    seeded by splitmix32/fmix32, deriveSeed; src/data/prng.ts) are ported bit for bit, so the stratified
    labeled split (src/data/splits.ts), the held-out part and the pretraining pool (prepareData's seededPick),
    the test subset, the normalization statistics, and every loader's per-epoch order (src/data/loader.ts)
    are the TypeScript run's (--print-splits prints their fingerprint; test/byol/reference.test.ts holds the
    TypeScript side to it). Only JPEG pixels differ: PIL (libjpeg) is not jpeg-js (see decode_image);
  * the same phases, sizes, epochs, image size and stem: (1) a supervised ResNet-18 on the labeled images
    (finetune.optimizer: SGD with Nesterov momentum, or AdamW);
    (2) BYOL on the pool, with the BYOL loss on the held-out images and the test images (eval mode), and the
    kNN monitor (k = 20, cosine, majority vote, ties by summed similarity then the smaller class) and the
    linear probe (src/byol/probe.ts: standardized frozen features, L2 logistic regression by L-BFGS in
    float64, λ by stratified cross-validation on the labeled images) after every epoch, and before the first
    as the random arm: the mean over randomDraws random encoders, the first of them BYOL's starting point
    (--reevaluate-random-arm brings a finished run's random arm to these settings' draws); (3) fine-tuning of a copy of the online encoder, its fc started as that linear probe
    (finetune.headInit), at finetune.lr × finetune.pretrainedLrScale, otherwise the recipe of (1);
    classifiers are evaluated finetune.evaluations times, each after a precise batch-norm re-estimate;
  * the same augmentations, as torchvision transforms with the same parameters (BYOL_VIEW_1/2 with
    byol.cropMinScale and byol.blur, the classifier view, the identity view; blur kernel by
    defaultBlurKernel), batched (ViewAugment; --self-test checks it against torchvision's per-image
    functions); only the random draws differ (torch's generator instead of the project's Philox streams);
  * the same optimizers (LARS exactly as src/nn/optim.ts, 1-D parameters excluded from decay and
    adaptation; SGD with Nesterov momentum; AdamW), schedules (warmupCosine and byolTau per step), target
    update (EMA of the parameters; the target's batch-norm statistics are its own), loss, batch-norm
    semantics, batch dropping (BYOL drop_last; classifier batches of fewer than 2 images skipped);
  * initializations as torchvision (random, keyed by the seed, but not the TypeScript engine's draws; the random
    arm's draw k ≥ 1 is keyed by phase_seed(seed, 'byol', 17, k)).

So a run is the same experiment, not the same trajectory: compare the TypeScript run's numbers with the
spread of this reference over a few seeds (--seeds).

Outputs in --out: metrics.jsonl (one record per epoch of each phase, as the TypeScript MetricRecord,
rewritten after every epoch) and summary.json (the fields of src/byol/report.ts's `summarize`, plus
splitsFingerprint); with --seeds, one such folder per seed (OUT/seed-N) and OUT/summary.json with every
arm's mean ± sd and the paired differences, as train-byol.ts writes them. Settings files written before
a setting existed get src/byol/config.ts's default for it. The quick preset takes about 3–4 minutes with 2
threads on a quiet 2-core machine.
"""
import os

# Before torch loads OpenMP: threads that wait for each other sleep instead of spinning. On a shared, loaded
# 2-core machine the default (spinning) made a ResNet-18 step take 8× the CPU time and 10× the wall time.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import argparse  # noqa: E402
import copy
import gzip
import hashlib
import io
import json
import math
import re
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as TF
import torchvision.transforms.functional_tensor as FT
from torchvision.models.resnet import BasicBlock, ResNet

try:
    from PIL import Image   # Debian's python3-pil; needed for folder datasets only
except ImportError:         # pragma: no cover
    Image = None

# ---------------------------------------------------------------------------------------------------------
# The protocol: the presets of src/byol/config.ts, as the engine writes them into scripts/presets.json (a test
# keeps the file equal to config.ts's PRESETS), so both sides run one protocol without a second copy here.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'presets.json')) as _f:
    PRESETS = json.load(_f)
# The settings every preset starts from, as config.ts's `base` (the quick preset is `base` itself).
BASE = PRESETS['quick']


def with_defaults(config, defaults=None):
    """Fills the keys a settings file lacks (one written before they existed) with BASE's values, which are
    src/byol/config.ts's defaults: e.g. finetune.pretrainedLrScale, finetune.headInit and probe."""
    defaults = BASE if defaults is None else defaults
    out = copy.deepcopy(config)
    for k, v in defaults.items():
        if k not in out:
            out[k] = copy.deepcopy(v)
        elif isinstance(v, dict) and isinstance(out[k], dict):
            out[k] = with_defaults(out[k], v)
    return out


PHASES = ['supervised', 'byol', 'finetune']

# Augmentation views (src/byol/augment-params.ts and CLASSIFIER_VIEW in src/byol/classifier-phase.ts).
NO_JITTER = {'p': 0, 'brightness': 0, 'contrast': 0, 'saturation': 0, 'hue': 0}
IDENTITY_VIEW = {'crop': None, 'flipP': 0, 'jitter': NO_JITTER, 'grayscaleP': 0,
                 'blur': {'p': 0, 'sigma': (0.1, 2.0)}, 'solarize': {'p': 0, 'threshold': 0.5}}
BYOL_VIEW_1 = {'crop': {'scale': (0.08, 1.0), 'ratio': (3 / 4, 4 / 3)}, 'flipP': 0.5,
               'jitter': {'p': 0.8, 'brightness': 0.4, 'contrast': 0.4, 'saturation': 0.2, 'hue': 0.1},
               'grayscaleP': 0.2, 'blur': {'p': 1.0, 'sigma': (0.1, 2.0)}, 'solarize': {'p': 0, 'threshold': 0.5}}
BYOL_VIEW_2 = dict(BYOL_VIEW_1, blur={'p': 0.1, 'sigma': (0.1, 2.0)}, solarize={'p': 0.2, 'threshold': 0.5})
CLASSIFIER_VIEW = dict(IDENTITY_VIEW, crop={'scale': (0.25, 1.0), 'ratio': (3 / 4, 4 / 3)}, flipP=0.5)


def byol_views(config):
    """byol-phase.ts's byolViews: BYOL_VIEW_1/2 with the crop scale [byol.cropMinScale, 1] and, with byol.blur
    off, no blur."""
    b = config['byol']
    return [dict(v, crop={'scale': (b['cropMinScale'], 1.0), 'ratio': v['crop']['ratio']},
                 blur=v['blur'] if b['blur'] else dict(v['blur'], p=0)) for v in (BYOL_VIEW_1, BYOL_VIEW_2)]


def curve_point_after(epoch, epochs, images_per_epoch, every):
    """byol-phase.ts's curvePointAfter: whether BYOL epoch `epoch` (1-based) passes a multiple of `every` images
    and is not the last (the fine-tuned arm is that point)."""
    if not every > 0 or epoch >= epochs:
        return False
    return (epoch * images_per_epoch) // every > ((epoch - 1) * images_per_epoch) // every


def evaluates_after(epoch, epochs, evaluations):
    """classifier-phase.ts's evaluatesAfter: whether a classifier arm evaluates on the test images after `epoch`
    (1-based): every ceil(epochs / evaluations) epochs, and always after the last."""
    if epoch >= epochs:
        return True
    return epoch % max(1, math.ceil(epochs / max(1, evaluations))) == 0

FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker',
                         'Bag', 'Ankle boot']
SYSTEM_DATASET_DIRS = {'fashion-mnist': ['/usr/share/datasets/fashion-mnist']}

# ---------------------------------------------------------------------------------------------------------
# The project's seeded generators (src/data/prng.ts), bit for bit.

M32 = 0xFFFFFFFF
GOLDEN = 0x9E3779B9


def fmix32(x):
    z = x & M32
    z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
    z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
    return (z ^ (z >> 16)) & M32


def derive_seed(seed, *parts):
    """deriveSeed: hashes a seed and further 32-bit integers into a new 32-bit seed."""
    h = fmix32(((seed & M32) + GOLDEN) & M32)
    for part in parts:
        h = fmix32(((h ^ fmix32(((part & M32) + GOLDEN) & M32)) + GOLDEN) & M32)
    return h


def _rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M32


class Rng:
    """xoshiro128** seeded by splitmix32 (src/data/prng.ts's Rng)."""

    def __init__(self, seed):
        state = seed & M32
        words = []
        for _ in range(4):
            state = (state + GOLDEN) & M32
            words.append(fmix32(state))
        self.s = words
        if not any(words):
            self.s[0] = 1

    def next_u32(self):
        s0, s1, s2, s3 = self.s
        result = (_rotl((s1 * 5) & M32, 7) * 9) & M32
        t = (s1 << 9) & M32
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return result

    def next_int(self, n):
        """Uniform in [0, n) by rejection sampling (no modulo bias)."""
        limit = 2 ** 32 - (2 ** 32 % n)
        while True:
            x = self.next_u32()
            if x < limit:
                return x % n

    def shuffle(self, a):
        """Fisher–Yates in place, as Rng.shuffle."""
        for i in range(len(a) - 1, 0, -1):
            j = self.next_int(i + 1)
            a[i], a[j] = a[j], a[i]
        return a


def stratified_sample(labels, num_classes, per_class, seed):
    """src/data/splits.ts's stratifiedSample: per class, its own stream deriveSeed(seed, class); sorted."""
    picked = []
    for c in range(num_classes):
        members = [i for i, l in enumerate(labels) if l == c]
        if len(members) < per_class:
            raise SystemExit(f'class {c} has {len(members)} labeled images, fewer than {per_class}')
        rng = Rng(derive_seed(seed, c))
        for i in range(per_class):
            j = i + rng.next_int(len(members) - i)
            members[i], members[j] = members[j], members[i]
        picked.extend(members[:per_class])
    return np.sort(np.array(picked, dtype=np.int64))


def seeded_pick(n, count, seed, skip=0):
    """prepareData's seededPick: the first `count` of a seeded permutation of 0..n−1 (all for 0 or ≥ n), sorted."""
    order = Rng(seed).shuffle(list(range(n)))
    end = n if count <= 0 else min(n, skip + count)
    return np.sort(np.array(order[min(skip, n):end], dtype=np.int64))


def epoch_order(n, seed, epoch, shuffle):
    """BatchLoader.epochOrder (src/data/loader.ts)."""
    order = list(range(n))
    if shuffle:
        Rng(derive_seed(seed & M32, epoch)).shuffle(order)
    return order


def batches_of(n, batch, seed, epoch, shuffle, drop_last):
    order = epoch_order(n, seed, epoch, shuffle)
    count = n // batch if drop_last else -(-n // batch)
    return [order[b * batch:min((b + 1) * batch, n)] for b in range(count)]


def phase_seed(seed, phase, *more):
    return derive_seed(seed, PHASES.index(phase) + 1, *more)


# ---------------------------------------------------------------------------------------------------------
# Data (src/data/open.ts and its readers): Fashion-MNIST / MNIST IDX files, CIFAR-10's binary release and
# image folders; then the semi-supervised split and prepareData.
#
# A dataset here is a dict: name (open.ts's OpenedDataset.name), train_x / test_x (N×H×W uint8 for one
# channel, N×3×H×W for RGB: the TypeScript datasets' CHW pixels), train_y / test_y (int64), classes.

DATASET_FOLDERS = {'fashion-mnist': 'fashion-mnist', 'mnist': 'mnist', 'stl10': 'stl10_binary',
                   'cifar10': 'cifar-10-batches-bin'}
IDX_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']
CIFAR10_TRAIN_FILES = [f'data_batch_{i}.bin' for i in range(1, 6)]
CIFAR10_TEST_FILE = 'test_batch.bin'
CIFAR10_RECORD_BYTES = 1 + 3 * 32 * 32
CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']
REQUIRED_FILES = {'fashion-mnist': IDX_FILES, 'mnist': IDX_FILES, 'cifar10': CIFAR10_TRAIN_FILES + [CIFAR10_TEST_FILE],
                  'stl10': ['train_X.bin', 'train_y.bin', 'test_X.bin', 'test_y.bin', 'unlabeled_X.bin']}


def read_idx(path, magic):
    with open(path, 'rb') as f:
        raw = f.read()
    if raw[:2] == b'\x1f\x8b':
        raw = gzip.decompress(raw)
    got, = struct.unpack('>I', raw[:4])
    if got != magic:
        raise SystemExit(f'{path}: magic 0x{got:08x}, expected 0x{magic:08x}')
    ndim = magic & 0xFF
    dims = struct.unpack('>' + 'I' * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def default_data_dir():
    """open.ts's defaultDataDir: $BYOL_DATA_DIR, else $XDG_CACHE_HOME/byol-webgpu/data, else ~/.cache/…"""
    return os.environ.get('BYOL_DATA_DIR') or os.path.join(
        os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache'), 'byol-webgpu', 'data')


def _idx_path(d, f):
    """open.ts's findIdx: the gzipped copy first; None if neither exists."""
    for candidate in (f + '.gz', f):
        if os.path.isfile(os.path.join(d, candidate)):
            return os.path.join(d, candidate)
    return None


def locate_dataset(name, data_dir):
    """open.ts's locateDataset: DATA_DIR/<its folder> if every required file is there, else the first complete
    system folder; a SystemExit naming where it looked otherwise."""
    data_dir = data_dir or default_data_dir()
    idx = name in ('fashion-mnist', 'mnist')
    for d in [os.path.join(data_dir, DATASET_FOLDERS[name])] + SYSTEM_DATASET_DIRS.get(name, []):
        if all((_idx_path(d, f) is not None) if idx else os.path.isfile(os.path.join(d, f))
               for f in REQUIRED_FILES[name]):
            return d
    hint = 'place the four IDX files there' if name == 'mnist' else f'run `npm run data -- {name}`'
    raise SystemExit(f'dataset {name} not found (looked in {os.path.join(data_dir, DATASET_FOLDERS[name])}); {hint}')


def load_idx_dataset(name, data_dir):
    d = locate_dataset(name, data_dir)
    return {
        'name': name,
        'train_x': read_idx(_idx_path(d, 'train-images-idx3-ubyte'), 0x803),
        'train_y': read_idx(_idx_path(d, 'train-labels-idx1-ubyte'), 0x801).astype(np.int64),
        'test_x': read_idx(_idx_path(d, 't10k-images-idx3-ubyte'), 0x803),
        'test_y': read_idx(_idx_path(d, 't10k-labels-idx1-ubyte'), 0x801).astype(np.int64),
        'classes': FASHION_MNIST_CLASSES if name == 'fashion-mnist' else [str(i) for i in range(10)],
    }


def read_cifar10_batches(paths):
    """cifar10.ts's Cifar10BinaryDataset.load: 3073-byte records (label 0–9, then R, G, B planes of 32×32)."""
    records = []
    for path in paths:
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size == 0 or raw.size % CIFAR10_RECORD_BYTES:
            raise SystemExit(f'{path}: size {raw.size} bytes, expected a positive multiple of {CIFAR10_RECORD_BYTES}')
        rec = raw.reshape(-1, CIFAR10_RECORD_BYTES)
        bad = np.nonzero(rec[:, 0] > 9)[0]
        if bad.size:
            raise SystemExit(f'{path}: record {bad[0]} has label {rec[bad[0], 0]}, expected 0–9 '
                             '(not a CIFAR-10 batch file?)')
        records.append(rec)
    rec = records[0] if len(records) == 1 else np.concatenate(records)
    return np.ascontiguousarray(rec[:, 1:]).reshape(-1, 3, 32, 32), rec[:, 0].astype(np.int64)


def load_cifar10(data_dir):
    d = locate_dataset('cifar10', data_dir)
    classes = CIFAR10_CLASSES
    meta = os.path.join(d, 'batches.meta.txt')
    if os.path.isfile(meta):   # cifar10.ts's parseCifarMeta: one name a line, blank lines ignored
        with open(meta, encoding='utf-8') as f:
            classes = [line.strip() for line in f.read().splitlines() if line.strip()]
        if len(classes) != len(CIFAR10_CLASSES):
            raise SystemExit(f'{meta}: {len(classes)} class names, expected {len(CIFAR10_CLASSES)}')
    train_x, train_y = read_cifar10_batches([os.path.join(d, f) for f in CIFAR10_TRAIN_FILES])
    test_x, test_y = read_cifar10_batches([os.path.join(d, CIFAR10_TEST_FILE)])
    return {'name': 'cifar10', 'train_x': train_x, 'train_y': train_y, 'test_x': test_x, 'test_y': test_y,
            'classes': classes}


IMAGE_EXTENSIONS = re.compile(r'\.(png|jpe?g)\Z', re.IGNORECASE | re.ASCII)   # node-files.ts's /\.(png|jpe?g)$/i


def js_sorted(names):
    """Array.prototype.sort's default order: by UTF-16 code units (Python's sorted goes by code points)."""
    return sorted(names, key=lambda s: s.encode('utf-16-be', 'surrogatepass'))


def list_image_folder(root):
    """node-files.ts's listImageFolder: the class sub-folders (not hidden, not symbolic links), sorted; in each,
    the files (not hidden, not symbolic links) named *.png / *.jpg / *.jpeg in any case, sorted. Returns
    [(class name, path)] in dataset order."""
    try:
        with os.scandir(root) as it:
            entries = list(it)
    except OSError as e:
        raise SystemExit(f'{root}: cannot read folder ({e.strerror})')
    classes = js_sorted(e.name for e in entries if e.is_dir(follow_symlinks=False) and not e.name.startswith('.'))
    if not classes:
        raise SystemExit(f'{root}: no class sub-folders found')
    files = []
    for c in classes:
        with os.scandir(os.path.join(root, c)) as it:
            names = js_sorted(e.name for e in it if e.is_file(follow_symlinks=False)
                              and not e.name.startswith('.') and IMAGE_EXTENSIONS.search(e.name))
        files.extend((c, os.path.join(root, c, n)) for n in names)
    if not files:
        raise SystemExit(f'{root}: no PNG or JPEG images in the class sub-folders')
    return files


def jpeg_components(b):
    """image-codecs.ts's jpegComponents: the colour components of the first start-of-frame segment."""
    p = 2
    while p + 4 <= len(b):
        if b[p] != 0xFF:
            return None
        marker = b[p + 1]
        if marker == 0xFF:
            p += 1
            continue
        if marker == 0xD8 or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            p += 2
            continue
        length = (b[p + 2] << 8) | b[p + 3]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return b[p + 9] if p + 9 < len(b) else None
        if marker == 0xDA or length < 2:
            return None
        p += 2 + length
    return None


def decode_image(path):
    """image-codecs.ts's decodeImage with PIL: H×W (one channel) or H×W×3 uint8. By signature, not name.
    PNG: grey and grey + alpha give one channel, colour and palette images three (the colour bit of the
    header's colour type, as pngjs); alpha dropped; 16-bit grey scaled as pngjs (round(v·255/65535)); an 8-bit
    tRNS colour becomes black, as pngjs makes it. JPEG: one-component files give one channel, others three.
    Not bit-exact with the TypeScript decoders: JPEG's inverse DCT and chroma upsampling (jpeg-js against
    libjpeg) can move pixel values by a few levels; 16-bit colour PNGs come out of PIL truncated, not rounded."""
    if Image is None:
        raise SystemExit('folder datasets need PIL (Debian: apt-get install python3-pil)')
    with open(path, 'rb') as f:
        b = f.read()
    try:
        if b[:4] == b'\x89PNG':
            color_type = b[25] if len(b) > 25 else 0
            im = Image.open(io.BytesIO(b))
            im.load()
            trns = im.info.get('transparency')
            if color_type & 2:
                if im.mode == 'P':
                    return np.asarray(im.convert('RGBA'))[:, :, :3].copy()
                a = np.asarray(im.convert('RGB')).copy()
                if im.mode == 'RGB' and isinstance(trns, tuple) and len(trns) == 3:
                    a[(a == np.array(trns, dtype=np.uint8)).all(axis=2)] = 0
                return a
            if im.mode in ('I', 'I;16', 'I;16B', 'I;16L'):
                return np.floor(np.asarray(im, dtype=np.float64) * 255 / 65535 + 0.5).astype(np.uint8)
            if im.mode == 'LA':
                return np.asarray(im)[:, :, 0].copy()
            a = np.asarray(im.convert('L')).copy()
            if im.mode == 'L' and isinstance(trns, int):
                a[a == trns] = 0
            return a
        if b[:3] == b'\xff\xd8\xff':
            components = jpeg_components(b)
            if components is None:
                raise SystemExit(f'{path}: JPEG without a frame header')
            im = Image.open(io.BytesIO(b))
            return np.asarray(im.convert('L' if components == 1 else 'RGB')).copy()
    except (OSError, ValueError, SyntaxError) as e:
        raise SystemExit(f'{path}: cannot decode image ({e})')
    raise SystemExit(f'{path}: not a PNG or JPEG file (unrecognised signature)')


def load_image_folder(root, class_names=None):
    """image-folder.ts's ImageFolderDataset.load over listImageFolder: classes numbered in the order of
    class_names (default: the sorted distinct class names of the files); every image of the size and channel
    count of the first. Returns (N×H×W or N×3×H×W uint8, labels, class names)."""
    files = list_image_folder(root)
    names = class_names if class_names is not None else js_sorted(set(c for c, _ in files))
    index = {n: i for i, n in enumerate(names)}
    labels = np.empty(len(files), dtype=np.int64)
    for i, (c, path) in enumerate(files):
        if c not in index:
            raise SystemExit(f'{path}: class "{c}" is not one of {", ".join(names)}')
        labels[i] = index[c]
    first = decode_image(files[0][1])
    pixels = np.empty((len(files),) + (first.shape if first.ndim == 2 else (3,) + first.shape[:2]), dtype=np.uint8)

    def describe(a):
        return f'{a.shape[1]}×{a.shape[0]} {"L" if a.ndim == 2 else "RGB"}'

    for i, (_, path) in enumerate(files):
        a = first if i == 0 else decode_image(path)
        if a.shape != first.shape:
            raise SystemExit(f'{path}: image is {describe(a)}, expected {describe(first)} (as {files[0][1]}); '
                             'all images of a folder dataset must have the same size and mode')
        pixels[i] = a if a.ndim == 2 else a.transpose(2, 0, 1)
    return pixels, labels, names


def load_folder_dataset(path):
    """open.ts's openImageFolder: PATH/train (and PATH/test, numbered with train's classes) when PATH/train is
    a folder (a symbolic link to one counts), else PATH itself as the training split, without a test split."""
    name = f'folder:{path}'
    if os.path.isdir(os.path.join(path, 'train')):
        train_x, train_y, classes = load_image_folder(os.path.join(path, 'train'))
        test_dir = os.path.join(path, 'test')
        if os.path.isdir(test_dir):
            test_x, test_y, _ = load_image_folder(test_dir, classes)
        else:
            test_x, test_y = None, None
    else:
        train_x, train_y, classes = load_image_folder(path)
        test_x, test_y = None, None
    return {'name': name, 'train_x': train_x, 'train_y': train_y, 'test_x': test_x, 'test_y': test_y,
            'classes': classes}


def load_dataset(spec, data_dir):
    """open.ts's openDataset: 'fashion-mnist', 'mnist', 'cifar10' (from the data folder; Fashion-MNIST also from
    the system package), or 'folder:PATH'."""
    if spec.startswith('folder:'):
        return load_folder_dataset(spec[len('folder:'):])
    if spec in ('fashion-mnist', 'mnist'):
        return load_idx_dataset(spec, data_dir)
    if spec == 'cifar10':
        return load_cifar10(data_dir)
    if spec == 'stl10':
        raise SystemExit('the reference does not read stl10 (use fashion-mnist, mnist, cifar10 or folder:PATH)')
    raise SystemExit(f'unknown dataset "{spec}"; expected one of fashion-mnist, mnist, stl10, cifar10 or folder:PATH')


def channel_stats(images):
    """augment.ts's channelStats of N×H×W (one channel: three equal values) or N×3×H×W uint8, in [0, 1] units,
    summed in the same order (image by image, pixel by pixel, in float64) so the values agree to the bit."""
    x = images.reshape(images.shape[0], 1 if images.ndim == 3 else images.shape[1], -1)
    mean, std = [], []
    for ch in range(x.shape[1]):
        v = x[:, ch].reshape(-1).astype(np.float64) / 255.0
        m = float(np.cumsum(v)[-1]) / v.size             # cumsum: sequential, as the TypeScript loop sums
        sq = float(np.cumsum(v * v)[-1]) / v.size
        mean.append(m)
        std.append(math.sqrt(max(0.0, sq - m ** 2)) or 1.0)
    return {'mean': mean * 3, 'std': std * 3} if len(mean) == 1 else {'mean': mean, 'std': std}


def prepare_data(ds, config):
    """semiSupervisedSplit + prepareData: every index is into the dataset's train or test split."""
    seed = config['seed']
    if ds['test_y'] is None:
        raise SystemExit(f'{ds["name"]}: the dataset has no test split; the experiment evaluates on one')
    labeled = stratified_sample(ds['train_y'].tolist(), len(ds['classes']), config['labelsPerClass'], seed)
    is_labeled = np.zeros(len(ds['train_y']), dtype=bool)
    is_labeled[labeled] = True
    unlabeled = np.nonzero(~is_labeled)[0]                       # the pool of the split: train minus labeled
    held_pos = seeded_pick(len(unlabeled), config['heldOutImages'], derive_seed(seed, 101))
    held = np.zeros(len(unlabeled), dtype=bool)
    held[held_pos] = True
    rest = np.nonzero(~held)[0]
    pool_pos = rest[seeded_pick(len(rest), config['unlabeledImages'], derive_seed(seed, 102))]
    if len(pool_pos) < config['batch']:
        raise SystemExit(f'{ds["name"]}: the pretraining pool has {len(pool_pos)} images, fewer than one batch of '
                         f'{config["batch"]}')
    test = seeded_pick(len(ds['test_y']), config['testImages'], derive_seed(seed, 103))
    pool = unlabeled[pool_pos]
    return {
        'labeled': labeled, 'pool': pool, 'heldOut': unlabeled[held_pos], 'test': test,
        'stats': channel_stats(ds['train_x'][pool[:2000]]),
    }


def _sha16(a):
    return hashlib.sha256(np.ascontiguousarray(a, dtype='<i4').tobytes()).hexdigest()[:16]


def split_fingerprint(splits, ds=None):
    """sha256 (first 16 hex digits) and first indices of each index list, int32 little-endian; the
    normalization statistics (one value each for a one-channel dataset, else per channel); with `ds`, the
    dataset's sizes, image shape, class names and label sequences (file and class order of a folder dataset).
    The TypeScript side computes the same from its own data code (test/byol/reference-splits.test.ts)."""
    out = {}
    for k in ('labeled', 'pool', 'heldOut', 'test'):
        a = np.asarray(splits[k], dtype='<i4')
        out[k] = {'n': int(a.size), 'sha256': _sha16(a), 'first': a[:5].tolist()}
    m, s = splits['stats']['mean'], splits['stats']['std']
    grey = len(set(m)) == 1 and len(set(s)) == 1
    out['stats'] = {'mean': m[0], 'std': s[0]} if grey else {'mean': list(m), 'std': list(s)}
    if ds is not None:
        x = ds['train_x']
        out['dataset'] = {
            'name': ds['name'], 'train': int(len(ds['train_y'])), 'test': int(len(ds['test_y'])),
            'shape': [1] + list(x.shape[1:]) if x.ndim == 3 else list(x.shape[1:]),
            'classes': list(ds['classes']), 'trainLabels': _sha16(ds['train_y']), 'testLabels': _sha16(ds['test_y']),
        }
    return out


# ---------------------------------------------------------------------------------------------------------
# Augmentations: torchvision transforms with the views' parameters.

def default_blur_kernel(size):
    """augment-params.ts's defaultBlurKernel: odd, about a tenth of the size (JavaScript's Math.round)."""
    return 2 * max(0, math.floor((size / 10 - 1) / 2 + 0.5)) + 1


class ViewAugment:
    """One view's pipeline, torchvision's transforms with the view's parameters:
         RandomResizedCrop(size, scale, ratio, bilinear, no antialias) (or Resize of the whole image)
         → RandomHorizontalFlip(flipP) → RandomApply([ColorJitter(b, c, s, h)], p) (ops in a random order)
         → RandomGrayscale(p) (3 output channels) → RandomApply([GaussianBlur(k, sigma)], p)
         → RandomSolarize(threshold, p) → Normalize(mean, std).
    Every sample's parameters are drawn as those transforms draw them (their get_params, torch's generator);
    the crop and flip run per sample with torchvision.transforms.functional, the rest on the whole batch at
    once with torchvision's own tensor functions (functional_tensor), because torchvision's per-image hue
    and blur cost ~10 ms each on a 32×32 image. `self_test` checks the result against torchvision's per-image
    functional calls with the same parameters."""

    def __init__(self, view, size, stats):
        self.view = view
        self.size = size
        self.kernel = view['blur'].get('kernelSize') or default_blur_kernel(size)
        self.mean = torch.tensor(stats['mean'], dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(stats['std'], dtype=torch.float32).view(1, 3, 1, 1)
        j = view['jitter']
        # ColorJitter's ranges; a zero strength turns the operation off (None), as ColorJitter does.
        self.ranges = [None if j[k] == 0 else [max(0.0, 1 - j[k]), 1 + j[k]] for k in ('brightness', 'contrast', 'saturation')]
        self.ranges.append(None if j['hue'] == 0 else [-j['hue'], j['hue']])

    def draw(self, n, h, w):
        """Per-sample parameters, as the torchvision transforms draw them."""
        v = self.view
        params = []
        probe = torch.empty(1, h, w)
        for _ in range(n):
            if v['crop'] is not None:
                box = T.RandomResizedCrop.get_params(probe, list(v['crop']['scale']), list(v['crop']['ratio']))
            else:
                box = (0, 0, h, w)
            flip = bool(torch.rand(1) < v['flipP'])
            jitter = None
            if v['jitter']['p'] > 0 and not v['jitter']['p'] < torch.rand(1):
                order, *factors = T.ColorJitter.get_params(*self.ranges)
                jitter = (order.tolist(), factors)
            gray = bool(torch.rand(1) < v['grayscaleP'])
            sigma = 0.0
            if v['blur']['p'] > 0 and self.kernel > 1 and not v['blur']['p'] < torch.rand(1):
                sigma = T.GaussianBlur.get_params(v['blur']['sigma'][0], v['blur']['sigma'][1])
            solarize = bool(torch.rand(1) < v['solarize']['p'])
            params.append({'box': box, 'flip': flip, 'jitter': jitter, 'gray': gray, 'sigma': sigma, 'solarize': solarize})
        return params

    def __call__(self, images, params=None):
        x = to_rgb(images)
        n, _, h, w = x.shape
        params = params or self.draw(n, h, w)
        s = self.size
        bilinear = T.InterpolationMode.BILINEAR
        out = torch.empty(n, 3, s, s)
        for i, p in enumerate(params):
            y = TF.resized_crop(x[i], *p['box'], [s, s], interpolation=bilinear, antialias=False)
            out[i] = TF.hflip(y) if p['flip'] else y
        # Colour jitter: in slot t every jittered sample applies its t-th operation.
        jit = [i for i, p in enumerate(params) if p['jitter'] is not None]
        if jit:
            idx = torch.tensor(jit)
            y = out[idx]
            order = torch.tensor([params[i]['jitter'][0] for i in jit])
            for slot in range(4):
                for op in range(4):
                    if self.ranges[op] is None:
                        continue
                    sel = torch.nonzero(order[:, slot] == op).flatten()
                    if sel.numel() == 0:
                        continue
                    f = torch.tensor([params[jit[k]]['jitter'][1][op] for k in sel.tolist()], dtype=torch.float32)
                    y[sel] = JITTER_OPS[op](y[sel], f.view(-1, 1, 1, 1))
            out[idx] = y
        gray = torch.tensor([p['gray'] for p in params])
        if gray.any():
            out[gray] = FT.rgb_to_grayscale(out[gray], num_output_channels=3)
        blur = [i for i, p in enumerate(params) if p['sigma'] > 0]
        if blur:
            k = self.kernel
            kernels = torch.stack([FT._get_gaussian_kernel2d([k, k], [params[i]['sigma']] * 2, torch.float32, torch.device('cpu'))
                                   for i in blur])                                   # [M, k, k]
            weight = kernels.repeat_interleave(3, dim=0).unsqueeze(1)                # [3M, 1, k, k]
            idx = torch.tensor(blur)
            y = F.pad(out[idx].reshape(1, 3 * len(blur), s, s), [k // 2] * 4, mode='reflect')
            out[idx] = F.conv2d(y, weight, groups=3 * len(blur)).reshape(len(blur), 3, s, s)
        sol = torch.tensor([p['solarize'] for p in params])
        if sol.any():
            t = self.view['solarize']['threshold']
            out[sol] = torch.where(out[sol] >= t, 1.0 - out[sol], out[sol])
        return (out - self.mean) / self.std

    def reference(self, images, params):
        """The same parameters through torchvision's per-image functional API (for the self-test)."""
        x = to_rgb(images)
        s = self.size
        res = []
        for i, p in enumerate(params):
            y = TF.resized_crop(x[i], *p['box'], [s, s], interpolation=T.InterpolationMode.BILINEAR, antialias=False)
            if p['flip']:
                y = TF.hflip(y)
            if p['jitter'] is not None:
                order, (b, c, sat, hue) = p['jitter']
                for op in order:
                    if op == 0 and b is not None:
                        y = TF.adjust_brightness(y, b)
                    elif op == 1 and c is not None:
                        y = TF.adjust_contrast(y, c)
                    elif op == 2 and sat is not None:
                        y = TF.adjust_saturation(y, sat)
                    elif op == 3 and hue is not None:
                        y = TF.adjust_hue(y, hue)
            if p['gray']:
                y = TF.rgb_to_grayscale(y, num_output_channels=3)
            if p['sigma'] > 0:
                y = TF.gaussian_blur(y, [self.kernel, self.kernel], [p['sigma'], p['sigma']])
            if p['solarize']:
                y = TF.solarize(y, self.view['solarize']['threshold'])
            res.append(TF.normalize(y, self.mean.flatten().tolist(), self.std.flatten().tolist()))
        return torch.stack(res)


def _blend(a, b, ratio):
    """functional_tensor._blend with a per-sample ratio."""
    return (ratio * a + (1.0 - ratio) * b).clamp(0.0, 1.0)


def _brightness(x, f):
    return _blend(x, torch.zeros_like(x), f)


def _contrast(x, f):
    return _blend(x, FT.rgb_to_grayscale(x).mean(dim=(-3, -2, -1), keepdim=True), f)


def _saturation(x, f):
    return _blend(x, FT.rgb_to_grayscale(x), f)


def _hue(x, f):
    h, s, v = FT._rgb2hsv(x).unbind(dim=-3)
    h = (h + f.view(-1, 1, 1)) % 1.0
    return FT._hsv2rgb(torch.stack((h, s, v), dim=-3))


JITTER_OPS = [_brightness, _contrast, _saturation, _hue]


def to_rgb(images):
    """N×H×W (or N×3×H×W) uint8 → N×3×H×W float32 in [0, 1] (one channel replicated, as decodeImage / the
    crop shader do)."""
    x = torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32).div_(255.0)
    return x if x.dim() == 4 else x.unsqueeze(1).repeat(1, 3, 1, 1)


def self_test(stats, size=32, n=256):
    """The batched views against torchvision's per-image functional calls with the same parameters."""
    torch.manual_seed(0)
    # Colour images, so that saturation and hue do something (they leave grey ones unchanged); smooth ones
    # (an upsampled 7×7 grid) as well as noise.
    noise = torch.rand(n // 2, 3, 28, 28)
    smooth = F.interpolate(torch.rand(n - n // 2, 3, 7, 7), size=(28, 28), mode='bilinear', align_corners=False)
    images = (torch.cat([noise, smooth]) * 255).to(torch.uint8).numpy()
    worst = 0.0
    for name, view in (('BYOL_VIEW_1', BYOL_VIEW_1), ('BYOL_VIEW_2', BYOL_VIEW_2), ('CLASSIFIER_VIEW', CLASSIFIER_VIEW),
                       ('IDENTITY_VIEW', IDENTITY_VIEW)):
        aug = ViewAugment(view, size, stats)
        params = aug.draw(n, 28, 28)
        err = float((aug(images, params) - aug.reference(images, params)).abs().max())
        worst = max(worst, err)
        print(f'{name}: max |batched − torchvision per image| = {err:.3g}')
    return worst


# ---------------------------------------------------------------------------------------------------------
# Models: torchvision's ResNet-18 (width and stem as src/nn/resnet.ts), BYOL's MLP heads.

class NarrowResNet(ResNet):
    """torchvision's ResNet with BasicBlock [2, 2, 2, 2], base width `width`, the small or imagenet stem, and
    fc = Linear(8·width, classes) or Identity (num_classes None). Initialization as torchvision's."""

    def __init__(self, width=64, num_classes=10, small_stem=False):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = width
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        if small_stem:
            self.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if small_stem else nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(BasicBlock, width, 2)
        self.layer2 = self._make_layer(BasicBlock, 2 * width, 2, stride=2)
        self.layer3 = self._make_layer(BasicBlock, 4 * width, 2, stride=2)
        self.layer4 = self._make_layer(BasicBlock, 8 * width, 2, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.feature_dim = 8 * width
        self.fc = nn.Identity() if num_classes is None else nn.Linear(8 * width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)


def mlp_head(in_features, hidden, out_features):
    """src/nn/mlp.ts's MLPHead: Linear → BatchNorm1d → ReLU → Linear."""
    return nn.Sequential(nn.Linear(in_features, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, out_features))


class ByolNetwork(nn.Module):
    """encoder → projector (→ predictor, online only); the names are src/byol/model.ts's."""

    def __init__(self, encoder, projector, predictor=None):
        super().__init__()
        self.encoder = encoder
        self.projector = projector
        if predictor is not None:
            self.predictor = predictor
        self.has_predictor = predictor is not None

    def forward(self, x):
        z = self.projector(self.encoder(x))
        return self.predictor(z) if self.has_predictor else z


class Byol:
    """Online and target networks (src/byol/model.ts's Byol): the target is a copy of the online encoder and
    projector, follows it as an EMA of the parameters, and receives no gradients."""

    def __init__(self, config):
        b = config['byol']
        encoder = NarrowResNet(config['width'], None, config['stem'] == 'small')
        dim = encoder.feature_dim
        projector = mlp_head(dim, b['projectorHidden'], b['projectionDim'])
        predictor = mlp_head(b['projectionDim'], b['predictorHidden'], b['projectionDim'])
        self.online = ByolNetwork(encoder, projector, predictor)
        self.target = ByolNetwork(copy.deepcopy(encoder), copy.deepcopy(projector))
        for p in self.target.parameters():
            p.requires_grad_(False)

    def loss(self, v1, v2):
        """L(q(v1), z'(v2)) + L(q(v2), z'(v1)), each 2 − 2·cos averaged over the batch."""
        p1 = self.online(v1)
        p2 = self.online(v2)
        with torch.no_grad():
            z1 = self.target(v1)
            z2 = self.target(v2)
        return regression_loss(p1, z2) + regression_loss(p2, z1)

    @torch.no_grad()
    def update_target(self, tau):
        """ξ ← τ·ξ + (1 − τ)·θ over the target's parameters (its batch-norm buffers are its own)."""
        for t, o in zip(self.target.parameters(), self.online.parameters()):
            t.mul_(tau).add_(o, alpha=1.0 - tau)

    def train(self, on=True):
        self.online.train(on)
        self.target.train(on)


def regression_loss(p, z, eps=1e-12):
    p = F.normalize(p, dim=1, eps=eps)
    z = F.normalize(z, dim=1, eps=eps)
    return (2.0 - 2.0 * (p * z).sum(dim=1)).mean()


# ---------------------------------------------------------------------------------------------------------
# Optimizers and schedules (src/nn/optim.ts, src/nn/schedule.ts).

class LARS:
    """Per parameter w with gradient g (1-D parameters: no decay, no adaptation):
         u = g + wd·w;  q = η·‖w‖/‖u‖ if both > 0 else 1;  μ = momentum·μ + q·u;  w = w − lr·μ."""

    def __init__(self, params, lr, momentum=0.9, weight_decay=0.0, eta=0.001):
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.momentum, self.weight_decay, self.eta = lr, momentum, weight_decay, eta
        self.mu = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, lr=None):
        lr = self.lr if lr is None else lr
        for p, mu in zip(self.params, self.mu):
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            excluded = p.dim() == 1
            u = g if excluded else g + self.weight_decay * p
            q = 1.0
            if not excluded:
                wn = torch.linalg.vector_norm(p)
                un = torch.linalg.vector_norm(u)
                if wn > 0 and un > 0:
                    q = self.eta * wn / un
            mu.mul_(self.momentum).add_(q * u)
            p.sub_(lr * mu)


class TorchOptimizer:
    """torch.optim.SGD / AdamW with a per-step learning rate."""

    def __init__(self, opt):
        self.opt = opt

    def zero_grad(self):
        self.opt.zero_grad(set_to_none=True)

    def step(self, lr):
        for g in self.opt.param_groups:
            g['lr'] = lr
        self.opt.step()


def make_optimizer(kind, params, lr, weight_decay, momentum=0.9):
    params = [p for p in params if p.requires_grad]
    if kind == 'lars':
        return LARS(params, lr, momentum, weight_decay)
    if kind == 'adamw':
        return TorchOptimizer(torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay))
    if kind == 'sgd':
        return TorchOptimizer(torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=True))
    raise SystemExit(f"unknown optimizer '{kind}': use lars, adamw or sgd")


def warmup_cosine(step, base_lr, warmup_steps, total_steps, final_lr=0.0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    span = total_steps - warmup_steps
    t = min(1.0, (step - warmup_steps) / span) if span > 0 else 1.0
    return final_lr + (base_lr - final_lr) * 0.5 * (1 + math.cos(math.pi * t))


def byol_tau(step, total_steps, base_tau=0.996):
    t = min(1.0, max(0.0, step / total_steps))
    return 1 - (1 - base_tau) * (math.cos(math.pi * t) + 1) / 2


# ---------------------------------------------------------------------------------------------------------
# Evaluation.

@torch.no_grad()
def evaluate_classifier(model, x, y, batch):
    """Accuracy and mean cross-entropy in eval mode on the identity view (x already preprocessed)."""
    model.eval()
    correct = 0
    loss = 0.0
    for s in range(0, len(y), batch):
        logits = model(x[s:s + batch])
        yy = y[s:s + batch]
        correct += int((logits.argmax(1) == yy).sum())
        loss += float(F.cross_entropy(logits, yy, reduction='sum'))
    return correct / len(y), loss / len(y)


@torch.no_grad()
def features(encoder, x, batch):
    encoder.eval()
    return torch.cat([encoder(x[s:s + batch]) for s in range(0, x.shape[0], batch)])


def knn_accuracy(train_f, train_y, test_f, test_y, num_classes, k):
    """src/byol/knn.ts: cosine similarity, the k most similar labeled rows (equal similarities: the smaller
    index first), majority vote, ties by the larger summed similarity, then the smaller class."""
    tr = F.normalize(train_f, dim=1, eps=1e-12)
    te = F.normalize(test_f, dim=1, eps=1e-12)
    sims = (te @ tr.T).numpy()
    k = min(k, tr.shape[0])
    ty = train_y.numpy()
    correct = 0
    for r in range(sims.shape[0]):
        s = sims[r]
        top = np.argsort(-s, kind='stable')[:k]
        votes = np.zeros(num_classes)
        weights = np.zeros(num_classes)
        for t in top:
            votes[ty[t]] += 1
            weights[ty[t]] += float(s[t])
        best = 0
        for c in range(1, num_classes):
            if votes[c] > votes[best] or (votes[c] == votes[best] and weights[c] > weights[best]):
                best = c
        correct += int(best == int(test_y[r]))
    return correct / sims.shape[0] if sims.shape[0] else 0.0


# ---------------------------------------------------------------------------------------------------------
# The linear probe (src/byol/probe.ts): standardized frozen features, L2-regularized multinomial logistic
# regression fitted by L-BFGS in float64, λ by stratified k-fold cross-validation on the labeled rows.

def feature_scaling(x):
    """probe.ts's featureScaling: per-dimension mean and 1/sqrt(population variance + 1e-6)."""
    n = max(1, x.shape[0])
    mean = x.sum(axis=0) / n
    var = ((x - mean) ** 2).sum(axis=0) / n
    return mean, 1.0 / np.sqrt(var + 1e-6)


def logistic_objective(params, x, y, c, lam):
    """mean CE + λ/2·‖W‖² of softmax regression (bias not regularized) and its gradient; params packed as
    [W (C×D row-major), b (C)], as probe.ts's logisticObjective."""
    n, d = x.shape
    w = params[:c * d].reshape(c, d)
    b = params[c * d:]
    logits = x @ w.T + b
    m = logits.max(axis=1, keepdims=True)
    e = np.exp(logits - m)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float((np.log(s[:, 0]) + m[:, 0] - logits[rows, y]).sum())
    g = e / s
    g[rows, y] -= 1.0
    g /= n
    grad = np.concatenate([(g.T @ x + lam * w).reshape(-1), g.sum(axis=0)])
    return loss / n + 0.5 * lam * float((w * w).sum()), grad


def lbfgs(f, x0, max_iterations, tolerance, memory=10):
    """probe.ts's lbfgs, step for step: memory 10, backtracking Armijo (c1 = 1e-4, halving, 40 tries), the
    first step scaled by 1/max(1, ‖g‖), restart from steepest descent on a non-descent direction; stops when
    ‖g‖∞ < tolerance or progress ≤ 1e-13·|f|. x0 is updated in place."""
    x = x0
    fx, g = f(x)
    s_hist, y_hist, rho = [], [], []

    def norm_inf(v):
        return float(np.abs(v).max()) if v.size else 0.0

    for it in range(max_iterations):
        if norm_inf(g) < tolerance:
            return {'iterations': it, 'converged': True, 'value': fx}
        q = -g
        alpha = [0.0] * len(s_hist)
        for k in range(len(s_hist) - 1, -1, -1):
            alpha[k] = rho[k] * float(s_hist[k] @ q)
            q = q - alpha[k] * y_hist[k]
        if s_hist:
            q = q * (float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1]))
        else:
            q = q / max(1.0, math.sqrt(float(g @ g)))
        for k in range(len(s_hist)):
            beta = rho[k] * float(y_hist[k] @ q)
            q = q + s_hist[k] * (alpha[k] - beta)
        direction = q
        slope = float(g @ direction)
        if not slope < 0:
            s_hist, y_hist, rho = [], [], []
            direction = -g
            slope = -float(g @ g)
        step = 1.0
        f_new, g_new, x_new = math.inf, None, None
        for _ in range(40):
            x_new = x + step * direction
            f_new, g_new = f(x_new)
            if f_new <= fx + 1e-4 * step * slope:
                break
            step *= 0.5
        if not f_new < fx and not f_new == fx:
            return {'iterations': it, 'converged': False, 'value': fx}
        s = x_new - x
        yv = g_new - g
        sy = float(s @ yv)
        x[:] = x_new
        g = g_new
        progress = fx - f_new
        fx = f_new
        # Positive curvature relative to the pair's own size (an absolute threshold drops every pair once
        # steps get small).
        if sy > 1e-10 * float(np.sqrt((s @ s) * (yv @ yv))):
            s_hist.append(s)
            y_hist.append(yv)
            rho.append(1.0 / sy)
            if len(s_hist) > memory:
                s_hist.pop(0)
                y_hist.pop(0)
                rho.pop(0)
        if progress <= 1e-13 * abs(fx):
            return {'iterations': it + 1, 'converged': norm_inf(g) < tolerance, 'value': fx}
    return {'iterations': max_iterations, 'converged': norm_inf(g) < tolerance, 'value': fx}


def lbfgs_torch(x, y, c, lam, max_iterations, tolerance):
    """The same fit by torch.optim.LBFGS with the strong-Wolfe line search (--self-test checks that both reach
    the same minimizer; the problem is strictly convex)."""
    n, d = x.shape
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    w = torch.zeros(c, d, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(c, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=max_iterations, max_eval=4 * max_iterations,
                            tolerance_grad=tolerance, tolerance_change=1e-15, history_size=10,
                            line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(xt @ w.T + b, yt) + 0.5 * lam * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return np.concatenate([w.detach().numpy().reshape(-1), b.detach().numpy()])


def predict(params, x, y, c):
    """probe.ts's predictAccuracy: accuracy (argmax, the first of equal logits) and mean cross-entropy."""
    n, d = x.shape
    if n == 0:
        return 0.0, 0.0
    logits = x @ params[:c * d].reshape(c, d).T + params[c * d:]
    m = logits.max(axis=1)
    loss = np.log(np.exp(logits - m[:, None]).sum(axis=1)) + m - logits[np.arange(n), y]
    return float((logits.argmax(axis=1) == y).sum()) / n, float(loss.sum()) / n


def fit_path(x, y, c, lambdas, max_iterations, tolerance):
    """The probe along the λ path (strongest first), each fit warm-started from the previous one."""
    params = np.zeros(c * x.shape[1] + c)
    out = []
    for lam in lambdas:
        r = lbfgs(lambda p: logistic_objective(p, x, y, c, lam), params, max_iterations, tolerance)
        out.append(dict(r, params=params.copy()))
    return out


def linear_probe(train_f, train_y, test_f, test_y, num_classes, options=None):
    """probe.ts's linearProbe on float64 features [n, d]: λ from options['lambdas'] by stratified
    options['folds']-fold cross-validation on the labeled rows (fold of a row: its rank within its class in
    row order, mod folds): the lowest mean held-out cross-entropy, ties (within 1e-12) to the stronger λ;
    refitted on all of them; the test accuracy and mean cross-entropy. weight [C, D] and bias act on the raw
    features (the standardization folded in)."""
    o = dict(BASE['probe'], tolerance=1e-5)
    o.update(options or {})
    x_raw = np.asarray(train_f, dtype=np.float64)
    y = np.asarray(train_y, dtype=np.int64)
    c = num_classes
    n, d = x_raw.shape
    lambdas = list(o['lambdas'])
    mean, inv_std = feature_scaling(x_raw)
    x = (x_raw - mean) * inv_std
    fold = np.zeros(n, dtype=np.int64)
    seen = np.zeros(c, dtype=np.int64)
    for i in range(n):
        fold[i] = seen[y[i]] % o['folds']
        seen[y[i]] += 1
    cv_accuracy = [0.0] * len(lambdas)
    cv_loss = [0.0] * len(lambdas)
    folds = min(o['folds'], int(seen.max()) if n else 0)
    if len(lambdas) > 1 and folds >= 2:
        for f in range(folds):
            tr, va = fold != f, fold == f
            path = fit_path(x[tr], y[tr], c, lambdas, o['maxIterations'], o['tolerance'])
            for k, p in enumerate(path):
                acc, loss = predict(p['params'], x[va], y[va], c)
                cv_accuracy[k] += acc / folds
                cv_loss[k] += loss / folds
    best = 0
    for k, loss in enumerate(cv_loss):
        if loss < cv_loss[best] - 1e-12:
            best = k
    final = fit_path(x, y, c, lambdas[:best + 1], o['maxIterations'], o['tolerance'])[-1]
    xt = (np.asarray(test_f, dtype=np.float64) - mean) * inv_std
    acc, loss = predict(final['params'], xt, np.asarray(test_y, dtype=np.int64), c)
    # The standardization folded in: W·((f − μ)·s) + b = (W·s)·f + (b − W·s·μ).
    w = final['params'][:c * d].reshape(c, d) * inv_std
    b = final['params'][c * d:] - w @ mean
    return {'accuracy': acc, 'loss': loss, 'lambda': lambdas[best], 'cvLoss': cv_loss, 'cvAccuracy': cv_accuracy,
            'weight': w, 'bias': b, 'iterations': final['iterations'], 'converged': final['converged']}


def probe_self_test():
    """The L-BFGS port against torch.optim.LBFGS (strong Wolfe) on a small synthetic problem: the same
    minimizer, so the same objective to ~1e-10 and the same parameters to ~1e-4."""
    rng = np.random.default_rng(0)
    n, d, c = 120, 24, 4
    centers = rng.normal(size=(c, d))
    y = np.arange(n) % c
    x = centers[y] + 1.5 * rng.normal(size=(n, d))
    mean, inv_std = feature_scaling(x)
    xs = (x - mean) * inv_std
    worst = 0.0
    for lam in (1e-1, 1e-2, 1e-3):
        p = np.zeros(c * d + c)
        r = lbfgs(lambda q: logistic_objective(q, xs, y, c, lam), p, 1000, 1e-7)
        pt = lbfgs_torch(xs, y, c, lam, 1000, 1e-7)
        ft = logistic_objective(pt, xs, y, c, lam)[0]
        dp = float(np.abs(p - pt).max() / max(1e-12, np.abs(pt).max()))
        print(f'probe λ={lam:g}: port f={r["value"]:.12f} ({r["iterations"]} it, converged {r["converged"]}), '
              f'torch LBFGS f={ft:.12f}; max |Δparams|/max|params| = {dp:.2g}')
        worst = max(worst, abs(r['value'] - ft), dp * 1e-5)
    res = linear_probe(x[:80], y[:80], x[80:], y[80:], c)
    print(f'linear_probe: λ={res["lambda"]:g}, cv loss {[round(a, 4) for a in res["cvLoss"]]}, test accuracy '
          f'{res["accuracy"]:.4f}, loss {res["loss"]:.4f}')
    return worst


# ---------------------------------------------------------------------------------------------------------
# The experiment.

class Experiment:
    def __init__(self, config, ds, splits, log, out=None, finetune_at=()):
        self.out = out
        self.finetune_at = set(finetune_at)
        self.c = config
        self.ds = ds
        self.s = splits
        self.log = log
        self.metrics = []
        size = config['imageSize']
        stats = splits['stats']
        self.train_view = ViewAugment(CLASSIFIER_VIEW, size, stats)
        self.byol_views = [ViewAugment(v, size, stats) for v in byol_views(config)]
        identity = ViewAugment(IDENTITY_VIEW, size, stats)    # deterministic: computed once
        self.labeled_x = ds['train_x'][splits['labeled']]
        self.labeled_y = torch.from_numpy(ds['train_y'][splits['labeled']])
        self.pool_x = ds['train_x'][splits['pool']]
        self.held_x = ds['train_x'][splits['heldOut']]
        self.test_x = ds['test_x'][splits['test']]
        self.test_y = torch.from_numpy(ds['test_y'][splits['test']])
        self.labeled_eval = identity(self.labeled_x)
        self.test_eval = identity(self.test_x)
        self.num_classes = len(ds['classes'])

    def record(self, r):
        """Keeps an epoch's record and rewrites OUT/metrics.jsonl (so a run stopped early keeps its epochs)."""
        self.metrics.append({k: v for k, v in r.items() if v is not None})
        if self.out:
            tmp = os.path.join(self.out, 'metrics.jsonl.tmp')
            with open(tmp, 'w') as f:
                for m in self.metrics:
                    f.write(json.dumps(m) + '\n')
            os.replace(tmp, os.path.join(self.out, 'metrics.jsonl'))

    def run(self):
        self.classifier_phase('supervised', None)
        encoder, probe = self.byol_phase()
        self.classifier_phase('finetune', encoder, probe=probe)
        return self.metrics

    @torch.no_grad()
    def precise_batch_norm(self, model):
        """evaluation.ts's recomputeBatchNorm: every batch norm's running statistics re-estimated from the current
        weights as the plain average of the batches' own (momentum None: the cumulative average, the TypeScript
        side's momentum 1/(k + 1)), over the labeled images unaugmented, in loader order (no shuffle), batches of
        config.batch, those of fewer than 2 images skipped; momentum back to 0.1 after."""
        norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not norms:
            return
        was_training = model.training
        for m in norms:
            m.reset_running_stats()
            m.momentum = None
        model.train(True)
        try:
            for idx in batches_of(len(self.labeled_y), self.c['batch'], 0, 0, False, False):
                if len(idx) < 2:
                    continue
                model(self.labeled_eval[idx])
        finally:
            for m in norms:
                m.momentum = 0.1
            model.train(was_training)

    def evaluate_encoder(self, encoder, batch_norm='labeled'):
        """evaluation.ts's evaluateEncoder: kNN accuracy and the linear probe of the encoder's features (eval mode,
        unaugmented images) of the labeled and test images, taken from a copy of the encoder whose batch-norm
        statistics are re-estimated on the labeled images (withLabeledBatchNorm) unless batch_norm is 'as-is'."""
        if batch_norm != 'as-is':
            copied = copy.deepcopy(encoder)
            self.precise_batch_norm(copied)
            return self.evaluate_encoder(copied, 'as-is')
        tr = features(encoder, self.labeled_eval, self.c['batch'])
        te = features(encoder, self.test_eval, self.c['batch'])
        knn = knn_accuracy(tr, self.labeled_y, te, self.test_y, self.num_classes, self.c['knnK'])
        probe = linear_probe(tr.double().numpy(), self.labeled_y.numpy(), te.double().numpy(), self.test_y.numpy(),
                             self.num_classes, self.c['probe'])
        return knn, probe

    def random_arm(self, first=None):
        """inspect.ts's evaluateRandomArm: kNN and linear probe of config.randomDraws random encoders, and their
        means. Draw 0 is `first` (BYOL's online encoder before training) when given, else rebuilt as Byol draws it
        (torch seeded with phase_seed(seed, 'byol')); draw k ≥ 1 is torchvision's initialization with torch seeded
        with phase_seed(seed, 'byol', 17, k), drawn without touching the generator the run goes on with."""
        c = self.c
        n = c['randomDraws']
        if not isinstance(n, int) or n < 1:
            raise SystemExit(f'randomDraws must be a whole number ≥ 1, not {n!r}')
        per = {'knnAccuracy': [], 'probeAccuracy': [], 'probeLoss': []}
        for k in range(n):
            with torch.random.fork_rng():
                if k == 0 and first is not None:
                    encoder = first
                elif k == 0:
                    torch.manual_seed(phase_seed(c['seed'], 'byol'))
                    encoder = Byol(c).online.encoder
                else:
                    torch.manual_seed(phase_seed(c['seed'], 'byol', 17, k))
                    encoder = NarrowResNet(c['width'], None, c['stem'] == 'small')
            acc, probe = self.evaluate_encoder(encoder)
            per['knnAccuracy'].append(acc)
            per['probeAccuracy'].append(probe['accuracy'])
            per['probeLoss'].append(probe['loss'])

        def mean(v):
            t = 0.0
            for x in v:
                t += x
            return t / len(v)
        return {'knnAccuracy': mean(per['knnAccuracy']), 'probeAccuracy': mean(per['probeAccuracy']),
                'probeLoss': mean(per['probeLoss']), 'randomDraws': per}

    def classifier_phase(self, phase, encoder, label=None, probe=None, curve=False):
        """Trains a classifier from scratch (encoder None) or from a copy of the encoder. `label` names the
        records and log lines (default: the phase); the seeds always come from `phase`, so a fine-tune of the gain
        curve draws exactly what the final fine-tune would draw from the same encoder. With `curve` (a point of
        the gain curve, classifier-phase.ts's finetuneSpec with `curve`), nothing is recorded, only the last epoch
        is evaluated, and its (accuracy, loss) is returned. With
        finetune.headInit 'probe', fc starts as the encoder's linear probe (`probe`, that encoder's
        evaluate_encoder result, else fitted here); the fine-tuning arm's learning rate is finetune.lr ×
        finetune.pretrainedLrScale."""
        c = self.c
        f = c['finetune']
        label = label or phase
        torch.manual_seed(phase_seed(c['seed'], phase))
        if encoder is not None:
            model = copy.deepcopy(encoder)
            if f['headInit'] == 'probe':
                # classifier-phase.ts's probeHead: the probe is fitted on features taken with batch-norm statistics
                # re-estimated on the labeled images, as the fine-tuning's training steps will see them.
                model.fc = nn.Identity()
                self.precise_batch_norm(model)
                probe = self.evaluate_encoder(model, 'as-is')[1]
            model.fc = nn.Linear(model.feature_dim, self.num_classes)
            if f['headInit'] == 'probe':
                with torch.no_grad():
                    model.fc.weight.copy_(torch.from_numpy(probe['weight']).float())
                    model.fc.bias.copy_(torch.from_numpy(probe['bias']).float())
                self.log(f'{label}: fc starts as the linear probe of the pretrained encoder (test accuracy '
                         f'{100 * probe["accuracy"]:.2f}%, λ {probe["lambda"]:g})')
            elif f['headInit'] != 'random':
                raise SystemExit(f"unknown finetune.headInit '{f['headInit']}': use probe or random")
            if f['mode'] == 'linear':
                for p in model.parameters():
                    p.requires_grad_(False)
                for p in model.fc.parameters():
                    p.requires_grad_(True)
        else:
            model = NarrowResNet(c['width'], self.num_classes, c['stem'] == 'small')
        base_lr = f['lr'] * f['pretrainedLrScale'] if phase == 'finetune' else f['lr']
        opt = make_optimizer(f['optimizer'], model.parameters(), base_lr, f['weightDecay'], f['momentum'])
        n = len(self.labeled_y)
        steps = -(-n // c['batch'])
        total = f['epochs'] * steps
        torch.manual_seed(phase_seed(c['seed'], phase, 11))
        for epoch in range(f['epochs']):
            model.train(True)
            if f['mode'] == 'linear' and phase == 'finetune':
                model.train(False)
                model.fc.train(True)
            t0 = time.time()
            seen = 0
            losses = []
            step = epoch * steps
            lr = 0.0
            for idx in batches_of(n, c['batch'], phase_seed(c['seed'], phase, 7), epoch, True, False):
                if len(idx) < 2:
                    continue  # batch norm needs two samples
                lr = warmup_cosine(step, base_lr, f['warmupEpochs'] * steps, total)
                x = self.train_view(self.labeled_x[idx])
                opt.zero_grad()
                loss = F.cross_entropy(model(x), self.labeled_y[idx])
                loss.backward()
                opt.step(lr)
                losses.append(float(loss))
                seen += len(idx)
                step += 1
            seconds = time.time() - t0
            train_loss = check_finite(losses, f'{phase} epoch {epoch + 1}')
            if curve:
                if epoch + 1 < f['epochs']:
                    continue
                if f['mode'] != 'linear':
                    self.precise_batch_norm(model)
                acc, test_loss = evaluate_classifier(model, self.test_eval, self.test_y, c['batch'])
                self.log(f'{label}, {f["epochs"]} epochs: train loss {train_loss:.4f}, test accuracy {100 * acc:.2f}% '
                         f'(loss {test_loss:.3f}), {seen / seconds:.1f} images/s')
                return acc, test_loss
            if not evaluates_after(epoch + 1, f['epochs'], f['evaluations']):
                self.record({'phase': label, 'epoch': epoch + 1, 'trainLoss': train_loss, 'lr': lr,
                             'imagesPerSecond': seen / seconds, 'seconds': seconds})
                self.log(f'{label} epoch {epoch + 1}/{f["epochs"]}: train loss {train_loss:.4f}, '
                         f'{seen / seconds:.1f} images/s')
                continue
            if not (f['mode'] == 'linear' and phase == 'finetune'):
                self.precise_batch_norm(model)
            acc, test_loss = evaluate_classifier(model, self.test_eval, self.test_y, c['batch'])
            self.record({'phase': label, 'epoch': epoch + 1, 'trainLoss': train_loss, 'testLoss': test_loss,
                         'testAccuracy': acc, 'lr': lr, 'imagesPerSecond': seen / seconds, 'seconds': seconds})
            self.log(f'{label} epoch {epoch + 1}/{f["epochs"]}: train loss {train_loss:.4f}, test accuracy '
                     f'{100 * acc:.2f}% (loss {test_loss:.3f}), {seen / seconds:.1f} images/s')

    def eval_views(self, images, seed):
        """The two views of every image for the eval-mode BYOL loss: drawn once from a fixed key, so every
        epoch sees the same views (the TypeScript run draws them from the fixed key (seed, 13) as well)."""
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            return self.byol_views[0](images), self.byol_views[1](images)

    @torch.no_grad()
    def byol_eval_loss(self, byol, views):
        """The symmetric loss over a dataset, networks in eval mode, batches of fewer than 2 skipped."""
        byol.train(False)
        v1, v2 = views
        total = 0.0
        n = 0
        b = self.c['batch']
        for s in range(0, v1.shape[0], b):
            m = min(b, v1.shape[0] - s)
            if m < 2:
                continue
            total += float(byol.loss(v1[s:s + m], v2[s:s + m])) * m
            n += m
        byol.train(True)
        return total / n if n else float('nan')

    def byol_phase(self):
        c = self.c
        b = c['byol']
        torch.manual_seed(phase_seed(c['seed'], 'byol'))
        byol = Byol(c)
        lr = b['lrPer256'] * c['batch'] / 256
        opt = make_optimizer(b['optimizer'], byol.online.parameters(), lr, b['weightDecay'])
        n = len(self.pool_x)
        steps = n // c['batch']
        total = b['epochs'] * steps
        eval_seed = phase_seed(c['seed'], 'byol', 13)
        held_views = self.eval_views(self.held_x, eval_seed)
        test_views = self.eval_views(self.test_x, eval_seed)
        arm = self.random_arm(byol.online.encoder)
        self.record(dict({'phase': 'byol', 'epoch': 0}, **arm))
        self.log(f'byol: {random_arm_line(arm)}')
        torch.manual_seed(phase_seed(c['seed'], 'byol', 11))
        for epoch in range(b['epochs']):
            byol.train(True)
            t0 = time.time()
            seen = 0
            step = epoch * steps
            losses = []
            rate = tau = 0.0
            for idx in batches_of(n, c['batch'], phase_seed(c['seed'], 'byol', 7), epoch, True, True):
                rate = warmup_cosine(step, lr, b['warmupEpochs'] * steps, total)
                tau = b['tauBase'] if b['tauConstant'] else byol_tau(step, total, b['tauBase'])
                images = self.pool_x[idx]
                v1 = self.byol_views[0](images)
                v2 = self.byol_views[1](images)
                opt.zero_grad()
                loss = byol.loss(v1, v2)
                loss.backward()
                opt.step(rate)
                byol.update_target(tau)
                losses.append(float(loss))
                seen += len(idx)
                step += 1
                if step % 8 == 0:
                    self.log(f'  byol epoch {epoch + 1} step {step - epoch * steps}/{steps}: loss {losses[-1]:.4f}, '
                             f'{seen / (time.time() - t0):.1f} images/s')
            seconds = time.time() - t0
            train_loss = check_finite(losses, f'byol epoch {epoch + 1}')
            held = self.byol_eval_loss(byol, held_views)
            val = self.byol_eval_loss(byol, test_views)
            acc, probe = self.evaluate_encoder(byol.online.encoder)
            self.log(f'byol epoch {epoch + 1}/{b["epochs"]}: loss {train_loss:.4f} (held out {held:.4f}, test {val:.4f}), '
                     f'linear probe {100 * probe["accuracy"]:.2f}% (λ {probe["lambda"]:g}), kNN {100 * acc:.2f}%, '
                     f'{seen / seconds:.1f} images/s')
            finetuned = None
            if epoch + 1 < b['epochs'] and (epoch + 1 in self.finetune_at or
                                            curve_point_after(epoch + 1, b['epochs'], steps * c['batch'],
                                                              c['finetune']['curveEvery'])):
                # A point of the gain curve: fine-tune a copy of the encoder as it stands after this epoch (of a
                # schedule planned for all the epochs), then go on pretraining with the RNG state unchanged.
                with torch.random.fork_rng():
                    finetuned = self.classifier_phase('finetune', byol.online.encoder,
                                                      f'finetune from BYOL epoch {epoch + 1}', probe, curve=True)
                byol.train(True)
            self.record({'phase': 'byol', 'epoch': epoch + 1, 'images': (epoch + 1) * steps * c['batch'],
                         'trainLoss': train_loss, 'heldOutLoss': held,
                         'valLoss': val, 'knnAccuracy': acc, 'probeAccuracy': probe['accuracy'],
                         'probeLoss': probe['loss'],
                         'finetuneAccuracy': finetuned[0] if finetuned else None,
                         'finetuneLoss': finetuned[1] if finetuned else None,
                         'lr': rate, 'tau': tau,
                         'imagesPerSecond': seen / seconds, 'seconds': seconds})
        return byol.online.encoder, probe


def random_arm_line(arm):
    """byol-phase.ts's log line of the random arm."""
    per = arm['randomDraws']
    n = len(per['probeAccuracy'])

    def rng(v):
        return f' ({100 * min(v):.2f}–{100 * max(v):.2f})' if len(v) > 1 else ''
    of = f'the random encoders (the mean of {n} draws)' if n > 1 else 'the random encoder'
    return (f'{of}: linear probe {100 * arm["probeAccuracy"]:.2f}%{rng(per["probeAccuracy"])}, '
            f'kNN {100 * arm["knnAccuracy"]:.2f}%{rng(per["knnAccuracy"])}')


def check_finite(losses, what):
    if not losses:
        return float('nan')
    for i, v in enumerate(losses):
        if not math.isfinite(v):
            raise SystemExit(f'{what}: the loss became {v} at step {i + 1} of the epoch')
    return sum(losses) / len(losses)


RESULT_NAMES = {
    'supervised': 'supervised only',
    'finetuned': 'BYOL + fine-tune',
    'probeRandom': 'linear probe, random encoders',
    'probePretrained': 'linear probe, pretrained encoder',
    'knnRandom': 'kNN, random encoders',
    'knnPretrained': 'kNN, pretrained encoder',
}
DIFFERENCES = [
    ('fine-tuned − supervised', 'finetuned', 'supervised'),
    ('linear probe: pretrained − random', 'probePretrained', 'probeRandom'),
    ('kNN: pretrained − random', 'knnPretrained', 'knnRandom'),
]


def _last_with(rs, k):
    v = [r[k] for r in rs if r.get(k) is not None]
    return v[-1] if v else None


def run_results(records):
    """report.ts's runResults: each arm's final test accuracy (the last evaluated epoch, never the best) and the
    encoder's linear probe and kNN before (BYOL epoch 0) and after BYOL."""
    by = [r for r in records if r['phase'] == 'byol']
    random_enc = next((r for r in by if r['epoch'] == 0), {})
    trained = [r for r in by if r['epoch'] > 0]
    return {
        'supervised': _last_with([r for r in records if r['phase'] == 'supervised'], 'testAccuracy'),
        'finetuned': _last_with([r for r in records if r['phase'] == 'finetune'], 'testAccuracy'),
        'probeRandom': random_enc.get('probeAccuracy'),
        'probePretrained': _last_with(trained, 'probeAccuracy'),
        'knnRandom': random_enc.get('knnAccuracy'),
        'knnPretrained': _last_with(trained, 'knnAccuracy'),
    }


def spread(values):
    """stats.ts's spread: mean and sample standard deviation (None for one value)."""
    n = len(values)
    m = sum(values) / n if n else float('nan')
    sd = math.sqrt(sum((x - m) ** 2 for x in values) / (n - 1)) if n > 1 else None
    return {'values': list(values), 'mean': m, 'sd': sd}


def paired_difference(a, b):
    """stats.ts's pairedDifference: the per-seed differences a − b, their spread, standard error sd/√n, and a
    verdict ('gain' / 'loss' when |mean| > 2·SE over at least 3 seeds, else 'within noise')."""
    s = spread([x - y for x, y in zip(a, b)])
    se = None if s['sd'] is None else s['sd'] / math.sqrt(len(a))
    verdict = ('gain' if s['mean'] > 0 else 'loss') if se is not None and len(a) >= 3 and abs(s['mean']) > 2 * se \
        else 'within noise'
    return dict(s, se=se, verdict=verdict)


def aggregate(seeds, results):
    """report.ts's aggregate: every arm's spread over seeds and the paired differences."""
    def numbers(v):
        return all(isinstance(x, (int, float)) for x in v)

    arms = {k: spread([r[k] for r in results]) for k in RESULT_NAMES if numbers([r[k] for r in results])}
    differences = {}
    for name, a, b in DIFFERENCES:
        va, vb = [r[a] for r in results], [r[b] for r in results]
        if numbers(va) and numbers(vb):
            differences[name] = paired_difference(va, vb)
    return {'seeds': list(seeds), 'arms': arms, 'differences': differences}


def _pct(v):
    return 'n/a' if v is None or (isinstance(v, float) and math.isnan(v)) else f'{100 * v:.2f} %'


def report_lines(agg):
    """report.ts's reportLines (without recorded noise: the reference keeps none)."""
    n = len(agg['seeds'])
    seeds = ', '.join(map(str, agg['seeds']))
    lines = [f'over {n} seeds ({seeds}), mean ± sd:' if n > 1 else f'seed {agg["seeds"][0]}:']
    for k, name in RESULT_NAMES.items():
        sp = agg['arms'].get(k)
        if sp:
            v = _pct(sp['mean']) if sp['sd'] is None else f'{100 * sp["mean"]:.2f} ± {100 * sp["sd"]:.2f} %'
            lines.append(f'  {name:34s} {v}')
    lines.append('differences (paired by seed):')
    for name, _, _ in DIFFERENCES:
        d = agg['differences'].get(name)
        if not d:
            continue
        pts = f'{"+" if d["mean"] >= 0 else "−"}{abs(100 * d["mean"]):.2f} points'
        if d['se'] is not None:
            pts += f' (SE {100 * d["se"]:.2f}, {len(d["values"])} seeds): {d["verdict"]}'
        elif n == 1:
            pts += ': one seed, noise not measured here (run --seeds 0,1,2,3,4 to measure it)'
        lines.append(f'  {name:34s} {pts}')
    return lines


def summarize(records, splits, config, name, num_classes, extra):
    """src/byol/report.ts's summarize."""
    def of(p):
        return [r for r in records if r['phase'] == p]

    def mean(a):
        v = [x for x in a if isinstance(x, (int, float))]
        return sum(v) / len(v) if v else None

    def per_epoch(rs):
        return [{'epoch': r['epoch'], 'testAccuracy': r.get('testAccuracy'), 'testLoss': r.get('testLoss'),
                 'trainLoss': r.get('trainLoss')} for r in rs if r.get('testAccuracy') is not None]

    sup, ft, by = of('supervised'), of('finetune'), of('byol')
    trained = [r for r in by if r['epoch'] > 0]
    results = run_results(records)
    return dict({
        'dataset': name,
        'preset': config['preset'],
        'settings': config,
        'splits': {'labeled': len(splits['labeled']), 'unlabeledPool': len(splits['pool']),
                   'heldOut': len(splits['heldOut']), 'test': len(splits['test']), 'classes': num_classes},
        'supervised': {'finalTestAccuracy': results['supervised'], 'perEpoch': per_epoch(sup)},
        'semiSupervised': {'finalTestAccuracy': results['finetuned'], 'perEpoch': per_epoch(ft)},
        'byol': {
            'lossPerEpoch': [r.get('trainLoss') for r in trained],
            'heldOutLossPerEpoch': [r.get('heldOutLoss') for r in trained],
            'testLossPerEpoch': [r.get('valLoss') for r in trained],
        },
        'knn': {
            'k': config['knnK'],
            'before': next((r.get('knnAccuracy') for r in by if r['epoch'] == 0), None),
            'after': _last_with(trained, 'knnAccuracy'),
            'perEpoch': [{'epoch': r['epoch'], 'accuracy': r.get('knnAccuracy')} for r in by],
        },
        'linearProbe': {
            'before': next((r.get('probeAccuracy') for r in by if r['epoch'] == 0), None),
            'after': _last_with(trained, 'probeAccuracy'),
            'perEpoch': [{'epoch': r['epoch'], 'accuracy': r.get('probeAccuracy'), 'loss': r.get('probeLoss')}
                         for r in by],
        },
        'results': results,
        'imagesPerSecond': {'supervised': mean([r.get('imagesPerSecond') for r in sup]),
                            'byol': mean([r.get('imagesPerSecond') for r in by]),
                            'finetune': mean([r.get('imagesPerSecond') for r in ft])},
        'trainingSeconds': sum(r.get('seconds', 0) for r in records),
    }, **extra)


# ---------------------------------------------------------------------------------------------------------

def parse_args(argv):
    a = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument('--settings', help='resolved settings: a summary.json of a TypeScript run (its "settings") or a '
                                      'config JSON; flags below override it')
    a.add_argument('--preset', choices=list(PRESETS), default=None)
    a.add_argument('--dataset')
    a.add_argument('--epochs', type=int)
    a.add_argument('--finetune-epochs', type=int)
    a.add_argument('--batch', type=int)
    a.add_argument('--image-size', type=int)
    a.add_argument('--labels-per-class', type=int)
    a.add_argument('--unlabeled', type=int)
    a.add_argument('--test-images', type=int)
    a.add_argument('--optimizer', choices=['lars', 'adamw', 'sgd'])
    a.add_argument('--lr', type=float)
    a.add_argument('--warmup-epochs', type=int)
    a.add_argument('--tau', type=float)
    a.add_argument('--tau-constant', action='store_true')
    a.add_argument('--crop-min-scale', type=float)
    a.add_argument('--blur', choices=['on', 'off'])
    a.add_argument('--finetune-optimizer', choices=['sgd', 'adamw'])
    a.add_argument('--finetune-lr', type=float)
    a.add_argument('--finetune-lr-scale', type=float)
    a.add_argument('--curve-every', type=int)
    a.add_argument('--linear-probe', action='store_true')
    a.add_argument('--random-draws', type=int, help='random encoders the random arm is the mean of (presets: 8; '
                                                    'a settings file that lacks it: 1, as it was written)')
    a.add_argument('--reevaluate-random-arm', metavar='RUN',
                   help='a finished reference run (RUN/summary.json, RUN/metrics.jsonl): evaluate its random arm '
                        'again with these settings\' randomDraws and write the run, that record replaced, to --out')
    a.add_argument('--stem', choices=['imagenet', 'small'])
    a.add_argument('--width', type=int)
    a.add_argument('--seed', type=int)
    a.add_argument('--seeds', default='', help='comma-separated seeds: one run per seed into OUT/seed-N, then every '
                                               'arm\'s mean ± sd and the paired differences (OUT/summary.json)')
    a.add_argument('--out')
    a.add_argument('--data-dir')
    a.add_argument('--finetune-at', default='', help='comma-separated BYOL epochs after which a copy of the encoder '
                                                      'is also fine-tuned, as points of the gain curve besides '
                                                      'finetune.curveEvery\'s (finetuneAccuracy in that epoch\'s record)')
    a.add_argument('--threads', type=int, default=2, help='torch CPU threads (default 2)')
    a.add_argument('--print-splits', action='store_true', help='print the splits\' fingerprint as JSON and exit')
    a.add_argument('--self-test', action='store_true', help='check the batched augmentations against torchvision\'s '
                                                              'per-image functions, then exit')
    return a.parse_args(argv)


def config_from_args(args):
    if args.settings:
        with open(args.settings) as f:
            raw = json.load(f)
        given = raw.get('settings', raw)
        c = with_defaults(given)
        if 'randomDraws' not in given:
            # Written before the random arm was a mean over draws (EVALUATION_VERSION 3): it was one draw.
            c['randomDraws'] = 1
        if args.preset:
            c['preset'] = args.preset
    else:
        c = copy.deepcopy(PRESETS[args.preset or 'quick'])
    over = {'dataset': args.dataset, 'batch': args.batch, 'imageSize': args.image_size,
            'labelsPerClass': args.labels_per_class, 'unlabeledImages': args.unlabeled, 'testImages': args.test_images,
            'stem': args.stem, 'width': args.width, 'seed': args.seed}
    for k, v in over.items():
        if v is not None:
            c[k] = v
    for k, v in {'epochs': args.epochs, 'optimizer': args.optimizer, 'lrPer256': args.lr, 'tauBase': args.tau,
                 'warmupEpochs': args.warmup_epochs}.items():
        if v is not None:
            c['byol'][k] = v
    if args.tau_constant:
        c['byol']['tauConstant'] = True
    if args.crop_min_scale is not None:
        c['byol']['cropMinScale'] = args.crop_min_scale
    if args.blur is not None:
        c['byol']['blur'] = args.blur == 'on'
    if args.finetune_epochs is not None:
        c['finetune']['epochs'] = args.finetune_epochs
    if args.finetune_optimizer is not None:
        c['finetune']['optimizer'] = args.finetune_optimizer
    if args.finetune_lr is not None:
        c['finetune']['lr'] = args.finetune_lr
    if args.finetune_lr_scale is not None:
        c['finetune']['pretrainedLrScale'] = args.finetune_lr_scale
    if args.curve_every is not None:
        c['finetune']['curveEvery'] = args.curve_every
    if args.linear_probe:
        c['finetune']['mode'] = 'linear'
    if args.random_draws is not None:
        c['randomDraws'] = args.random_draws
    return c


def adapter_name():
    return (f'pytorch cpu (torch {torch.__version__}, torchvision {torchvision.__version__}, '
            f'{torch.get_num_threads()} threads)')


def run_one(config, ds, args, out, log):
    """One run of the protocol (one seed) in `out`: metrics.jsonl and summary.json, as train-byol.ts's runSeed."""
    t0 = time.time()
    splits = prepare_data(ds, config)
    os.makedirs(out, exist_ok=True)
    log(f'{ds["name"]}: {len(splits["labeled"])} labeled, {len(splits["pool"])} unlabeled for pretraining, '
        f'{len(splits["heldOut"])} held out, {len(splits["test"])} test images; {config["imageSize"]}×'
        f'{config["imageSize"]}, batch {config["batch"]}, seed {config["seed"]}; torch {torch.__version__}, '
        f'{torch.get_num_threads()} threads')
    log(f'splits: {json.dumps(split_fingerprint(splits))}')
    log(f'writing to {out}')
    finetune_at = [int(e) for e in args.finetune_at.split(',') if e.strip()]
    exp = Experiment(config, ds, splits, log, out, finetune_at)
    metrics = exp.run()
    results = run_results(metrics)
    agg = aggregate([config['seed']], [results])
    summary = summarize(metrics, splits, config, ds['name'], len(ds['classes']), {
        'adapter': adapter_name(),
        'durationSeconds': time.time() - t0,
        'finished': True,
        'differences': agg['differences'],
        'noise': None,
        'splitsFingerprint': split_fingerprint(splits, ds),
    })
    write_json(os.path.join(out, 'summary.json'), summary)
    log(f'seed {config["seed"]} done in {(time.time() - t0) / 60:.1f} min')
    for line in report_lines(agg):
        log(line)
    log(f'wrote {os.path.join(out, "summary.json")}, {os.path.join(out, "metrics.jsonl")}')
    return {'seed': config['seed'], 'dir': out, 'results': results, 'summary': summary}


def reevaluate_random_arm(config, ds, run, out, log):
    """The finished run in `run` with its random arm evaluated again (config['randomDraws'] draws), written to
    `out`: metrics.jsonl with BYOL's epoch 0 replaced and every other record as recorded, and summary.json
    recomputed from them (`reevaluated` names the source). Draw 0 must score as the run recorded, or the data,
    splits or evaluation are not the run's."""
    t0 = time.time()
    with open(os.path.join(run, 'summary.json')) as f:
        before = json.load(f)
    with open(os.path.join(run, 'metrics.jsonl')) as f:
        records = [json.loads(line) for line in f if line.strip()]
    if before.get('finished') is not True:
        raise SystemExit(f'{run} holds an unfinished run; finish it first')
    splits = prepare_data(ds, config)
    if split_fingerprint(splits, ds) != before.get('splitsFingerprint'):
        raise SystemExit(f'{run}: its splits are not the ones seed {config["seed"]} draws from {config["dataset"]}; '
                         'give the settings and --dataset the run used')
    exp = Experiment(config, ds, splits, log)
    arm = exp.random_arm()
    was = next(r for r in records if r['phase'] == 'byol' and r['epoch'] == 0)
    again = (arm['randomDraws']['knnAccuracy'][0], arm['randomDraws']['probeAccuracy'][0])
    if again != (was['knnAccuracy'], was['probeAccuracy']):
        raise SystemExit(f'{run}: the random encoder of seed {config["seed"]} scores kNN {again[0]}, probe {again[1]} '
                         f'here, against the recorded {was["knnAccuracy"]}, {was["probeAccuracy"]}; the data or the '
                         'evaluation is not the one the run used')
    records = [dict({'phase': 'byol', 'epoch': 0}, **arm) if r is was else r for r in records]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, 'metrics.jsonl'), 'w') as f:
        for r in records:
            f.write(json.dumps(r) + '\n')
    results = run_results(records)
    agg = aggregate([config['seed']], [results])
    summary = summarize(records, splits, config, ds['name'], len(ds['classes']), {
        'adapter': before.get('adapter'), 'durationSeconds': before.get('durationSeconds'), 'finished': True,
        'differences': agg['differences'], 'noise': None, 'splitsFingerprint': before.get('splitsFingerprint'),
        'reevaluated': {'from': run, 'what': f'the random arm, as the mean of {config["randomDraws"]} draws '
                                             f'(EVALUATION_VERSION 3), on {adapter_name()}',
                        'seconds': time.time() - t0},
    })
    write_json(os.path.join(out, 'summary.json'), summary)
    log(f'seed {config["seed"]}: {random_arm_line(arm)} (draw 0 as recorded); {time.time() - t0:.1f} s; wrote {out}')
    return {'seed': config['seed'], 'dir': out, 'results': results, 'summary': summary}


def write_json(path, value):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(value, f, indent=2)
        f.write('\n')
    os.replace(tmp, path)


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    t_start = time.time()
    config = config_from_args(args)
    if args.self_test:
        worst = self_test({'mean': [0.286] * 3, 'std': [0.355] * 3}, config['imageSize'])
        worst_probe = probe_self_test()
        return 0 if worst < 1e-5 and worst_probe < 1e-6 else 1
    seeds = [int(x) for x in args.seeds.split(',') if x.strip()] if args.seeds else None
    if seeds is not None and len(set(seeds)) != len(seeds):
        raise SystemExit(f'--seeds lists a value twice: "{args.seeds}"')
    ds = load_dataset(config['dataset'], args.data_dir)
    if args.print_splits:
        for seed in seeds or [config['seed']]:
            print(json.dumps(split_fingerprint(prepare_data(ds, dict(config, seed=seed)), ds)))
        return 0

    def log(line):
        print(line, flush=True)

    slug = re.sub(r'[^A-Za-z0-9._-]+', '_', re.sub(r'^folder:', 'folder-', config['dataset']))[:60]
    out = args.out or os.path.join('runs', f'reference-{config["preset"]}-{slug}' +
                                   ('-seeds' if seeds is not None else f'-seed{config["seed"]}'))
    if args.reevaluate_random_arm:
        if seeds is not None or not args.out:
            raise SystemExit('--reevaluate-random-arm takes one run and --out (not --seeds)')
        reevaluate_random_arm(config, ds, args.reevaluate_random_arm, args.out, log)
        return 0
    if seeds is None:
        run_one(config, ds, args, out, log)
        log(f'done in {(time.time() - t_start) / 60:.1f} min')
        return 0
    runs = [run_one(dict(config, seed=seed), ds, args, os.path.join(out, f'seed-{seed}'), log) for seed in seeds]
    agg = aggregate(seeds, [r['results'] for r in runs])
    first = runs[0]['summary']
    write_json(os.path.join(out, 'summary.json'), {
        'dataset': first['dataset'], 'preset': config['preset'], 'settings': dict(config, seed=None),
        'splits': first['splits'], 'seeds': seeds,
        'perSeed': [{'seed': r['seed'], 'folder': r['dir'], 'results': r['results']} for r in runs],
        'arms': agg['arms'], 'differences': agg['differences'],
        'adapter': adapter_name(), 'durationSeconds': time.time() - t_start,
    })
    log(f'done in {(time.time() - t_start) / 60:.1f} min')
    for line in report_lines(agg):
        log(line)
    log(f'wrote {os.path.join(out, "summary.json")} and one folder per seed')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
