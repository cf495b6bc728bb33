# The time table of README.md from a seed folder: python3 breakdown.py seed-N (run.txt timestamps, metrics.jsonl seconds).
import json, re, sys
d = sys.argv[1]
lines = [l.rstrip('\n').split(' ', 1) for l in open(d + '/run.txt')]
ts = [(float(t), s) for t, s in lines if re.match(r'^\d+\.\d+$', t)]
start, end = ts[0][0], [t for t, s in ts if re.match(r'seed \d+ done in', s)][0]
secs = {}
for l in open(d + '/metrics.jsonl'):
    r = json.loads(l)
    if 'seconds' in r: secs[r['phase']] = secs.get(r['phase'], 0) + r['seconds']
curve = 0
t0 = None
for t, s in ts:
    if s.startswith('finetune: fc starts'): t0 = t
    if s.startswith('finetune from BYOL epoch') and t0 is not None: curve += t - t0; t0 = None
rates = [json.loads(l)['imagesPerSecond'] for l in open(d + '/metrics.jsonl') if json.loads(l).get('phase') == 'byol' and 'imagesPerSecond' in json.loads(l)]
total = end - start
cls = secs['supervised'] + secs['finetune']
print(f"total {total/60:.1f} min; byol steps {secs['byol']/60:.1f}; supervised+finetune epochs {cls/60:.2f}; curve fine-tunings (with their final test) {curve/60:.2f}; rest {(total-secs['byol']-cls-curve)/60:.1f}; rates {', '.join(f'{r:.1f}' for r in rates)}")
