#!/usr/bin/env python3
"""Watch benchmark (issue 13): `artifacts sync --watch` beside a writer, against the tight loop
of `sync` every 0.2 s a user would otherwise run, on the same writer, in one session.

A writer appends citing responses at RATE lines a second to logs/app.jsonl, with a rotation
(rename + create) at a quarter of the run, a half-written line (the rest 0.2 s later) at 40%
and 75%, a copytruncate at half, and a new subfolder whose log takes every other line from 60%.
For each cited file: the time from its line being complete on disk (the write returned) to the
`download` event (printed once the catalog has committed the file) on the contender's stdout.

Then: CPU over 5 s with nothing written (idle), and peak RSS of a watcher over LONG appended
lines (one in ten citing a file), read from /proc while it runs.

  Benchmarks/watch.py ARTIFACTS_BINARY EMULATOR_BINARY WORK_DIR [--seconds 30] [--rate 12]
      [--latency-ms 20] [--long-lines 100000] [--long-rate 2000]
"""
import argparse, json, os, random, resource, signal, subprocess, sys, threading, time
sys.path.insert(0, os.path.dirname(__file__))
from bench import fresh_dir, table

parser = argparse.ArgumentParser()
parser.add_argument("binary")
parser.add_argument("emulator")
parser.add_argument("work")
parser.add_argument("--seconds", type=float, default=30)
parser.add_argument("--rate", type=float, default=12)
parser.add_argument("--latency-ms", type=int, default=20)
parser.add_argument("--long-lines", type=int, default=100_000)
parser.add_argument("--long-rate", type=float, default=2000)
parser.add_argument("--skip-short", action="store_true", help="only the long run")
args = parser.parse_args()
root = fresh_dir(os.path.join(args.work, "watch"))
key = "sk-bench-" + os.urandom(6).hex()
ticks = os.sysconf("SC_CLK_TCK")


def seed(tag, containers, per_container):
    """Containers of small files the writer's lines will cite, in order."""
    base = fresh_dir(os.path.join(root, tag, "seed"))
    rng = random.Random(tag)
    entries, files = [], []
    for c in range(containers):
        cid = f"cntr_{tag}{c:0{48 - len(tag)}x}"
        items = []
        for f in range(per_container):
            fid = f"cfile_{c:08x}{f:024x}"
            name = f"{c}-{f}.bin"
            with open(os.path.join(base, name), "wb") as out:
                out.write(rng.randbytes(rng.randint(200, 20_000)))
            items.append({"id": fid, "path": f"/mnt/data/chart_{f}.png", "content_file": name})
            files.append((cid, fid, f"chart_{f}.png"))
        entries.append({"id": cid, "files": items})
    manifest = os.path.join(base, "containers.json")
    json.dump({"containers": entries}, open(manifest, "w"))
    rng.shuffle(files)
    return manifest, files


def start_emulator(manifest, latency_ms):
    port_file = manifest + ".port"
    process = subprocess.Popen([args.emulator, "--seed", manifest, "--key", key, "--latency-ms", str(latency_ms),
                                "--port-file", port_file], stdout=subprocess.DEVNULL)
    for _ in range(500):
        if os.path.exists(port_file) and open(port_file).read().strip():
            return process, f"http://127.0.0.1:{open(port_file).read().strip()}/v1"
        time.sleep(0.01)
    sys.exit("the emulator did not start")


def response_line(number, cited):
    """One response as an app logs it; `cited` is (container, file, name) or None."""
    annotations, text = [], "Nothing to show this time."
    if cited:
        cid, fid, name = cited
        text = f"Here is the chart: [{name}](sandbox:/mnt/data/{name})"
        annotations = [{"type": "container_file_citation", "container_id": cid, "file_id": fid, "filename": name,
                        "start_index": 20, "end_index": 20 + len(name)}]
    return json.dumps({"id": f"resp_{number:048x}", "object": "response", "created_at": int(time.time()),
                       "model": "gpt-5", "status": "completed", "output": [
                           {"id": f"msg_{number:048x}", "type": "message", "role": "assistant", "content": [
                               {"type": "output_text", "text": text, "annotations": annotations}]}]}) + "\n"


