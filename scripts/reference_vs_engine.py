#!/usr/bin/env python3
"""Sets the PyTorch reference's seeds (scripts/byol_reference.py) beside the engine's study of the same preset.

usage: python3 scripts/reference_vs_engine.py ENGINE_STUDY/summary.json REF_SEED_DIR [REF_SEED_DIR ...]

ENGINE_STUDY/summary.json is the summary a `--seeds` run of `npm run train:byol` writes; each REF_SEED_DIR holds
the summary.json of one reference run. The reference draws the same splits as the engine's seed of the same
number (byol_reference.py ports the engine's split code bit for bit; test/byol/reference-splits.test.ts checks
it), so each arm is compared two ways:
  - the means over seeds, the reference's against the engine's, with the difference measured in the engine's
    seed-to-seed sd (the issue's test: within that noise) and against its own standard error,
    √(sd_engine²/n_engine + sd_reference²/n_reference) (an arm whose engine sd happens to be small is not
    called different for that alone);
  - paired by seed (reference − engine on the same images), mean ± SE over the seeds both have.
and each gain (fine-tuned − supervised, probe and kNN pretrained − random) is given for both, mean ± SE.
Prints Markdown tables; reads nothing but the files named. Standard library only.
"""
import json
import math
import sys

ARMS = [
    ('supervised', 'supervised only'),
    ('finetuned', 'BYOL + fine-tune'),
    ('probeRandom', 'probe, random'),
    ('probePretrained', 'probe, pretrained'),
    ('knnRandom', 'kNN, random'),
    ('knnPretrained', 'kNN, pretrained'),
]
GAINS = [
    ('fine-tuned − supervised', 'finetuned', 'supervised'),
    ('linear probe: pretrained − random', 'probePretrained', 'probeRandom'),
    ('kNN: pretrained − random', 'knnPretrained', 'knnRandom'),
]


def mean_sd(xs):
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, float('nan')
    return m, math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def fmt(m, sd, scale=100.0, sign=False):
    s = f'{m * scale:+.2f}' if sign else f'{m * scale:.2f}'
    return s if math.isnan(sd) else f'{s} ± {sd * scale:.2f}'


def load(path):
    with open(path, encoding='utf8') as f:
        return json.load(f)


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    study = load(argv[1])
    if 'perSeed' not in study:
        print(f'error: {argv[1]} is not the summary of a --seeds study (no perSeed); give the study folder\'s summary.json', file=sys.stderr)
        return 2
    engine = {s['seed']: s['results'] for s in study['perSeed']}
    ref = {}
    for d in argv[2:]:
        s = load(f'{d.rstrip("/")}/summary.json')
        seed = s['settings']['seed']
        if not s.get('finished', True):
            print(f'error: {d} holds an unfinished reference run', file=sys.stderr)
            return 2
        ours = {k: v for k, v in study['settings'].items() if k != 'seed'}
        theirs = {k: v for k, v in s['settings'].items() if k in ours}
        differ = sorted(k for k in theirs if theirs[k] != ours[k])
        if differ:
            print(f'error: {d} ran other settings than the study ({", ".join(differ)}); compare runs of one protocol', file=sys.stderr)
            return 2
        ref[seed] = s['results']
    both = sorted(set(engine) & set(ref))
    missing = sorted(set(ref) - set(engine))
    if missing:
        print(f'error: reference seeds {missing} have no engine seed in {argv[1]}', file=sys.stderr)
        return 2
    n_e, n_r = len(engine), len(ref)
    print(f'Engine: seeds {sorted(engine)}; PyTorch reference: seeds {sorted(ref)}. Accuracies in %, points for differences.')
    print()
    print(f'| arm | engine, mean ± sd ({n_e}) | PyTorch, mean ± sd ({n_r}) | PyTorch − engine | in the engine\'s sd | in its SE | paired by seed, mean ± SE ({len(both)}) |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
    for key, name in ARMS:
        em, esd = mean_sd([engine[s][key] for s in engine])
        rm, rsd = mean_sd([ref[s][key] for s in ref])
        pm, psd = mean_sd([ref[s][key] - engine[s][key] for s in both])
        pse = psd / math.sqrt(len(both)) if len(both) > 1 else float('nan')
        in_sd = (rm - em) / esd if esd > 0 else float('nan')
        se = math.sqrt(esd ** 2 / n_e + rsd ** 2 / n_r) if n_e > 1 and n_r > 1 else float('nan')
        in_se = (rm - em) / se if se > 0 else float('nan')
        print(f'| {name} | {fmt(em, esd)} | {fmt(rm, rsd)} | {(rm - em) * 100:+.2f} | {in_sd:+.2f} | {in_se:+.2f} | {fmt(pm, pse, sign=True)} |')
    print()
    print('| gain (points) | engine, mean ± SE | PyTorch, mean ± SE |')
    print('| --- | ---: | ---: |')
    for name, a, b in GAINS:
        row = [name]
        for runs in (engine, ref):
            m, sd = mean_sd([runs[s][a] - runs[s][b] for s in runs])
            row.append(fmt(m, sd / math.sqrt(len(runs)) if len(runs) > 1 else float('nan'), sign=True))
        print('| ' + ' | '.join(row) + ' |')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
