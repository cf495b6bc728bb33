#!/usr/bin/python3
"""Does this engine's initialization give random encoders as good as torch's? Many draws of each, one evaluator.

A run's "random encoder" arm (linear probe and kNN of the untrained ResNet-18) depends on the initial weights
alone. Five seeds of a study give five draws per side, and the draws vary more than five can measure; this
script judges many draws of each initialization with the same evaluation, the PyTorch reference's
(scripts/byol_reference.py: batch-norm statistics re-estimated on the labeled images, then kNN and the
linear probe), on the same splits:

  * torch: the reference's random encoder for seed N (torch.manual_seed(phase_seed(N, 'byol')), then its
    ResNet-18 with torchvision's initialization);
  * engine: this engine's random encoder for seed N, written by scripts/random-encoders.ts.

    node scripts/cli.mjs scripts/random-encoders.ts --settings RUN/summary.json --seeds 14,15,...,25 --out DIR
    /usr/bin/python3 scripts/random_encoder_study.py --settings RUN/summary.json --engine DIR \\
        --splits 0,1,2,3,4 --inits 14,15,...,25 --out results.jsonl

Each (split, init) pair is evaluated with both initializations; the report gives each side's mean ± sd and
the paired difference engine − torch with its SE. Results go to --out as JSON lines (one per evaluation), and
a second run with the same --out skips what is there.
"""
import argparse
import json
import math
import os
import sys

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import byol_reference as R  # noqa: E402
from make_nn_fixtures import st_decode  # noqa: E402


def int_list(text):
    values = [int(v) for v in text.split(',') if v.strip()]
    if not values or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f'a comma-separated list of distinct integers, got "{text}"')
    return values


def mean_sd_se(values):
    v = np.asarray(values, dtype=np.float64)
    sd = float(v.std(ddof=1)) if len(v) > 1 else float('nan')
    return float(v.mean()), sd, sd / math.sqrt(len(v))


def report(rows):
    """Markdown: each side's mean ± sd per split and overall, and the paired difference engine − torch."""
    lines = ['| split | metric | n | torch, mean ± sd | engine, mean ± sd | engine − torch, paired mean ± SE |',
             '| --- | --- | ---: | ---: | ---: | ---: |']
    splits = sorted({r['split'] for r in rows})
    for split in splits + ['all']:
        for metric in ('probe', 'knn'):
            pairs = {}
            for r in rows:
                if split == 'all' or r['split'] == split:
                    pairs.setdefault((r['split'], r['init']), {})[r['kind']] = 100 * r[metric]
            both = [p for p in pairs.values() if 'torch' in p and 'engine' in p]
            if len(both) < 2:
                continue
            t = mean_sd_se([p['torch'] for p in both])
            e = mean_sd_se([p['engine'] for p in both])
            d = mean_sd_se([p['engine'] - p['torch'] for p in both])
            lines.append(f'| {split} | {"linear probe" if metric == "probe" else "kNN"} | {len(both)} | '
                         f'{t[0]:.2f} ± {t[1]:.2f} | {e[0]:.2f} ± {e[1]:.2f} | {d[0]:+.2f} ± {d[2]:.2f} |')
    return '\n'.join(lines)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--settings', required=True, help="a run's summary.json (its settings: dataset, splits, evaluation)")
    p.add_argument('--engine', required=True, help='the folder scripts/random-encoders.ts wrote')
    p.add_argument('--splits', type=int_list, required=True, help='the seeds whose splits to evaluate on')
    p.add_argument('--inits', type=int_list, required=True, help='the seeds of the initializations')
    p.add_argument('--out', required=True, help='JSON lines, one per evaluation (read back to skip finished ones)')
    p.add_argument('--data-dir', default=None)
    p.add_argument('--threads', type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    with open(args.settings) as f:
        raw = json.load(f)
    settings = R.with_defaults(raw.get('settings', raw))
    missing = [i for i in args.inits if not os.path.exists(os.path.join(args.engine, f'engine-random-{i}.safetensors'))]
    if missing:
        raise SystemExit(f'{args.engine} lacks engine-random-N.safetensors for N = {missing}; write them with '
                         f'scripts/random-encoders.ts --seeds {",".join(map(str, missing))}')
    rows = []
    if os.path.exists(args.out):
        with open(args.out) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    done = {(r['kind'], r['split'], r['init']) for r in rows}
    ds = R.load_dataset(settings['dataset'], args.data_dir)
    with open(args.out, 'a') as out:
        for split in args.splits:
            c = dict(settings, seed=split)
            exp = None
            for init in args.inits:
                for kind in ('torch', 'engine'):
                    if (kind, split, init) in done:
                        continue
                    if exp is None:
                        exp = R.Experiment(c, ds, R.prepare_data(ds, c), lambda line: None)
                    torch.manual_seed(R.phase_seed(init, 'byol'))
                    encoder = R.Byol(c).online.encoder
                    if kind == 'engine':
                        with open(os.path.join(args.engine, f'engine-random-{init}.safetensors'), 'rb') as f:
                            state, _ = st_decode(f.read())
                        mine = set(encoder.state_dict())
                        if set(state) != mine:
                            raise SystemExit(f'engine-random-{init}.safetensors does not hold the settings\' encoder '
                                             f'(names differ: {sorted(set(state) ^ mine)[:4]}); write it with the '
                                             f'same --settings')
                        encoder.load_state_dict(state)
                    knn, probe = exp.evaluate_encoder(encoder)
                    r = {'kind': kind, 'split': split, 'init': init, 'probe': probe['accuracy'], 'knn': knn}
                    out.write(json.dumps(r) + '\n')
                    out.flush()
                    rows.append(r)
                    print(json.dumps(r), flush=True)
    print(report(rows))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
