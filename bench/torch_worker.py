#!/usr/bin/python3
"""The `torch` backend of `npm run bench` (bench/torch.ts starts it): PyTorch on the CPU, one process per run.

Run with Debian's python3-torch (and python3-torchvision for the whole-network rows), i.e. /usr/bin/python3,
not a python3 without torch. It speaks JSON lines on stdin / stdout, one reply per request, in order:

  {"id": 1, "cmd": "hello"}
      → {"id": 1, "ok": true, "torch": "1.13.1", "threads": 2, "python": "3.11.2", "cpu": "..."}
  {"id": 2, "cmd": "setup", "op": "conv2d", "params": {...}, "inputs": {"x": ARRAY, ...}}
      → {"id": 2, "ok": true, "handle": 1}
  {"id": 3, "cmd": "run", "handle": 1}      one untimed run → {"id": 3, "ok": true, "first": ARRAY or null}
  {"id": 4, "cmd": "time", "handle": 1}     one timed run   → {"id": 4, "ok": true, "ms": 12.5}
  {"id": 5, "cmd": "dispose", "handle": 1}  → {"id": 5, "ok": true}
  any failure                               → {"id": N, "ok": false, "error": "..."}

ARRAY is {"shape": [...], "dtype": "float32" | "int32" | "uint8", "data": base64 of the little-endian
bytes}. The inputs are the bench rows' own (made in TypeScript with the same generator as every backend's),
so "run" returns the first output for the bench's correctness check. "time" measures only the workload
(time.perf_counter around it): the message round trip and the decoding of inputs are outside, as the other
backends' timings leave out their uploads. Warm-up and repetitions are driven by the bench, interleaved with
the other backends, so this process sleeps on stdin while they run (OMP_WAIT_POLICY=PASSIVE: its OpenMP
threads sleep too instead of spinning on the shared cores).
"""
import os

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import base64  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

DTYPES = {'float32': np.float32, 'int32': np.int32, 'uint8': np.uint8}
TORCH_DTYPES = {torch.float32: 'float32', torch.int32: 'int32', torch.int64: 'int32', torch.uint8: 'uint8'}


def decode(a):
    """An ARRAY as a numpy array of its shape (a copy: writable, owned)."""
    data = np.frombuffer(base64.b64decode(a['data']), dtype=DTYPES[a['dtype']]).copy()
    return data.reshape(a['shape'])


def encode(t):
    """A tensor as an ARRAY (int64 as int32)."""
    t = t.detach().contiguous()
    dtype = TORCH_DTYPES[t.dtype]
    data = t.numpy().astype(DTYPES[dtype], copy=False)
    return {'shape': list(t.shape), 'dtype': dtype, 'data': base64.b64encode(data.tobytes()).decode('ascii')}


def cpu_name():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ---------------------------------------------------------------------------------------------------------
# Workloads: setup(params, inputs) returns a function that runs the workload once and returns its outputs
# (a tensor, a tuple whose first element is the output the check compares, or None).

def matmul(p, x):
    a, b = torch.from_numpy(x['a']), torch.from_numpy(x['b'])
    return lambda: torch.mm(a, b)


def conv2d(p, x):
    """Forward, input gradient or filter gradient (aten's convolution_backward with one output asked for,
    the kernels autograd runs), NCHW activations and [C_out, C_in, KH, KW] weights, as ours."""
    stride, pad = [p['stride']] * 2, [p['pad']] * 2
    xs, w = torch.from_numpy(x['x']), torch.from_numpy(x['w'])
    if p['kind'] == 'fwd':
        return lambda: F.conv2d(xs, w, None, stride, pad)
    dy = torch.from_numpy(x['dy'])
    mask = [p['kind'] == 'dx', p['kind'] == 'dw', False]
    pick = 0 if p['kind'] == 'dx' else 1
    return lambda: torch.ops.aten.convolution_backward(dy, xs, w, None, stride, pad, [1, 1], False, [0, 0], 1, mask)[pick]


