#!/usr/bin/env python3
"""Download benchmark (issue 4): `artifacts sync` against `curl --parallel` fetching the same
URLs with the same header, and against a sequential loop with the official openai SDK, all
from the package's emulator with added latency, in one session, printing ratios.

  Benchmarks/download.py ARTIFACTS_BINARY EMULATOR_BINARY WORK_DIR [--files 2000] [--latency-ms 20]
"""
import argparse, json, os, random, signal, subprocess, sys, time
sys.path.insert(0, os.path.dirname(__file__))
import bench
from bench import fresh_dir, run, table, warm

parser = argparse.ArgumentParser()
parser.add_argument("binary")
parser.add_argument("emulator")
parser.add_argument("work")
parser.add_argument("--files", type=int, default=2000)
parser.add_argument("--latency-ms", type=int, default=20)
parser.add_argument("--big-gib", type=float, default=2.0)
parser.add_argument("--skip-sdk", action="store_true")
args = parser.parse_args()
root = os.path.join(args.work, f"download-{args.files}")
key = "sk-bench-" + os.urandom(6).hex()

def corpus():
    """2,000 files from 1 KiB to 1 MiB in 20 containers, a log citing them all, a 2 GiB file."""
    manifest = os.path.join(root, "containers.json")
    if os.path.exists(manifest):
        return json.load(open(os.path.join(root, "files.json")))
    rng = random.Random(3)
    os.makedirs(os.path.join(root, "content"), exist_ok=True)
    containers, lines, files = [], [], []
    for c in range(20):
        cid = f"cntr_{c + 1:048x}"
        entries, annotations = [], []
        for f in range(args.files // 20):
            fid = f"cfile_{c * 1000 + f:032x}"
            size = int(1024 * (1024 ** rng.random()))  # log-uniform, 1 KiB to 1 MiB
            name = f"{fid}.bin"
            with open(os.path.join(root, "content", name), "wb") as out:
                out.write(rng.randbytes(size))
            entries.append({"id": fid, "path": f"/mnt/data/result_{f}.bin", "source": "assistant", "content_file": f"content/{name}"})
            annotations.append({"type": "container_file_citation", "container_id": cid, "file_id": fid,
                                "filename": f"result_{f}.bin", "start_index": 0, "end_index": 0})
            files.append((cid, fid, size))
        containers.append({"id": cid, "files": entries})
        lines.append(json.dumps({"id": f"resp_{c + 1:048x}", "object": "response", "created_at": int(time.time()),
                                 "model": "gpt-5", "output": [{"id": f"msg_{c}", "type": "message", "content": [
                                     {"type": "output_text", "text": "files", "annotations": annotations}]}]}))
    big = os.path.join(root, "content", "big.bin")
    with open(big, "wb") as out:
        block = os.urandom(1 << 20)
        for _ in range(int(args.big_gib * 1024)):
            out.write(block)
    containers.append({"id": "cntr_" + "b" * 48, "files": [{"id": "cfile_" + "b" * 32, "path": "/mnt/data/big.bin",
                                                           "source": "assistant", "content_file": "content/big.bin"}]})
    json.dump({"containers": containers}, open(manifest, "w"))
    os.makedirs(os.path.join(root, "logs"), exist_ok=True)
    open(os.path.join(root, "logs", "run.jsonl"), "w").write("\n".join(lines) + "\n")
    os.makedirs(os.path.join(root, "biglog"), exist_ok=True)
    open(os.path.join(root, "biglog", "big.jsonl"), "w").write(json.dumps({"id": "resp_" + "b" * 48, "object": "response",
        "created_at": int(time.time()), "model": "gpt-5", "output": [{"id": "msg_b", "type": "message", "content": [
        {"type": "output_text", "text": "big", "annotations": [{"type": "container_file_citation", "container_id": "cntr_" + "b" * 48,
        "file_id": "cfile_" + "b" * 32, "filename": "big.bin", "start_index": 0, "end_index": 0}]}]}]}) + "\n")
    json.dump(files, open(os.path.join(root, "files.json"), "w"))
    return files

files = corpus()
for name in os.listdir(os.path.join(root, "content")):
    warm(os.path.join(root, "content", name))

def start_emulator(latency_ms):
    return bench.start_emulator(args.emulator, os.path.join(root, "containers.json"), key, latency_ms,
                                os.path.join(root, "port"))

rows = [["what", "seconds", "peak MiB", "ratio", "goal"]]
# Every run writes into a directory of its own, and nothing is deleted while runs are timed:
# on ext4 without a journal, creating files right after thousands were deleted is slowed by
# the allocator skipping recently freed inodes, which would tax whichever run came next.
scratch = fresh_dir(os.path.join(root, "runs"))
serial = iter(range(1_000_000))
def new_dir(label):
    path = os.path.join(scratch, f"{label}-{next(serial)}")
    os.makedirs(path)
    return path

emulator, base = start_emulator(args.latency_ms)
env = dict(os.environ, OPENAI_API_KEY=key, OPENAI_BASE_URL=base, NO_COLOR="1")
try:
    def sync(jobs=None):
        """One run into a fresh store: every file is downloaded every time."""
        flags = ["--jobs", str(jobs)] if jobs else []
        return run([args.binary, "sync", "--quiet", *flags, "--store", new_dir("store"), os.path.join(root, "logs")], env=env)
    config = os.path.join(root, "curl.config")
    with open(config, "w") as f:
        f.write(f'header = "Authorization: Bearer {key}"\n')
        for cid, fid, _ in files:
            f.write(f'url = "{base}/containers/{cid}/files/{fid}/content"\noutput = "{fid}"\n')
    def curl(parallel):
        return run(["curl", "--silent", "--fail", "--parallel", "--parallel-max", str(parallel), "--output-dir",
                    new_dir("curl"), "--config", config])
    # Alternating pairs, so a slow moment of the machine hits both sides.
    pairs = [(sync(8), curl(8)) for _ in range(5)]
    ours = min((pair[0] for pair in pairs), key=lambda result: result[0])
    theirs = min((pair[1] for pair in pairs), key=lambda result: result[0])
    ratios = sorted(pair[0][0] / pair[1][0] for pair in pairs)
    rows.append([f"artifacts sync --jobs 8, {len(files)} files", "%.2f" % ours[0], "%.0f" % ours[1],
                 "%.2fx curl (pairs: median %.2fx, %.2f-%.2fx)" % (ours[0] / theirs[0], ratios[2], ratios[0], ratios[-1]),
                 "<= 1.1x"])
    rows.append(["curl --parallel --parallel-max 8", "%.2f" % theirs[0], "%.0f" % theirs[1], "", ""])
    default = min((sync() for _ in range(3)), key=lambda result: result[0])
    ours32 = min((sync(32) for _ in range(3)), key=lambda result: result[0])
    curl32 = min((curl(32) for _ in range(3)), key=lambda result: result[0])
    rows.append(["artifacts sync (default --jobs 16)", "%.2f" % default[0], "%.0f" % default[1], "", ""])
    rows.append(["artifacts sync --jobs 32", "%.2f" % ours32[0], "%.0f" % ours32[1],
                 "%.2fx curl --parallel-max 32 (%.2f s)" % (ours32[0] / curl32[0], curl32[0]), ""])
    if not args.skip_sdk:
        script = os.path.join(root, "sdk_loop.py")
        open(script, "w").write(
            "import json, os, sys\nfrom openai import OpenAI\n"
            "client = OpenAI()\nfiles = json.load(open(sys.argv[1]))\nout = sys.argv[2]\n"
            "for container_id, file_id, _ in files:\n"
            "    content = client.containers.files.content.retrieve(file_id, container_id=container_id)\n"
            "    content.write_to_file(os.path.join(out, file_id))\n")
        sdk = run([sys.executable, script, os.path.join(root, "files.json"), new_dir("sdk")], env=env)
        rows.append(["python, official SDK, one file after another", "%.2f" % sdk[0], "%.0f" % sdk[1],
                     "default %.1fx, --jobs 32 %.1fx, --jobs 8 %.1fx faster" % (
                         sdk[0] / default[0], sdk[0] / ours32[0], sdk[0] / ours[0]), ">= 15x"])
        rows.append(["(curl vs the SDK loop)", "", "", "--parallel-max 8 %.1fx, 32 %.1fx" % (
            sdk[0] / theirs[0], sdk[0] / curl32[0]), ""])
finally:
    emulator.send_signal(signal.SIGTERM)
    emulator.wait()

# One large file, no added latency: throughput against curl -o to the same disk.
emulator, base = start_emulator(0)
env = dict(os.environ, OPENAI_API_KEY=key, OPENAI_BASE_URL=base, NO_COLOR="1")
try:
    big = os.path.getsize(os.path.join(root, "content", "big.bin"))
    store = new_dir("big-store")
    ours_big = run([args.binary, "sync", "--quiet", "--cited-only", "--store", store, os.path.join(root, "biglog")], env=env)
    target = os.path.join(root, "curl-big.bin")
    curl_big = run(["curl", "--silent", "--fail", "-H", f"Authorization: Bearer {key}", "-o", target,
                    f"{base}/containers/cntr_{'b' * 48}/files/cfile_{'b' * 32}/content"])
    os.remove(target)
    rate = lambda seconds: big / seconds / (1 << 20)
    rows.append([f"artifacts sync, one {big / (1 << 30):.0f} GiB file", "%.2f" % ours_big[0], "%.0f" % ours_big[1],
                 "%.0f%% of curl's MiB/s" % (100 * curl_big[0] / ours_big[0]), ">= 70%, <= 64 MiB"])
    rows.append(["curl -o", "%.2f" % curl_big[0], "%.0f" % curl_big[1], "%.0f MiB/s vs %.0f MiB/s" % (rate(ours_big[0]), rate(curl_big[0])), ""])
finally:
    emulator.send_signal(signal.SIGTERM)
    emulator.wait()
    fresh_dir(scratch)
table(rows)
