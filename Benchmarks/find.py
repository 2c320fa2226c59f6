#!/usr/bin/env python3
"""find benchmark (issue 6): `artifacts find` on a catalog of 1,000,000 files against the
sqlite3 tool running LIKE '%…%' on the same catalog, in one session, printing ratios.

  Benchmarks/find.py ARTIFACTS_BINARY WORK_DIR [--files 1000000]
"""
import argparse, os, subprocess, sys
sys.path.insert(0, os.path.dirname(__file__))
from bench import fresh_dir, make_catalog, run, table

parser = argparse.ArgumentParser()
parser.add_argument("binary")
parser.add_argument("work")
parser.add_argument("--files", type=int, default=1_000_000)
args = parser.parse_args()
store = os.path.join(args.work, f"find-store-{args.files}")
catalog = os.path.join(store, "catalog.sqlite")

make_catalog(args.binary, store, args.files)

def count(argv):
    return len(subprocess.run(argv, capture_output=True).stdout.splitlines())

env = dict(os.environ, NO_COLOR="1")
rows = [["query", "artifacts s", "sqlite3 LIKE s", "ratio", "matches"]]
for label, pattern, like in [
    ("substring", "forecast_4242", "%forecast_4242%"),
    ("substring, 3 chars", "ivo", "%ivo%"),
    ("glob", "sine_wave_777*.png", "%sine_wave_777%.png"),
]:
    ours = run([args.binary, "find", "--store", store, pattern], repeat=5, env=env)
    theirs = run(["sqlite3", catalog, f"SELECT filename FROM container_file WHERE filename LIKE '{like}' AND state = 'archived'"], repeat=5)
    matches = count([args.binary, "find", "--store", store, pattern])
    expected = count(["sqlite3", catalog, f"SELECT filename FROM container_file WHERE filename LIKE '{like}' AND state = 'archived'"])
    if "glob" not in label and matches != expected:
        sys.exit(f"{label}: artifacts found {matches}, sqlite3 LIKE {expected}")
    rows.append([f"{label} {pattern!r}", "%.4f" % ours[0], "%.4f" % theirs[0], "%.1fx faster" % (theirs[0] / ours[0]), str(matches)])
print(f"catalog: {args.files:,} archived files")
table(rows)