class Writer(threading.Thread):
    """Appends citing lines at `rate` a second for `seconds`, rotating along the way."""

    def __init__(self, logs, files, seconds, rate, every=1):
        super().__init__(daemon=True)
        self.logs, self.files, self.seconds, self.rate, self.every = logs, files, seconds, rate, every
        self.completed = {}  # file id -> monotonic time its line was complete on disk
        self.lines = 0

    def append(self, path, data):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def run(self):
        main = os.path.join(self.logs, "app.jsonl")
        sub = os.path.join(self.logs, "2026", "12", "worker.jsonl")
        total = int(self.seconds * self.rate)
        done = set()
        start = time.monotonic()
        files = iter(self.files)
        for n in range(total):
            due = start + n / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            progress = n / total
            if progress >= 0.25 and "rotate" not in done:
                done.add("rotate")
                os.rename(main, main + ".1")
            if progress >= 0.5 and "copytruncate" not in done:
                done.add("copytruncate")
                with open(main, "rb") as source, open(main + ".2", "wb") as copy:
                    copy.write(source.read())
                os.truncate(main, 0)
            if progress >= 0.6 and "folder" not in done:
                done.add("folder")
                os.makedirs(os.path.dirname(sub), exist_ok=True)
            target = sub if progress >= 0.6 and n % 2 else main
            cited = next(files) if n % self.every == 0 else None
            line = response_line(n + 1, cited).encode()
            self.lines += 1
            half = None
            for mark in (0.4, 0.75):
                if progress >= mark and f"half{mark}" not in done:
                    done.add(f"half{mark}")
                    half = len(line) // 2
            if half:
                self.append(target, line[:half])
                time.sleep(0.2)
                self.append(target, line[half:])
            else:
                self.append(target, line)
            if cited:
                self.completed[cited[1]] = time.monotonic()


def reader(stream, arrivals, events):
    for raw in stream:
        now = time.monotonic()
        try:
            event = json.loads(raw)
        except ValueError:
            continue
        events.append(event.get("event"))
        if event.get("event") == "download":
            arrivals.setdefault(event["file_id"], now)


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks


