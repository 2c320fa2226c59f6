#!/usr/bin/env python3
"""Scaling benchmark (issue 18): how each cost grows with the work, against what a user would
otherwise run on the same input in the same run, printed as curves (N against wall time, peak
RSS and CPU per file) and drawn to a PNG when matplotlib is installed.

  Benchmarks/scale.py ARTIFACTS EMULATOR WORK_DIR [--parts sync,scan,resync,start,find]
                      [--files 1000,10000,50000] [--logs 10000,50000,100000] [--mib 64,256]
                      [--plot Documentation/scale.png]

  sync    sync --jobs 16 of N files against curl --parallel --parallel-max 16 fetching the
          same URLs (no added latency)
  scan    scanning a log of M MiB whose citing lines are one in 200, and one in 20, against
          LC_ALL=C grep -c container_file_citation
  resync  a sync of L unchanged logs against find DIR -newer REF
  start   a catalog of 1,000,000 pending citations: seconds from the start of a sync to its
          first downloaded file
  find    find on 1,000,000 files against sqlite3 LIKE, rare and common patterns

Every figure is one run's (pairs alternate, the best of each side is kept); the JSON of all of
them is written to WORK_DIR/scale.json, so the plot can be redrawn with --plot-only.
"""
import argparse, json, os, random, signal, subprocess, sys, time
sys.path.insert(0, os.path.dirname(__file__))
import bench
from bench import fresh_dir, measure, table, warm

parser = argparse.ArgumentParser()
parser.add_argument("binary")
parser.add_argument("emulator")
parser.add_argument("work")
parser.add_argument("--parts", default="sync,scan,resync,start,find")
parser.add_argument("--files", default="1000,10000,50000")
parser.add_argument("--logs", default="10000,50000,100000")
parser.add_argument("--mib", default="64,256")
parser.add_argument("--jobs", type=int, default=16)
parser.add_argument("--pairs", type=int, default=2)
parser.add_argument("--plot")
parser.add_argument("--plot-only", action="store_true")
args = parser.parse_args()
root = os.path.join(args.work, "scale")
os.makedirs(root, exist_ok=True)
results_path = os.path.join(root, "scale.json")
results = json.load(open(results_path)) if os.path.exists(results_path) else {}
key = "sk-bench-" + os.urandom(6).hex()
quiet_env = dict(os.environ, NO_COLOR="1")


def save():
    json.dump(results, open(results_path, "w"), indent=1)


def response_line(rng, index, annotations, pad):
    return json.dumps({"id": f"resp_{index:048x}", "object": "response", "created_at": 1767225600 + index,
                       "model": "gpt-5", "output": [
                           {"id": f"msg_{index:x}", "type": "message", "role": "assistant", "content": [
                               {"type": "output_text", "text": pad, "annotations": annotations}]}]})


# MARK: sync against curl --parallel

def sync_corpus(files):
    """`files` files of 1-64 KiB (log-uniform) in containers of 50, cited five to a response."""
    where = os.path.join(root, f"sync-{files}")
    manifest = os.path.join(where, "containers.json")
    if os.path.exists(manifest):
        return where
    fresh_dir(where)
    rng = random.Random(files)
    os.makedirs(os.path.join(where, "content"))
    containers, lines, urls = [], [], []
    per_container = 50
    for c in range((files + per_container - 1) // per_container):
        cid = f"cntr_{c + 1:048x}"
        entries = []
        count = min(per_container, files - c * per_container)
        for f in range(count):
            fid = f"cfile_{c * per_container + f:032x}"
            size = int(1024 * (64 ** rng.random()))
            name = f"{fid}.bin"
            with open(os.path.join(where, "content", name), "wb") as out:
                out.write(rng.randbytes(size))
            entries.append({"id": fid, "path": f"/mnt/data/result_{f}.bin", "source": "assistant",
                            "content_file": f"content/{name}"})
            urls.append((cid, fid))
        containers.append({"id": cid, "files": entries})
        for start in range(0, count, 5):
            annotations = [{"type": "container_file_citation", "container_id": cid, "file_id": e["id"],
                            "filename": e["path"].rsplit("/", 1)[1], "start_index": 0, "end_index": 0}
                           for e in entries[start:start + 5]]
            lines.append(response_line(rng, len(lines), annotations, "files"))
    json.dump({"containers": containers}, open(manifest, "w"))
    os.makedirs(os.path.join(where, "logs"))
    open(os.path.join(where, "logs", "run.jsonl"), "w").write("\n".join(lines) + "\n")
    json.dump(urls, open(os.path.join(where, "urls.json"), "w"))
    return where


def part_sync():
    curve = []
    for files in [int(n) for n in args.files.split(",")]:
        where = sync_corpus(files)
        for name in os.listdir(os.path.join(where, "content")):
            warm(os.path.join(where, "content", name))
        scratch = fresh_dir(os.path.join(root, "runs"))
        serial = iter(range(1000))

        def new_dir(label):
            path = os.path.join(scratch, f"{label}-{next(serial)}")
            os.makedirs(path)
            return path

        emulator, base = bench.start_emulator(args.emulator, os.path.join(where, "containers.json"), key, 0,
                                              os.path.join(where, "port"))
        env = dict(quiet_env, OPENAI_API_KEY=key, OPENAI_BASE_URL=base)
        config = os.path.join(where, "curl.config")
        with open(config, "w") as out:
            out.write(f'header = "Authorization: Bearer {key}"\n')
            for cid, fid in json.load(open(os.path.join(where, "urls.json"))):
                out.write(f'url = "{base}/containers/{cid}/files/{fid}/content"\noutput = "{fid}"\n')
        try:
            ours, theirs = [], []
            for _ in range(args.pairs if files > 5000 else args.pairs + 1):
                ours.append(measure([args.binary, "sync", "--quiet", "--jobs", str(args.jobs), "--store",
                                     new_dir("store"), os.path.join(where, "logs")], env=env))
                theirs.append(measure(["curl", "--silent", "--fail", "--parallel", "--parallel-max", str(args.jobs),
                                       "--output-dir", new_dir("curl"), "--config", config]))
        finally:
            emulator.send_signal(signal.SIGTERM)
            emulator.wait()
            fresh_dir(scratch)
        best, curl = min(ours, key=lambda r: r["wall"]), min(theirs, key=lambda r: r["wall"])
        curve.append({"n": files, "sync": best, "curl": curl,
                      "ratios": sorted(o["wall"] / t["wall"] for o, t in zip(ours, theirs))})
        results["sync"] = curve
        save()
    rows = [["files", "sync s", "curl s", "ratio", "pairs", "sync peak MiB", "sync CPU/file", "curl CPU/file"]]
    for point in curve:
        n, ours, curl = point["n"], point["sync"], point["curl"]
        rows.append([f"{n:,}", "%.2f" % ours["wall"], "%.2f" % curl["wall"], "%.2fx" % (ours["wall"] / curl["wall"]),
                     " ".join("%.2f" % r for r in point["ratios"]), "%.0f" % ours["rss_mib"],
                     "%.2f ms" % (1000 * ours["cpu"] / n), "%.2f ms" % (1000 * curl["cpu"] / n)])
    print(f"\nsync --jobs {args.jobs} against curl --parallel --parallel-max {args.jobs} (goal: <= 1.1x, "
          "<= 64 MiB, <= 1 ms CPU per file)")
    table(rows)


parts = {"sync": part_sync}
if not args.plot_only:
    for part in args.parts.split(","):
        parts[part]()
