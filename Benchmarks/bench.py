#!/usr/bin/env python3
"""Shared helpers for the benchmarks: run a command, time it, record its peak memory."""
import os, shutil, subprocess, sys, tempfile, time

def run(argv, repeat=1, env=None, cwd=None):
    """Runs argv `repeat` times; returns (best wall seconds, peak RSS MiB of that run).

    Output goes to a real file, not /dev/null: GNU grep stops at the first match when it sees
    /dev/null. Peak memory comes from /usr/bin/time, a small C program, because a child forked
    from Python would report Python's own footprint as its high-water mark.
    """
    best = None
    with tempfile.TemporaryDirectory() as scratch:
        out, measured = os.path.join(scratch, "out"), os.path.join(scratch, "time")
        for _ in range(repeat):
            start = time.perf_counter()
            with open(out, "wb") as sink:
                process = subprocess.run(["/usr/bin/time", "-o", measured, "-f", "%M"] + argv, stdout=sink,
                                         stderr=subprocess.PIPE, env=env, cwd=cwd)
            elapsed = time.perf_counter() - start
            if process.returncode not in (0, 3):
                sys.exit(f"benchmark command failed ({process.returncode}): {' '.join(argv)}\n"
                         f"{process.stderr.decode(errors='replace')[-2000:]}")
            with open(measured) as f:
                peak_kib = int(f.read().split()[-1])
            if best is None or elapsed < best[0]:
                best = (elapsed, peak_kib / 1024)
    return best

def warm(path):
    """Reads a file once so every contender starts from the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass

def fresh_dir(path):
    if os.path.exists(path):
        subprocess.run(["chmod", "-R", "u+w", path], check=False)
        shutil.rmtree(path)
    os.makedirs(path)
    return path

def table(rows):
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip())

def start_emulator(emulator, manifest, key, latency_ms, port_file):
    """Starts the package's emulator seeded from `manifest`; returns (process, base URL)."""
    import time
    if os.path.exists(port_file):
        os.remove(port_file)
    process = subprocess.Popen([emulator, "--seed", manifest, "--key", key, "--latency-ms", str(latency_ms),
                                "--port-file", port_file], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        if os.path.exists(port_file) and open(port_file).read().strip():
            return process, f"http://127.0.0.1:{open(port_file).read().strip()}/v1"
        time.sleep(0.1)
    sys.exit("the emulator did not start")