def batchnorm(p, x):
    """Training-mode batch norm: native_batch_norm (y, batch mean, inverse std) and its backward
    (dx, dgamma, dbeta), the kernels autograd runs."""
    xs, gamma, beta = torch.from_numpy(x['x']), torch.from_numpy(x['gamma']), torch.from_numpy(x['beta'])
    eps = p['eps']
    if p['kind'] == 'fwd':
        return lambda: torch.native_batch_norm(xs, gamma, beta, None, None, True, 0.1, eps)
    dy = torch.from_numpy(x['dy'])
    _, mean, invstd = torch.native_batch_norm(xs, gamma, beta, None, None, True, 0.1, eps)
    return lambda: torch.ops.aten.native_batch_norm_backward(dy, xs, gamma, None, None, mean, invstd, True, eps,
                                                             [True, True, True])


def maxpool(p, x):
    """Max pool 3×3 / 2, padding 1: values and indices, and the backward that routes dy through them."""
    k, s, pad = [p['kernel']] * 2, [p['stride']] * 2, [p['padding']] * 2
    xs = torch.from_numpy(x['x'])
    if p['kind'] == 'fwd':
        return lambda: torch.ops.aten.max_pool2d_with_indices(xs, k, s, pad)
    dy = torch.from_numpy(x['dy'])
    _, idx = torch.ops.aten.max_pool2d_with_indices(xs, k, s, pad)
    return lambda: torch.ops.aten.max_pool2d_with_indices_backward(dy, xs, k, s, pad, [1, 1], False, idx)


def avgpool(p, x):
    """Global average pooling [N, C, H, W] → [N, C] (torchvision's AdaptiveAvgPool2d(1) and flatten)."""
    xs = torch.from_numpy(x['x'])
    return lambda: F.adaptive_avg_pool2d(xs, 1).flatten(1)


def optim(p, x):
    """One optimizer step over parameters of the given shapes, with given gradients: torch.optim.SGD
    (momentum), torch.optim.AdamW, or scripts/byol_reference.py's LARS (src/nn/optim.ts's)."""
    w, g = torch.from_numpy(x['w']), torch.from_numpy(x['g'])
    params, off = [], 0
    for shape in p['shapes']:
        n = int(np.prod(shape))
        t = torch.nn.Parameter(w[off:off + n].view(shape).clone())
        t.grad = g[off:off + n].view(shape).clone()
        params.append(t)
        off += n
    if p['kind'] == 'sgd':
        opt = torch.optim.SGD(params, lr=p['lr'], momentum=p['momentum'])
    elif p['kind'] == 'adamw':
        opt = torch.optim.AdamW(params, lr=p['lr'], weight_decay=p['weightDecay'])
    else:
        opt = reference().LARS(params, p['lr'], p['momentum'], p['weightDecay'], p['eta'])

    def run():
        with torch.enable_grad():  # LARS and torch.optim manage their own no_grad
            opt.step()
        return params[0]
    return run


def resnet_model(p, x):
    """torchvision's resnet18 (ImageNet stem) with the bench's weights (torchvision names, 'param:' inputs);
    the batch-norm buffers keep their initial values (mean 0, variance 1), as ours."""
    import torchvision
    model = torchvision.models.resnet18(num_classes=p['classes'])
    state = {k[len('param:'):]: torch.from_numpy(v) for k, v in x.items() if k.startswith('param:')}
    missing, unexpected = model.load_state_dict(state, strict=False)
    buffers = {name for name, _ in model.named_buffers()}
    if unexpected or set(missing) - buffers:
        raise ValueError(f'resnet18 weights: missing {sorted(set(missing) - buffers)}, unexpected {sorted(unexpected)}')
    return model


def resnet18_step(p, x):
    """One training step: zero_grad, forward, cross-entropy, backward, SGD (momentum) step; returns the loss
    (of the weights before the step)."""
    model = resnet_model(p, x)
    model.train(True)
    opt = torch.optim.SGD(model.parameters(), lr=p['lr'], momentum=p['momentum'])
    images, labels = torch.from_numpy(x['x']), torch.from_numpy(x['labels']).long()

    def run():
        with torch.enable_grad():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            opt.step()
        return loss.detach()
    return run


