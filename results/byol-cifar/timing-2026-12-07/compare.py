# Which recorded numbers a timing seed reproduces: python3 compare.py seed-N [STUDY] (STUDY: a folder beside this one;
# default adamw-5seeds-2026-12-06).
import json, os, re, sys
seed = re.match(r'seed-\d+', sys.argv[1].rstrip('/').split('/')[-1]).group(0)
here = [json.loads(l) for l in open(f'{sys.argv[1]}/metrics.jsonl')]
study = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', sys.argv[2] if len(sys.argv) > 2 else 'adamw-5seeds-2026-12-06')
there = [json.loads(l) for l in open(os.path.join(study, seed, 'metrics.jsonl'))]
assert [(r['phase'], r['epoch']) for r in here] == [(r['phase'], r['epoch']) for r in there], 'different records'
# Each field per phase: supervised, byol (its curve points included), finetune.
fields = sorted({(r['phase'], k) for r in here + there for k in r} - {(r['phase'], k) for r in here + there for k in ('seconds', 'imagesPerSecond', 'phase', 'epoch')})
for phase, f in fields:
    pairs = [(r.get(f), s.get(f)) for r, s in zip(here, there) if r['phase'] == phase and (f in r or f in s)]
    same = sum(a == b for a, b in pairs)
    worst = max((abs(a - b) / max(abs(b), 1e-30) for a, b in pairs if a != b and a is not None and b is not None), default=0)
    print(f'{seed} {phase} {f}: {same}/{len(pairs)} equal' + (f', largest relative difference {worst:.1e}' if same < len(pairs) else ''))
