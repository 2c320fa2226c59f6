#!/usr/bin/env python3
"""Shared helpers for the benchmarks: run a command, time it, record its peak memory."""
import os, shutil, socket, subprocess, sys, tempfile, time

def run(argv, repeat=1, env=None, cwd=None):
    """Runs argv `repeat` times; returns (best wall seconds, peak RSS MiB of that run)."""
    best = min((measure(argv, env=env, cwd=cwd) for _ in range(repeat)), key=lambda result: result["wall"])
    return best["wall"], best["rss_mib"]


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

def free_port():
    """A port nothing listens on right now on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

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


def make_catalog(binary, store, files):
    """A store whose catalog holds `files` archived files with realistic names (no bytes):
    what the find and serve benchmarks search. Made once, kept in the work folder."""
    catalog = os.path.join(store, "catalog.sqlite")
    if os.path.exists(catalog):
        count_name_trigrams(catalog)
        forget_statistics(catalog)
        return catalog

    fresh_dir(store)
    # Only sync and import create a store: an empty log makes an empty one.
    empty = os.path.join(store + "-empty.jsonl")
    open(empty, "w").close()
    subprocess.run([binary, "sync", "--quiet", "--store", store, empty], check=True)
    # Realistic names: what Code Interpreter calls its files, each with a run number.
    words = ["chart", "results", "summary", "sales_by_region", "plot", "data", "report", "squares", "sine_wave",
             "histogram", "forecast", "cleaned", "pivot", "correlation", "roll2dice_sums", "numbers"]
    exts = ["png", "csv", "txt", "xlsx", "json", "pdf", "md"]
    sql = f"""
    PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;
    BEGIN;
    INSERT INTO container (id, first_seen_at)
      WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < {files // 3})
      SELECT printf('cntr_%048x', i), '2026-01-01T00:00:00.000Z' FROM c;
    INSERT INTO blob (digest, size, media_type, first_stored_at)
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {files})
      SELECT printf('%064x', i * 2654435761 % 18446744073709551557), 1000 + i % 5000, 'text/csv',
             '2026-01-01T00:00:00.000Z' FROM c;
    INSERT INTO container_file (container_id, file_id, filename, source, state, digest, first_seen_at, archived_at)
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {files})
      SELECT printf('cntr_%048x', i % {files // 3}), printf('cfile_%032x', i),
             (CASE i % {len(words)} {' '.join(f"WHEN {k} THEN '{w}'" for k, w in enumerate(words))} END)
               || '_' || (i % 100000) || '.' ||
             (CASE i % {len(exts)} {' '.join(f"WHEN {k} THEN '{e}'" for k, e in enumerate(exts))} END),
             'cited', 'archived', printf('%064x', i * 2654435761 % 18446744073709551557),
             '2026-01-01T00:00:00.000Z', strftime('%Y-%m-%dT%H:%M:%fZ', 1767225600 + i, 'unixepoch')
      FROM c;
    COMMIT;
    PRAGMA wal_checkpoint(TRUNCATE);
    """
    subprocess.run(["sqlite3", catalog], input=sql.encode(), check=True)
    count_name_trigrams(catalog)
    return catalog


def forget_statistics(catalog):
    """Drops what an ANALYZE left (earlier versions of this script ran one): artifacts never
    analyses its catalog, so SQLite plans a user's queries without statistics, and so must
    the benchmark's."""
    subprocess.run(["sqlite3", catalog, "DROP TABLE IF EXISTS sqlite_stat1; DROP TABLE IF EXISTS sqlite_stat4;"],
                   check=True)


def count_name_trigrams(catalog):
    """Fills the trigram counts find steers by, as artifacts keeps them for the files it
    inserts (schema v007): rows inserted here by sqlite3 are not counted by any trigger, and a
    find without counts asks the index for every trigram of its pattern. Does nothing to a
    catalog that has them."""
    sql = """
    INSERT INTO name_trigram (trigram, files)
      SELECT trigram, count(*) FROM (
        WITH RECURSIVE position(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM position WHERE n < 255)
        SELECT DISTINCT f.id, substr(lower(f.filename), position.n, 3) AS trigram
        FROM container_file f JOIN position ON position.n <= length(f.filename) - 2)
      GROUP BY trigram;
    """
    counted = subprocess.run(["sqlite3", catalog, "SELECT count(*) FROM name_trigram"], capture_output=True,
                             check=True).stdout.strip()
    if counted == b"0":
        subprocess.run(["sqlite3", catalog], input=sql.encode(), check=True)


def measure(argv, env=None, cwd=None, stdout=None):
    """Runs argv once; returns {"wall", "rss_mib", "cpu"} (seconds, MiB, user+sys seconds).

    Output goes to a real file, not /dev/null: GNU grep stops at the first match when it sees
    /dev/null. Peak memory and CPU come from /usr/bin/time, a small C program, because a child
    forked from Python would report Python's own footprint as its high-water mark.
    """
    with tempfile.TemporaryDirectory() as scratch:
        measured = os.path.join(scratch, "time")
        out = stdout or os.path.join(scratch, "out")
        start = time.perf_counter()
        with open(out, "wb") as sink:
            process = subprocess.run(["/usr/bin/time", "-o", measured, "-f", "%M %U %S"] + argv, stdout=sink,
                                     stderr=subprocess.PIPE, env=env, cwd=cwd)
        wall = time.perf_counter() - start
        if process.returncode not in (0, 3):
            sys.exit(f"benchmark command failed ({process.returncode}): {' '.join(argv)}\n"
                     f"{process.stderr.decode(errors='replace')[-2000:]}")
        peak_kib, user, system = open(measured).read().split()[-3:]
    return {"wall": wall, "rss_mib": int(peak_kib) / 1024, "cpu": float(user) + float(system)}
