#!/usr/bin/env python3
"""serve benchmark (issue 16): the web gallery on a catalog of 1,000,000 files. Prints the
server's own time (its Server-Timing header) and the time to the last byte on loopback, median
of 15 requests each, beside `artifacts find` of the same selection for scale.

  Benchmarks/serve.py ARTIFACTS_BINARY WORK_DIR [--files 1000000]
"""
import argparse, os, statistics, subprocess, sys, time, urllib.request
sys.path.insert(0, os.path.dirname(__file__))
from bench import make_catalog, table

parser = argparse.ArgumentParser()
parser.add_argument("binary")
parser.add_argument("work")
parser.add_argument("--files", type=int, default=1_000_000)
args = parser.parse_args()
store = os.path.join(args.work, f"find-store-{args.files}")
make_catalog(args.binary, store, args.files)

server = subprocess.Popen([args.binary, "serve", "--store", store, "--port", "0"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)
try:
    address = server.stdout.readline().strip()
    base, token = address.split("/?token=")

    def measure(path, repeats=15):
        server_ms, total_ms, size = [], [], 0
        for _ in range(repeats):
            request = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
            start = time.perf_counter()
            with urllib.request.urlopen(request) as reply:
                body = reply.read()
                timing = reply.headers["Server-Timing"]
            total_ms.append((time.perf_counter() - start) * 1000)
            server_ms.append(float(timing.split("dur=")[1]))
            size = len(body)
        return statistics.median(server_ms), statistics.median(total_ms), size

    def find_ms(arguments, repeats=5):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([args.binary, "find", "--store", store, "--limit", "60"] + arguments,
                           stdout=subprocess.DEVNULL, check=False)
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)

    rows = []
    for label, path, find_args in [
        ("first gallery page (newest 60)", "/", ["--sort", "newest"]),
        ("page 100 of the gallery", "/?page=100", None),
        ("search, rare substring (10 matches)", "/?q=summary_4242", ["--sort", "newest", "summary_4242"]),
        ("search, glob *_4242.png", "/?q=*_4242.png", ["--sort", "newest", "*_4242.png"]),
        ("search, common substring (62,500 matches)", "/?q=ast", ["--sort", "newest", "ast"]),
    ]:
        server_time, total, size = measure(path)
        rows.append([label, f"{server_time:.1f} ms", f"{total:.1f} ms", f"{size / 1024:.0f} KiB",
                     f"{find_ms(find_args):.0f} ms" if find_args else "-",
                     "yes" if server_time <= 100 else "NO"])
    print(f"serve on a catalog of {args.files:,} files (median of 15; find: median of 5, whole process)")
    table([["request", "server time", "to last byte", "page", "find --limit 60", "<= 100 ms"]] + rows)
finally:
    server.terminate()
    server.wait()
