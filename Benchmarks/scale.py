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


def response_line(index, annotations, pad):
    return json.dumps({"id": f"resp_{index:048x}", "object": "response", "created_at": 1767225600 + index,
                       "model": "gpt-5", "output": [
                           {"id": f"msg_{index:x}", "type": "message", "role": "assistant", "content": [
                               {"type": "output_text", "text": pad, "annotations": annotations}]}]})


class ScratchFileSystem:
    """A new ext4 file system (journaled, as most users' are) on a loop device, for runs that
    create many files. On ext4, creating files costs more for a while after many were deleted
    (the inode allocator skips recently freed inodes); here that moved curl's time for 10,000
    files between 1.5 s and 7.4 s. On a file system of its own, nothing was deleted before."""

    def __init__(self, name, gib):
        self.image = os.path.join(root, f"{name}.img")
        self.path = os.path.join(root, f"{name}.mnt")
        self.mounted = False
        os.makedirs(self.path, exist_ok=True)
        subprocess.run(["umount", self.path], stderr=subprocess.DEVNULL)
        with open(self.image, "wb") as f:
            f.truncate(int(gib * (1 << 30)))
        made = subprocess.run(["mkfs.ext4", "-q", "-F", self.image], capture_output=True)
        if made.returncode == 0 and subprocess.run(["mount", "-o", "loop", self.image, self.path],
                                                   capture_output=True).returncode == 0:
            self.mounted = True
        else:
            print(f"(no loop mount here: the runs share {self.path}'s file system)", file=sys.stderr)

    def close(self):
        if self.mounted:
            subprocess.run(["umount", self.path])
        else:
            fresh_dir(self.path)
        os.remove(self.image)


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
            lines.append(response_line(len(lines), annotations, "files"))
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
        scratch_fs = ScratchFileSystem("runs", 4 + files / 2000)
        scratch = scratch_fs.path
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
                # Each run starts with nothing left to write back: what one side wrote is
                # not flushed on the other's time.
                subprocess.run(["sync"])
                ours.append(measure([args.binary, "sync", "--quiet", "--jobs", str(args.jobs), "--store",
                                     new_dir("store"), os.path.join(where, "logs")], env=env))
                subprocess.run(["sync"])
                theirs.append(measure(["curl", "--silent", "--fail", "--parallel", "--parallel-max", str(args.jobs),
                                       "--output-dir", new_dir("curl"), "--config", config]))
        finally:
            emulator.send_signal(signal.SIGTERM)
            emulator.wait()
            scratch_fs.close()
        best, curl = min(ours, key=lambda r: r["wall"]), min(theirs, key=lambda r: r["wall"])
        print(f"{files}: sync " + " ".join("%.2f" % r["wall"] for r in ours) + ", curl " +
              " ".join("%.2f" % r["wall"] for r in theirs), file=sys.stderr)
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


# MARK: scan against grep -c

WORDS = ("the chart shows values squared for each x between minus five and five while the model explains "
         "reasoning about data frames columns rows means medians and plots in detail").split()


