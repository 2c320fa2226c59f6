#!/usr/bin/env python3
"""find benchmark (issue 6): `artifacts find` on a catalog of 1,000,000 files against the
sqlite3 tool running LIKE '%…%' on the same catalog, in one session, printing ratios.

  Benchmarks/find.py ARTIFACTS_BINARY WORK_DIR [--files 1000000]
"""
import argparse, os, subprocess, sys
sys.path.insert(0, os.path.dirname(__file__))
from bench import fresh_dir, run, table

parser = argparse.ArgumentParser()
parser.add_argument("binary")
parser.add_argument("work")
parser.add_argument("--files", type=int, default=1_000_000)
args = parser.parse_args()
store = os.path.join(args.work, f"find-store-{args.files}")
catalog = os.path.join(store, "catalog.sqlite")

if not os.path.exists(catalog):
    fresh_dir(store)
    # Only sync and import create a store: an empty log makes an empty one.
    empty = os.path.join(store + "-empty.jsonl")
    open(empty, "w").close()
    subprocess.run([args.binary, "sync", "--quiet", "--store", store, empty], check=True)
    # Realistic names: what Code Interpreter calls its files, each with a run number.
    words = ["chart", "results", "summary", "sales_by_region", "plot", "data", "report", "squares", "sine_wave",
             "histogram", "forecast", "cleaned", "pivot", "correlation", "roll2dice_sums", "numbers"]
    exts = ["png", "csv", "txt", "xlsx", "json", "pdf", "md"]
    sql = f"""
    PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;
    BEGIN;
    INSERT INTO container (id, first_seen_at)
      WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < {args.files // 3})
      SELECT printf('cntr_%048x', i), '2026-01-01T00:00:00.000Z' FROM c;
    INSERT INTO blob (digest, size, media_type, first_stored_at)
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {args.files})
      SELECT printf('%064x', i * 2654435761 % 18446744073709551557), 1000 + i % 5000, 'text/csv',
             '2026-01-01T00:00:00.000Z' FROM c;
    INSERT INTO container_file (container_id, file_id, filename, source, state, digest, first_seen_at, archived_at)
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {args.files})
      SELECT printf('cntr_%048x', i % {args.files // 3}), printf('cfile_%032x', i),
             (CASE i % {len(words)} {' '.join(f"WHEN {k} THEN '{w}'" for k, w in enumerate(words))} END)
               || '_' || (i % 100000) || '.' ||
             (CASE i % {len(exts)} {' '.join(f"WHEN {k} THEN '{e}'" for k, e in enumerate(exts))} END),
             'cited', 'archived', printf('%064x', i * 2654435761 % 18446744073709551557),
             '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
      FROM c;
    COMMIT;
    PRAGMA wal_checkpoint(TRUNCATE);
    ANALYZE;
    """
    subprocess.run(["sqlite3", catalog], input=sql.encode(), check=True)

def count(argv):
    return len(subprocess.run(argv, capture_output=True).stdout.splitlines())

env = dict(os.environ, NO_COLOR="1")
rows = [["query", "artifacts s", "sqlite3 LIKE s", "ratio", "matches"]]
for label, pattern, like in [
    ("substring", "forecast_4242", "%forecast_4242%"),
    ("substring, 3 chars", "ivo", "%ivo%"),
    ("glob", "sine_wave_777*.png", "%sine_wave_777%.png"),
]:
    ours = run([args.binary, "find", "--store", store, pattern], repeat=5, env=env)
    theirs = run(["sqlite3", catalog, f"SELECT filename FROM container_file WHERE filename LIKE '{like}' AND state = 'archived'"], repeat=5)
    matches = count([args.binary, "find", "--store", store, pattern])
    expected = count(["sqlite3", catalog, f"SELECT filename FROM container_file WHERE filename LIKE '{like}' AND state = 'archived'"])
    if "glob" not in label and matches != expected:
        sys.exit(f"{label}: artifacts found {matches}, sqlite3 LIKE {expected}")
    rows.append([f"{label} {pattern!r}", "%.4f" % ours[0], "%.4f" % theirs[0], "%.1fx faster" % (theirs[0] / ours[0]), str(matches)])
print(f"catalog: {args.files:,} archived files")
table(rows)
