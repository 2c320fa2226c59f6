#!/usr/bin/env python3
"""Shared helpers for the benchmarks: run a command, time it, record its peak memory."""
import os, shutil, subprocess, sys, time

def run(argv, repeat=1, env=None, stdout=subprocess.DEVNULL, cwd=None):
    """Runs argv `repeat` times; returns (best wall seconds, peak RSS MiB of the best run)."""
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, env=env, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        stderr = process.stderr.read().decode(errors="replace")
        process.stderr.close()
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 3):
            sys.exit(f"benchmark command failed ({code}): {' '.join(argv)}\n{stderr[-2000:]}")
        result = (elapsed, usage.ru_maxrss / 1024)
        if best is None or result[0] < best[0]:
            best = result
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