def resnet18_infer(p, x):
    """Eval-mode forward (running statistics); the logits."""
    model = resnet_model(p, x)
    model.eval()
    images = torch.from_numpy(x['x'])
    return lambda: model(images)


_reference = None


def reference():
    """scripts/byol_reference.py (the project's PyTorch port of the experiment), imported once."""
    global _reference
    if _reference is None:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts'))
        import byol_reference
        _reference = byol_reference
    return _reference


def byol_step(p, x):
    """One BYOL step as scripts/byol_reference.py trains (the experiment's step): both augmented views of the
    uint8 batch (its ViewAugment: torchvision's transforms, batched), online and target networks on each view,
    the symmetric loss, backward, LARS, the EMA update of the target. Its own initialization (torchvision's)."""
    ref = reference()
    config = ref.with_defaults({'width': p['width'], 'stem': p['stem'], 'byol': p['byol']})
    torch.manual_seed(p['seed'])
    byol = ref.Byol(config)
    byol.train(True)
    opt = ref.make_optimizer(config['byol']['optimizer'], byol.online.parameters(), p['lr'], config['byol']['weightDecay'])
    views = [ref.ViewAugment(v, p['size'], p['stats']) for v in ref.byol_views(config)]
    images = x['images']

    def run():
        with torch.enable_grad():
            v1, v2 = views[0](images), views[1](images)
            opt.zero_grad()
            loss = byol.loss(v1, v2)
            loss.backward()
            opt.step(p['lr'])
            byol.update_target(p['tau'])
        return loss.detach()
    return run


OPS = {'matmul': matmul, 'conv2d': conv2d, 'batchnorm': batchnorm, 'maxpool': maxpool, 'avgpool': avgpool,
       'optim': optim, 'resnet18-step': resnet18_step, 'resnet18-infer': resnet18_infer, 'byol-step': byol_step}


def first_of(out):
    if isinstance(out, (tuple, list)):
        out = out[0] if out else None
    return None if out is None else encode(out)


def serve(inp, out):
    workloads = {}
    next_handle = 1
    for line in inp:
        if not line.strip():
            continue
        req = {}
        try:
            req = json.loads(line)
            cmd = req['cmd']
            reply = {}
            if cmd == 'hello':
                reply = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'python': platform.python_version(),
                         'cpu': cpu_name()}
            elif cmd == 'setup':
                if req['op'] not in OPS:
                    raise ValueError(f"unknown op '{req['op']}' (known: {', '.join(OPS)})")
                inputs = {k: decode(v) for k, v in req.get('inputs', {}).items()}
                with torch.no_grad():
                    workloads[next_handle] = OPS[req['op']](req.get('params', {}), inputs)
                reply = {'handle': next_handle}
                next_handle += 1
            elif cmd == 'run':
                with torch.no_grad():
                    reply = {'first': first_of(workloads[req['handle']]())}
            elif cmd == 'time':
                run = workloads[req['handle']]
                with torch.no_grad():
                    t0 = time.perf_counter()
                    result = run()
                    ms = (time.perf_counter() - t0) * 1e3
                del result
                reply = {'ms': ms}
            elif cmd == 'dispose':
                workloads.pop(req['handle'], None)
            else:
                raise ValueError(f"unknown command '{cmd}'")
            reply.update(id=req.get('id'), ok=True)
        except Exception as e:  # noqa: BLE001 -- every failure goes back to the bench as a reply
            reply = {'id': req.get('id'), 'ok': False, 'error': f'{type(e).__name__}: {e}'}
        out.write(json.dumps(reply) + '\n')
        out.flush()


def main():
    torch.set_num_threads(os.cpu_count() or 1)
    # Replies go to the real stdout only; anything a library prints goes to stderr.
    out = sys.stdout
    sys.stdout = sys.stderr
    serve(sys.stdin, out)


if __name__ == '__main__':
    main()