def scan_corpus(mib, every):
    """A JSON Lines log of `mib` MiB of responses of 2-8 KB, one in `every` citing one to three
    files (with the code_interpreter_call that made them), the rest plain answers."""
    path = os.path.join(root, f"scan-{mib}-{every}.jsonl")
    if os.path.exists(path):
        return path
    rng = random.Random(mib * 1000 + every)
    text = " ".join(rng.choice(WORDS) for _ in range(400_000))
    target, written, index = mib << 20, 0, 0
    with open(path + ".tmp", "w") as out:
        while written < target:
            length = rng.randint(2000, 8000)
            start = rng.randrange(0, len(text) - length)
            body = text[start:start + length - 600]
            index += 1
            output = [{"id": f"rs_{index:040x}", "type": "reasoning", "summary": []}]
            annotations = []
            if index % every == 0:
                container = f"cntr_{index:048x}"
                output.append({"id": f"ci_{index:040x}", "type": "code_interpreter_call", "status": "completed",
                               "container_id": container, "code": "import pandas as pd\ndf.plot()", "outputs": None})
                for k in range(rng.randint(1, 3)):
                    name = f"result_{index}_{k}.png"
                    annotations.append({"type": "container_file_citation", "container_id": container,
                                        "file_id": f"cfile_{index:028x}{k:04x}", "filename": name,
                                        "start_index": 10, "end_index": 40})
            output.append({"id": f"msg_{index:040x}", "type": "message", "status": "completed", "role": "assistant",
                           "content": [{"type": "output_text", "text": body, "annotations": annotations}]})
            line = json.dumps({"id": f"resp_{index:048x}", "object": "response", "created_at": 1767225600 + index,
                               "status": "completed", "model": "gpt-5", "output": output,
                               "usage": {"input_tokens": 1200, "output_tokens": 800}}) + "\n"
            out.write(line)
            written += len(line)
    os.rename(path + ".tmp", path)
    return path


