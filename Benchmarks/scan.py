#!/usr/bin/env python3
"""Scan benchmark (issue 3): artifacts' log scan against what a user would otherwise run, on
the same files in one session, printing ratios.

  Benchmarks/scan.py ARTIFACTS_BINARY CORPUS_DIR      (corpus from make_scan_corpus.py)
"""
import json, os, sys, time
sys.path.insert(0, os.path.dirname(__file__))
from bench import fresh_dir, run, table, warm

binary, corpus = sys.argv[1], sys.argv[2]
big = os.path.join(corpus, "big.jsonl")
small = os.path.join(corpus, "small")
scratch = os.path.join(corpus, "stores")
here = os.path.dirname(os.path.abspath(__file__))
env = dict(os.environ, OPENAI_API_KEY="", NO_COLOR="1")
size_gib = os.path.getsize(big) / (1 << 30)
small_count = sum(len(files) for _, _, files in os.walk(small))
warm(big)

def sync(store, path, repeat):
    # --dry-run: scan and record every citation, download nothing (no network in this benchmark).
    return run([binary, "sync", "--dry-run", "--quiet", "--store", store, path], repeat=repeat, env=env)

def fresh_sync(path):
    best = None
    for attempt in range(3):
        store = fresh_dir(os.path.join(scratch, f"big-{attempt}"))
        result = sync(store, path, 1)
        best = result if best is None or result[0] < best[0] else best
    return best

ours = fresh_sync(big)
grep = run(["grep", "-c", "container_file_citation", big], repeat=3, env=dict(os.environ, LC_ALL="C"))
jq = run(["jq", "-c", '.. | objects | select(.type? == "container_file_citation")', big])
python = run([sys.executable, os.path.join(here, "walk_annotations.py"), big])

# 10,000 small logs: the first sync reads them all; a second one must cost about a stat each.
store = fresh_dir(os.path.join(scratch, "small"))
first_small = sync(store, small, 1)
reference = os.path.join(corpus, "reference-time")
open(reference, "w").close()
unchanged = sync(store, small, 5)
find = run(["find", small, "-type", "f", "-newer", reference], repeat=5)

rows = [["what", "seconds", "peak MiB", "ratio", "goal"],
        ["artifacts scan (sync --dry-run), %.2f GiB" % size_gib, "%.2f" % ours[0], "%.0f" % ours[1], "", "peak <= 64 MiB"],
        ["LC_ALL=C grep -c container_file_citation", "%.2f" % grep[0], "%.0f" % grep[1],
         "artifacts = %.2fx grep" % (ours[0] / grep[0]), "<= 2x"],
        ["jq '.. | objects | select(.type? == ...)'", "%.2f" % jq[0], "%.0f" % jq[1],
         "%.1fx faster than jq" % (jq[0] / ours[0]), ">= 20x"],
        ["python json + walk annotations", "%.2f" % python[0], "%.0f" % python[1],
         "%.1fx faster than python" % (python[0] / ours[0]), ">= 10x"],
        [f"artifacts first sync, {small_count:,} small logs", "%.3f" % first_small[0], "%.0f" % first_small[1], "", ""],
        [f"artifacts second sync, {small_count:,} unchanged", "%.3f" % unchanged[0], "%.0f" % unchanged[1],
         "= %.2fx find -newer" % (unchanged[0] / find[0]), "<= 3x"],
        ["find DIR -type f -newer REF", "%.3f" % find[0], "%.0f" % find[1], "", ""]]
table(rows)
print(json.dumps({"gib": size_gib, "artifacts": ours, "grep": grep, "jq": jq, "python": python,
                  "small_first": first_small, "small_unchanged": unchanged, "find": find}))