def memory(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def environment(base):
    return dict(os.environ, OPENAI_API_KEY=key, OPENAI_BASE_URL=base)


def watch_contender(tag, files, seconds, rate, every=1, memory_marks=False):
    manifest, files = seed(tag, *files)
    emulator, base = start_emulator(manifest, args.latency_ms)
    logs = fresh_dir(os.path.join(root, tag, "logs"))
    store = os.path.join(root, tag, "store")
    open(os.path.join(logs, "app.jsonl"), "w").close()
    process = subprocess.Popen([args.binary, "sync", "--watch", "--json", "--cited-only", "--store", store, logs],
                               stdout=subprocess.PIPE, text=True, env=environment(base))
    arrivals, events = {}, []
    threading.Thread(target=reader, args=(process.stdout, arrivals, events), daemon=True).start()
    while "watching" not in events:
        time.sleep(0.01)
    writer = Writer(logs, files, seconds, rate, every)
    cpu_before = cpu_seconds(process.pid)
    writer.start()
    marks = []
    while writer.is_alive():
        writer.join(seconds / 4)
        if memory_marks:
            marks.append((writer.lines, memory(process.pid, "RssAnon"), memory(process.pid, "RssFile")))
    wait_for(arrivals, writer.completed)
    busy = cpu_seconds(process.pid) - cpu_before
    idle_start = cpu_seconds(process.pid)
    time.sleep(5)
    idle = cpu_seconds(process.pid) - idle_start
    peak = memory(process.pid, "VmHWM")
    stop_started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    status = process.wait()
    stopped_in = time.monotonic() - stop_started
    emulator.send_signal(signal.SIGTERM)
    emulator.wait()
    return dict(latencies=latencies(arrivals, writer.completed), busy=busy, idle=idle, peak=peak, status=status,
                stopped_in=stopped_in, lines=writer.lines, files=len(writer.completed), marks=marks)


def loop_contender(tag, files, seconds, rate):
    """`sync` every 0.2 s on the same writer: the baseline."""
    manifest, files = seed(tag, *files)
    emulator, base = start_emulator(manifest, args.latency_ms)
    logs = fresh_dir(os.path.join(root, tag, "logs"))
    store = os.path.join(root, tag, "store")
    open(os.path.join(logs, "app.jsonl"), "w").close()
    arrivals, events, cpu = {}, [], [0.0]
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            process = subprocess.Popen([args.binary, "sync", "--json", "--cited-only", "--store", store, logs],
                                       stdout=subprocess.PIPE, text=True, env=environment(base))
            reader(process.stdout, arrivals, events)
            _, _, usage = os.wait4(process.pid, 0)
            cpu[0] += usage.ru_utime + usage.ru_stime
            time.sleep(0.2)

    looper = threading.Thread(target=loop, daemon=True)
    looper.start()
    writer = Writer(logs, files, seconds, rate)
    before = cpu[0]
    writer.start()
    writer.join()
    wait_for(arrivals, writer.completed)
    busy = cpu[0] - before
    idle_start = cpu[0]
    time.sleep(5)
    idle = cpu[0] - idle_start
    stop.set()
    looper.join()
    emulator.send_signal(signal.SIGTERM)
    emulator.wait()
    return dict(latencies=latencies(arrivals, writer.completed), busy=busy, idle=idle, lines=writer.lines,
                files=len(writer.completed))


def wait_for(arrivals, completed, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end and not set(completed) <= set(arrivals):
        time.sleep(0.05)


def latencies(arrivals, completed):
    missing = sorted(set(completed) - set(arrivals))
    if missing:
        print(f"  not archived: {', '.join(missing[:5])}", file=sys.stderr)
    return [arrivals[f] - t for f, t in completed.items() if f in arrivals], len(set(completed) - set(arrivals))


files_needed = int(args.seconds * args.rate) + 10
per = (files_needed + 7) // 8
print(f"writer: {args.rate:g} citing lines/s for {args.seconds:g} s, API latency {args.latency_ms} ms, "
      "with a rotation, a copytruncate, a new subfolder and two half-written lines", flush=True)
if not args.skip_short:
    watched = watch_contender("w", (8, per), args.seconds, args.rate)
    looped = loop_contender("l", (8, per), args.seconds, args.rate)

if not args.skip_short:
    rows = [["", "files", "missed", "p50 ms", "p99 ms", "max ms", "CPU while writing", "CPU idle 5 s"]]
    for name, result in (("sync --watch", watched), ("sync every 0.2 s", looped)):
        values, missed = result["latencies"]
        rows.append([name, str(len(values)), str(missed), f"{percentile(values, 50) * 1000:.0f}",
                     f"{percentile(values, 99) * 1000:.0f}", f"{max(values) * 1000:.0f}", f"{result['busy']:.2f} s",
                     f"{result['idle']:.3f} s"])
    table(rows)
    p50_ratio = percentile(looped["latencies"][0], 50) / percentile(watched["latencies"][0], 50)
    print(f"p50: the watcher is {p50_ratio:.1f}x sooner; idle CPU: {watched['idle']:.3f} s against "
          f"{looped['idle']:.3f} s; CPU while writing {looped['busy'] / max(watched['busy'], 0.001):.1f}x less")
    print(f"watcher: exit {watched['status']} {watched['stopped_in']:.2f} s after SIGTERM; peak RSS {watched['peak']:.1f} MiB")

if args.long_lines:
    seconds = args.long_lines / args.long_rate
    citing = args.long_lines // 10
    print(f"\nlong run: {args.long_lines} lines at {args.long_rate:g}/s, one in ten citing ({citing} files)", flush=True)
    long = watch_contender("r", (10, citing // 10 + 10), seconds, args.long_rate, every=10, memory_marks=True)
    values, missed = long["latencies"]
    print("RSS as lines were appended (anonymous + file-backed): "
          + ", ".join(f"{n}: {anon:.1f} + {mapped:.1f} MiB" for n, anon, mapped in long["marks"]))
    print(f"peak RSS {long['peak']:.1f} MiB over {long['lines']} lines; {len(values)} files archived, {missed} missed; "
          f"p50 {percentile(values, 50) * 1000:.0f} ms, p99 {percentile(values, 99) * 1000:.0f} ms; "
          f"CPU {long['busy']:.2f} s ({long['busy'] / max(len(values), 1) * 1000:.2f} ms per file)")
