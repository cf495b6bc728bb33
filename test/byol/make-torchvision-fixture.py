#!/usr/bin/python3
"""Writes test/byol/torchvision-fixture.json: BYOL augmentations computed by torchvision (float64 tensors)
for given parameters, to hold src/byol/augment-reference.ts to torchvision's definitions.

Run with Debian's python3-torch and python3-torchvision: /usr/bin/python3 test/byol/make-torchvision-fixture.py

torchvision's tensor grayscale uses the weights 0.2989/0.587/0.114; the project (and PIL's "L" mode) use
0.299/0.587/0.114, so rgb_to_grayscale is patched to those weights here, and the Gaussian kernel is computed
in float64 (torchvision's linspace is float32). Everything else is torchvision's own.
"""
import json
import os

import numpy as np
import torch
import torchvision.transforms.functional as F
import torchvision.transforms.functional_tensor as F_t

_orig = F_t.rgb_to_grayscale


def rgb_to_grayscale(img, num_output_channels=1):
    r, g, b = img.unbind(dim=-3)
    l_img = (0.299 * r + 0.587 * g + 0.114 * b).unsqueeze(dim=-3)
    return l_img.expand(img.shape) if num_output_channels == 3 else l_img


F_t.rgb_to_grayscale = rgb_to_grayscale


def _get_gaussian_kernel1d(kernel_size, sigma):
    # torchvision's, with linspace in float64 (it uses the default float32, a 1e-7 difference).
    ksize_half = (kernel_size - 1) * 0.5
    x = torch.linspace(-ksize_half, ksize_half, steps=kernel_size, dtype=torch.float64)
    pdf = torch.exp(-0.5 * (x / sigma).pow(2))
    return pdf / pdf.sum()


F_t._get_gaussian_kernel1d = _get_gaussian_kernel1d

rng = np.random.default_rng(20240607)
OPS = ['brightness', 'contrast', 'saturation', 'hue']


def augment(img, p, oh, ow, k, mean, std):
    x = F.resized_crop(img, p['crop']['top'], p['crop']['left'], p['crop']['height'], p['crop']['width'], [oh, ow],
                       interpolation=F.InterpolationMode.BILINEAR, antialias=False)
    if p['flip']:
        x = F.hflip(x)
    j = p['jitter']
    if j is not None:
        for op in j['order']:
            name = OPS[op]
            if name == 'brightness':
                x = F.adjust_brightness(x, j['brightness'])
            elif name == 'contrast':
                x = F.adjust_contrast(x, j['contrast'])
            elif name == 'saturation':
                x = F.adjust_saturation(x, j['saturation'])
            else:
                x = F.adjust_hue(x, j['hue'])
    if p['grayscale']:
        x = F.rgb_to_grayscale(x, 3)
    if p['blurSigma'] > 0 and k > 1:
        x = F.gaussian_blur(x, [k, k], [p['blurSigma'], p['blurSigma']])
    if p['solarize']:
        x = F.solarize(x, 0.5)
    return F.normalize(x, mean, std)


cases = []
for case in range(12):
    c = 1 if case % 4 == 3 else 3
    h, w = 7, 9
    pixels = rng.integers(0, 256, size=(c, h, w), dtype=np.uint8)
    img = torch.tensor(pixels, dtype=torch.float64) / 255
    if c == 1:
        img = img.expand(3, h, w)
    ch = int(rng.integers(1, h + 1))
    cw = int(rng.integers(1, w + 1))
    oh, ow = [(5, 6), (10, 12), (7, 9)][case % 3]
    k = [3, 5][case % 2]
    p = {
        'crop': {'top': int(rng.integers(0, h - ch + 1)), 'left': int(rng.integers(0, w - cw + 1)), 'height': ch, 'width': cw},
        'flip': bool(rng.random() < 0.5),
        'jitter': None if case % 5 == 4 else {
            'brightness': float(rng.uniform(0.6, 1.4)), 'contrast': float(rng.uniform(0.6, 1.4)),
            'saturation': float(rng.uniform(0.8, 1.2)), 'hue': float(rng.uniform(-0.5, 0.5)),
            'order': [int(i) for i in rng.permutation(4)],
        },
        'grayscale': case % 6 == 5,
        'blurSigma': float(rng.uniform(0.1, 2.0)) if case % 3 != 1 else 0.0,
        'solarize': case % 2 == 0,
    }
    mean = [0.4, 0.5, 0.6] if case % 2 else [0.0, 0.0, 0.0]
    std = [0.2, 0.25, 0.3] if case % 2 else [1.0, 1.0, 1.0]
    out = augment(img, p, oh, ow, k, mean, std)
    cases.append({'shape': [1, c, h, w], 'pixels': pixels.flatten().tolist(), 'params': p, 'outH': oh, 'outW': ow,
                  'kernelSize': k, 'mean': mean, 'std': std, 'expected': out.flatten().tolist()})

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'torchvision-fixture.json')
with open(path, 'w') as f:
    json.dump({'generator': 'test/byol/make-torchvision-fixture.py', 'cases': cases}, f)
print(f'wrote {path}: {len(cases)} cases')
