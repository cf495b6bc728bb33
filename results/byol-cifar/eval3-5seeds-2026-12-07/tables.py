#!/usr/bin/env python3
"""Markdown tables of a study whose random arm was evaluated again (scripts/reevaluate-random-arm.ts or
byol_reference.py --reevaluate-random-arm) beside the study it came from.

usage: python3 tables.py NEW_STUDY OLD_STUDY [SEEDS]

NEW_STUDY and OLD_STUDY are folders of seed-N/metrics.jsonl; SEEDS defaults to 0,1,2,3,4. Prints, per seed,
the random arm as recorded (one draw) and as the mean of the draws (with their range), the pretrained arm, and
each paired difference before and after; then the means ± sd and SE. Standard library only.
"""
import json
import math
import os
import sys


def epoch0(folder):
    with open(os.path.join(folder, 'metrics.jsonl')) as f:
        records = [json.loads(line) for line in f if line.strip()]
    by = [r for r in records if r['phase'] == 'byol']
    zero = next(r for r in by if r['epoch'] == 0)
    last = [r for r in by if r['epoch'] > 0 and r.get('probeAccuracy') is not None][-1]
    return zero, last


def mean_sd(xs):
    m = sum(xs) / len(xs)
    return m, math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def main(argv):
    new, old = argv[0], argv[1]
    seeds = [int(s) for s in (argv[2] if len(argv) > 2 else '0,1,2,3,4').split(',')]
    rows = []
    for s in seeds:
        z_new, last = epoch0(os.path.join(new, f'seed-{s}'))
        z_old, last_old = epoch0(os.path.join(old, f'seed-{s}'))
        assert last == last_old, f'seed {s}: the pretrained record differs between the two studies'
        draws = z_new['randomDraws']
        assert draws['probeAccuracy'][0] == z_old['probeAccuracy'] and draws['knnAccuracy'][0] == z_old['knnAccuracy'], \
            f'seed {s}: draw 0 is not the recorded random encoder'
        rows.append((s, z_old, z_new, last))
    pct = lambda v: f'{100 * v:.2f}'
    print(f'| seed | probe, random: recorded (draw 0) | probe, random: mean of {len(rows[0][2]["randomDraws"]["probeAccuracy"])} (range) '
          '| kNN, random: recorded | kNN, random: mean (range) | probe, pretrained | kNN, pretrained |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
    for s, zo, zn, last in rows:
        d = zn['randomDraws']
        print(f'| {s} | {pct(zo["probeAccuracy"])} | {pct(zn["probeAccuracy"])} ({pct(min(d["probeAccuracy"]))}–{pct(max(d["probeAccuracy"]))}) '
              f'| {pct(zo["knnAccuracy"])} | {pct(zn["knnAccuracy"])} ({pct(min(d["knnAccuracy"]))}–{pct(max(d["knnAccuracy"]))}) '
              f'| {pct(last["probeAccuracy"])} | {pct(last["knnAccuracy"])} |')
    cols = [[r[1]['probeAccuracy'] for r in rows], [r[2]['probeAccuracy'] for r in rows],
            [r[1]['knnAccuracy'] for r in rows], [r[2]['knnAccuracy'] for r in rows],
            [r[3]['probeAccuracy'] for r in rows], [r[3]['knnAccuracy'] for r in rows]]
    print('| mean ± sd | ' + ' | '.join(f'{100 * m:.2f} ± {100 * sd:.2f}' for m, sd in map(mean_sd, cols)) + ' |')
    print()
    print('| difference (points) | recorded: seeds, mean ± SE | mean of the draws: seeds | mean | sd | SE | mean / SE |')
    print('| --- | --- | --- | ---: | ---: | ---: | ---: |')
    for name, key in [('linear probe: pretrained − random', 'probeAccuracy'), ('kNN: pretrained − random', 'knnAccuracy')]:
        before = [100 * (r[3][key] - r[1][key]) for r in rows]
        after = [100 * (r[3][key] - r[2][key]) for r in rows]
        mb, sb = mean_sd(before)
        ma, sa = mean_sd(after)
        se_b, se_a = sb / math.sqrt(len(rows)), sa / math.sqrt(len(rows))
        print(f'| {name} | {", ".join(f"{v:+.2f}" for v in before)}: {mb:+.2f} ± {se_b:.2f} '
              f'| {", ".join(f"{v:+.2f}" for v in after)} | **{ma:+.2f}** | {sa:.2f} | {se_a:.2f} | {ma / se_a:.1f} |')


if __name__ == '__main__':
    main(sys.argv[1:])