def part_scan():
    curve = []
    grep_env = dict(os.environ, LC_ALL="C")
    for every in (200, 20):
        for mib in [int(n) for n in args.mib.split(",")]:
            log = scan_corpus(mib, every)
            warm(log)
            ours, theirs = [], []
            for attempt in range(5):
                store = fresh_dir(os.path.join(root, "scan-store"))
                # --dry-run: scan and record every citation, download nothing.
                ours.append(measure([args.binary, "sync", "--dry-run", "--quiet", "--store", store, log], env=quiet_env))
                theirs.append(measure(["grep", "-c", "container_file_citation", log], env=grep_env))
            ratios = sorted(o["wall"] / t["wall"] for o, t in zip(ours, theirs))
            best = min(ours, key=lambda r: r["wall"])
            curve.append({"mib": mib, "every": every, "scan": best, "grep": min(theirs, key=lambda r: r["wall"]),
                          "median_ratio": ratios[len(ratios) // 2]})
            results["scan"] = curve
            save()
    rows = [["log", "citing lines", "scan s", "grep -c s", "ratio (median of 5 pairs)", "scan peak MiB"]]
    for point in curve:
        rows.append([f"{point['mib']} MiB", f"1 in {point['every']}", "%.3f" % point["scan"]["wall"],
                     "%.3f" % point["grep"]["wall"], "%.2fx" % point["median_ratio"], "%.0f" % point["scan"]["rss_mib"]])
    print("\nscan (sync --dry-run) against LC_ALL=C grep -c container_file_citation (goal: <= 1.0x, <= 64 MiB)")
    table(rows)


# MARK: a sync of unchanged logs against find -newer

def part_resync():
    curve = []
    for logs in [int(n) for n in args.logs.split(",")]:
        where = os.path.join(root, f"resync-{logs}")
        if not os.path.exists(os.path.join(where, "done")):
            fresh_dir(where)
            for index in range(logs):
                folder = os.path.join(where, "logs", f"{index // 1000:03d}")
                os.makedirs(folder, exist_ok=True)
                annotations = [{"type": "container_file_citation", "container_id": f"cntr_{index:048x}",
                                "file_id": f"cfile_{index:032x}", "filename": f"chart_{index}.png",
                                "start_index": 0, "end_index": 0}]
                with open(os.path.join(folder, f"{index}.jsonl"), "w") as out:
                    out.write(response_line(index, annotations, "a chart") + "\n")
            open(os.path.join(where, "done"), "w").close()
        store = fresh_dir(os.path.join(where + "-store"))
        logs_dir = os.path.join(where, "logs")
        first = measure([args.binary, "sync", "--dry-run", "--quiet", "--store", store, logs_dir], env=quiet_env)
        reference = os.path.join(where, "reference")
        open(reference, "w").close()
        ours = min((measure([args.binary, "sync", "--dry-run", "--quiet", "--store", store, logs_dir], env=quiet_env)
                    for _ in range(5)), key=lambda r: r["wall"])
        theirs = min((measure(["find", logs_dir, "-type", "f", "-newer", reference]) for _ in range(5)),
                     key=lambda r: r["wall"])
        curve.append({"n": logs, "first": first, "resync": ours, "find": theirs})
        results["resync"] = curve
        save()
    rows = [["logs", "first sync s", "unchanged sync s", "find -newer s", "ratio", "peak MiB"]]
    for point in curve:
        rows.append([f"{point['n']:,}", "%.2f" % point["first"]["wall"], "%.3f" % point["resync"]["wall"],
                     "%.3f" % point["find"]["wall"], "%.2fx" % (point["resync"]["wall"] / point["find"]["wall"]),
                     "%.0f" % point["resync"]["rss_mib"]])
    print("\nsync of unchanged logs against find DIR -type f -newer REF (goal: <= 1.5x at 100,000)")
    table(rows)


# MARK: time to the first download with a million citations waiting

def part_start():
    files = 1_000_000
    where = os.path.join(root, "start")
    store = os.path.join(where, "store")
    catalog = os.path.join(store, "catalog.sqlite")
    containers = files // 3
    if not os.path.exists(catalog):
        fresh_dir(where)
        empty = os.path.join(where, "empty.jsonl")
        open(empty, "w").close()
        subprocess.run([args.binary, "sync", "--quiet", "--store", store, empty], check=True, env=quiet_env)
        sql = f"""
        PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;
        BEGIN;
        INSERT INTO container (id, first_seen_at, deadline_estimate)
          WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < {containers})
          SELECT printf('cntr_%048x', i), '2026-01-01T00:00:00.000Z', '2099-01-01T00:00:00.000Z' FROM c;
        INSERT INTO container_file (container_id, file_id, filename, source, first_seen_at)
          WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {files})
          SELECT printf('cntr_%048x', i % {containers}), printf('cfile_%032x', i), 'chart_' || i || '.png', 'cited',
                 '2026-01-01T00:00:00.000Z' FROM c;
        COMMIT;
        PRAGMA wal_checkpoint(TRUNCATE);
        """
        subprocess.run(["sqlite3", catalog], input=sql.encode(), check=True)
        # The emulator serves the first pages' files (a run is stopped long before it needs more).
        seeded = {}
        os.makedirs(os.path.join(where, "content"), exist_ok=True)
        open(os.path.join(where, "content", "f.bin"), "wb").write(os.urandom(4096))
        for i in range(1, 6001):
            seeded.setdefault(i % containers, []).append(
                {"id": f"cfile_{i:032x}", "path": f"/mnt/data/chart_{i}.png", "source": "assistant",
                 "content_file": "content/f.bin"})
        json.dump({"containers": [{"id": f"cntr_{c:048x}", "files": entries} for c, entries in seeded.items()]},
                  open(os.path.join(where, "containers.json"), "w"))
    bench.forget_statistics(catalog)
    emulator, base = bench.start_emulator(args.emulator, os.path.join(where, "containers.json"), key, 0,
                                          os.path.join(where, "port"))
    env = dict(quiet_env, OPENAI_API_KEY=key, OPENAI_BASE_URL=base)
    empty = os.path.join(where, "empty.jsonl")
    samples = []
    try:
        for _ in range(3):
            # Each run works on a copy, so every run finds the same million files waiting.
            copy = fresh_dir(os.path.join(where, "copy"))
            subprocess.run(["cp", catalog, copy], check=True)
            os.makedirs(os.path.join(copy, "blobs", "sha256"), exist_ok=True)
            started = time.perf_counter()
            process = subprocess.Popen([args.binary, "sync", "--json", "--cited-only", "--store", copy, empty],
                                       stdout=subprocess.PIPE, env=env)
            first = None
            for line in process.stdout:
                if json.loads(line).get("event") == "download":
                    first = time.perf_counter() - started
                    break
            process.send_signal(signal.SIGTERM)
            process.wait()
            samples.append(first)
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.wait()
    results["start"] = {"files": files, "first_download_seconds": samples}
    save()
    print(f"\nfirst download with {files:,} citations waiting (goal: <= 1 s): " +
          ", ".join("%.2f s" % s for s in samples))


# MARK: find against sqlite3 LIKE

def part_find():
    store = os.path.join(args.work, "find-store-1000000")
    catalog = bench.make_catalog(args.binary, store, 1_000_000)
    rows = [["pattern", "matches", "find s", "sqlite3 LIKE s", "ratio"]]
    points = []
    for label, pattern, like in [("rare", "forecast_4242", "%forecast_4242%"), ("common", "ivo", "%ivo%")]:
        ours = min((measure([args.binary, "find", "--store", store, pattern], env=quiet_env) for _ in range(5)),
                   key=lambda r: r["wall"])
        query = f"SELECT filename FROM container_file WHERE filename LIKE '{like}' AND state = 'archived'"
        theirs = min((measure(["sqlite3", catalog, query]) for _ in range(5)), key=lambda r: r["wall"])
        matches = len(subprocess.run([args.binary, "find", "--store", store, pattern], capture_output=True,
                                     env=quiet_env).stdout.splitlines())
        points.append({"label": label, "pattern": pattern, "matches": matches, "find": ours, "like": theirs})
        rows.append([f"{label} {pattern!r}", f"{matches:,}", "%.3f" % ours["wall"], "%.3f" % theirs["wall"],
                     "%.1fx faster" % (theirs["wall"] / ours["wall"])])
    results["find"] = points
    save()
    print("\nfind on 1,000,000 files against sqlite3 LIKE (goal: >= 20x rare, >= 1x common)")
    table(rows)


def plot(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 4, figsize=(17, 4))
    if "sync" in results:
        n = [p["n"] for p in results["sync"]]
        axes[0].plot(n, [p["sync"]["wall"] for p in results["sync"]], "o-", label="artifacts sync")
        axes[0].plot(n, [p["curl"]["wall"] for p in results["sync"]], "s--", label="curl --parallel")
        axes[0].set(title="download: wall time", xlabel="files", ylabel="seconds", xscale="log", yscale="log")
        axes[1].plot(n, [p["sync"]["rss_mib"] for p in results["sync"]], "o-", label="peak RSS (MiB)")
        axes[1].plot(n, [1000 * p["sync"]["cpu"] / p["n"] * 100 for p in results["sync"]], "^-",
                     label="CPU per file (ms x 100)")
        axes[1].axhline(64, color="grey", linestyle=":", label="64 MiB / 0.64 ms")
        axes[1].set(title="download: memory and CPU per file", xlabel="files", xscale="log")
    if "scan" in results:
        for every in (200, 20):
            points = [p for p in results["scan"] if p["every"] == every]
            axes[2].plot([p["mib"] for p in points], [p["scan"]["wall"] for p in points], "o-",
                         label=f"artifacts, 1 line in {every} cites")
        grep = [p for p in results["scan"] if p["every"] == 200]
        axes[2].plot([p["mib"] for p in grep], [p["grep"]["wall"] for p in grep], "s--", label="grep -c")
        axes[2].set(title="scan: wall time", xlabel="log MiB", ylabel="seconds")
    if "resync" in results:
        n = [p["n"] for p in results["resync"]]
        axes[3].plot(n, [p["resync"]["wall"] for p in results["resync"]], "o-", label="sync, logs unchanged")
        axes[3].plot(n, [p["find"]["wall"] for p in results["resync"]], "s--", label="find -newer")
        axes[3].set(title="resync: wall time", xlabel="logs", ylabel="seconds")
    for axis in axes:
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    print(f"plot: {path}")


parts = {"sync": part_sync, "scan": part_scan, "resync": part_resync, "start": part_start, "find": part_find}
if not args.plot_only:
    for part in args.parts.split(","):
        parts[part]()
if args.plot:
    plot(args.plot)
