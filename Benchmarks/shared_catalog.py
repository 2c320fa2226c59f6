#!/usr/bin/env python3
"""Shared-catalog benchmark (issue 15), against Debian's PostgreSQL on loopback, in one run:

  - four hosts (four `artifacts sync` processes, each with its own store directory and
    ARTIFACTS_HOST, one catalog) archiving a latency-bound corpus (2,000 files, 40 ms per
    request, --jobs 4 each) against one host doing it alone (goal: >= 3x faster);
  - `find` on a PostgreSQL catalog of 1,000,000 files (moved in with migrate-catalog): a rare
    substring end to end, beside the same find on SQLite and `psql` running ILIKE without the
    trigram index (goal: <= 50 ms);
  - claims per second: the claim statement artifacts runs, by pgbench with 4 clients, for
    scale beside what job queues on PostgreSQL publish.

  Benchmarks/shared_catalog.py ARTIFACTS_BINARY EMULATOR_BINARY WORK_DIR [--files 2000] [--find-files 1000000]

Run as root (PostgreSQL is started as the postgres user) on a machine with postgresql installed.
"""
import argparse, glob, json, os, random, statistics, subprocess, sys, time
sys.path.insert(0, os.path.dirname(__file__))
import bench
from bench import fresh_dir, make_catalog, table

parser = argparse.ArgumentParser()
parser.add_argument("binary")
parser.add_argument("emulator")
parser.add_argument("work")
parser.add_argument("--files", type=int, default=2000)
parser.add_argument("--latency-ms", type=int, default=40)
parser.add_argument("--hosts", type=int, default=4)
parser.add_argument("--jobs", type=int, default=4)
parser.add_argument("--find-files", type=int, default=1_000_000)
parser.add_argument("--hosts-only", action="store_true", help="only the hosts comparison")
args = parser.parse_args()
root = os.path.join(args.work, f"shared-{args.files}")
key = "sk-bench-" + os.urandom(6).hex()
password = "bench-" + os.urandom(8).hex()
binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))[-1]

def corpus():
    """`--files` small files in 20 containers and one log citing them all."""
    manifest = os.path.join(root, "containers.json")
    if os.path.exists(manifest):
        return
    rng = random.Random(15)
    os.makedirs(os.path.join(root, "content"), exist_ok=True)
    containers, lines = [], []
    for c in range(20):
        cid = f"cntr_{c + 1:048x}"
        entries, annotations = [], []
        for f in range(args.files // 20):
            fid = f"cfile_{c * 10000 + f:032x}"
            with open(os.path.join(root, "content", fid), "wb") as out:
                out.write(rng.randbytes(rng.randint(1024, 8192)))
            entries.append({"id": fid, "path": f"/mnt/data/result_{f}.csv", "source": "assistant",
                            "content_file": f"content/{fid}"})
            annotations.append({"type": "container_file_citation", "container_id": cid, "file_id": fid,
                                "filename": f"result_{f}.csv", "start_index": 0, "end_index": 0})
        containers.append({"id": cid, "files": entries})
        lines.append(json.dumps({"id": f"resp_{c + 1:048x}", "object": "response", "created_at": int(time.time()),
                                 "model": "gpt-5", "output": [{"id": f"msg_{c}", "type": "message", "content": [
                                     {"type": "output_text", "text": "files", "annotations": annotations}]}]}))
    json.dump({"containers": containers}, open(manifest, "w"))
    os.makedirs(os.path.join(root, "logs"), exist_ok=True)
    open(os.path.join(root, "logs", "run.jsonl"), "w").write("\n".join(lines) + "\n")

def as_postgres(argv, **kwargs):
    return subprocess.run(["runuser", "-u", "postgres", "--"] + argv, check=True, **kwargs)

class Postgres:
    """A throwaway cluster: initdb as postgres, pg_ctl on a free port of 127.0.0.1."""
    def __init__(self, directory):
        self.directory, self.port = directory, bench.free_port()
        fresh_dir(directory)
        open(os.path.join(directory, "pw"), "w").write(password + "\n")
        subprocess.run(["chown", "-R", "postgres:postgres", directory], check=True)
        as_postgres([f"{binaries}/initdb", "-D", f"{directory}/data", "-U", "artifacts", "-E", "UTF8",
                     "--locale=C.UTF-8", "--auth=scram-sha-256", f"--pwfile={directory}/pw"], stdout=subprocess.DEVNULL)
        as_postgres([f"{binaries}/pg_ctl", "-D", f"{directory}/data", "-l", f"{directory}/log", "-w", "-o",
                     f"-p {self.port} -k {directory} -c listen_addresses=127.0.0.1 -c max_connections=200", "start"],
                    stdout=subprocess.DEVNULL)

    def env(self):
        return dict(os.environ, PGPASSWORD=password)

    def psql(self, sql, database="postgres"):
        return subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                               str(self.port), "-U", "artifacts", "-d", database, "-c", sql],
                              env=self.env(), check=True, capture_output=True, text=True).stdout.strip()

    def database(self, name):
        self.psql(f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0")
        return f"postgresql://artifacts@127.0.0.1:{self.port}/{name}"

    def stop(self):
        as_postgres([f"{binaries}/pg_ctl", "-D", f"{self.directory}/data", "-m", "fast", "-w", "stop"],
                    stdout=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", self.directory])

corpus()
scratch = fresh_dir(os.path.join(root, "runs"))
postgres = Postgres(os.path.join("/tmp", f"artifacts-bench-postgres-{os.getpid()}"))
rows = [["what", "artifacts", "the alternative", "ratio", "goal"]]
try:
    # 1. One host, then four, on catalogs of their own; the same emulator settings each time.
    def archive(hosts, label):
        emulator, base = bench.start_emulator(args.emulator, os.path.join(root, "containers.json"), key,
                                              args.latency_ms, os.path.join(root, "port"))
        try:
            catalog = postgres.database(label)
            environment = dict(postgres.env(), OPENAI_API_KEY=key, OPENAI_BASE_URL=base)
            start = time.perf_counter()
            cpu_before = os.times()
            # Output into files: a --json sync prints a line per file, and a pipe nobody reads
            # yet (while the first host is waited for) would stop the others once it is full.
            outputs = [os.path.join(scratch, f"{label}-{h}.out") for h in range(hosts)]
            processes = [subprocess.Popen(
                [args.binary, "sync", "--quiet", "--json", "--cited-only", "--jobs", str(args.jobs), "--catalog",
                 catalog, "--store", os.path.join(scratch, f"{label}-{h}"), os.path.join(root, "logs")],
                env=dict(environment, ARTIFACTS_HOST=f"host-{h}"), stdout=open(outputs[h], "w"),
                stderr=open(outputs[h] + ".err", "w"))
                for h in range(hosts)]
            shares, ended = [], []
            for process, output in zip(processes, outputs):
                process.wait()
                ended.append(round(time.perf_counter() - start, 2))
                if process.returncode != 0:
                    sys.exit(f"sync failed: {open(output + '.err').read()[-2000:]}")
                shares.append(json.loads(open(output).read().strip().splitlines()[-1])["archived"])
            elapsed = time.perf_counter() - start
            if os.environ.get("BENCH_TIMELINE"):
                cpu = os.times()
                used = (cpu.children_user - cpu_before.children_user) + (cpu.children_system - cpu_before.children_system)
                print(label, "hosts ended at", ended, "seconds; shares", shares, f"; syncs' CPU {used:.1f} s",
                      file=sys.stderr)
            archived = int(postgres.psql("SELECT count(*) FROM container_file WHERE state = 'archived'", label))
            if archived != args.files or sum(shares) != args.files:
                sys.exit(f"{label}: {archived} archived, hosts say {shares}")
            return elapsed, shares
        finally:
            emulator.terminate()
            emulator.wait()

    alone, _ = archive(1, "alone")
    together, shares = archive(args.hosts, "together")
    rows.append([f"{args.hosts} hosts, one catalog: {args.files} files, {args.latency_ms} ms, --jobs {args.jobs} each",
                 f"{together:.2f} s (shares {'/'.join(map(str, shares))})", f"one host {alone:.2f} s",
                 f"{alone / together:.2f}x faster", ">= 3x"])

    # 2. find on 1,000,000 files: migrate the find benchmark's catalog in.
    if args.hosts_only:
        raise SystemExit(table(rows))
    store = os.path.join(args.work, f"find-store-{args.find_files}")
    make_catalog(args.binary, store, args.find_files)
    catalog = postgres.database("million")
    start = time.perf_counter()
    subprocess.run([args.binary, "migrate-catalog", "--quiet", "--store", store, "--to", catalog], env=postgres.env(),
                   check=True, stdout=subprocess.DEVNULL)
    migrated = time.perf_counter() - start
    postgres.psql("ANALYZE", "million")

    def median_ms(argv, env=None, repeats=7):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)

    for pattern, label in [("summary_4242", "rare substring"), ("*_4242.png", "glob")]:
        shared = median_ms([args.binary, "find", "--store", store, "--catalog", catalog, pattern], postgres.env())
        local = median_ms([args.binary, "find", "--store", store, pattern])
        literal = pattern.replace("*", "%")
        scan = median_ms(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(postgres.port), "-U", "artifacts", "-d",
                          "million", "-c", f"SET enable_bitmapscan = off; SET enable_indexscan = off; "
                          f"SELECT filename FROM container_file WHERE filename ILIKE '%{literal}%'"], postgres.env())
        rows.append([f"find {label} on PostgreSQL, {args.find_files:,} files", f"{shared:.0f} ms",
                     f"same find on SQLite {local:.0f} ms; psql ILIKE scan {scan:.0f} ms",
                     f"{scan / shared:.1f}x the scan", "<= 50 ms"])
    rows.append([f"migrate-catalog of {args.find_files:,} files", f"{migrated:.1f} s", "-", "-", "-"])

    # 3. Claims per second: artifacts' claim statement, 4 clients, for 5 seconds.
    script = os.path.join(scratch, "claim.sql")
    open(script, "w").write(
        f"\\set id random(1, {args.find_files})\n"
        "UPDATE container_file SET lease_owner = 'bench/' || :client_id, lease_expires_at = clock_timestamp()\n"
        "WHERE id = (SELECT id FROM container_file WHERE id = :id AND state IN ('archived', 'pending', 'failed')\n"
        "  AND (lease_owner IS NULL OR lease_owner = 'bench/' || :client_id OR lease_expires_at <= clock_timestamp())\n"
        "  FOR UPDATE SKIP LOCKED);\n")
    subprocess.run(["chmod", "644", script])
    result = subprocess.run([f"{binaries}/pgbench", "-n", "-c", "4", "-j", "2", "-T", "5", "-f", script, "-h",
                             "127.0.0.1", "-p", str(postgres.port), "-U", "artifacts", "million"],
                            env=postgres.env(), capture_output=True, text=True, check=True)
    tps = next(line for line in result.stdout.splitlines() if line.startswith("tps"))
    claims = float(tps.split("=")[1].split()[0])
    rows.append(["claims per second, one catalog (pgbench, 4 clients)", f"{claims:,.0f}/s",
                 "graphile-worker ~183,000 jobs/s, River ~46,000, Oban ~16,700 (their hardware)", "-",
                 f"{args.files / claims * 1000:.0f} ms of claims per {args.files} files"])
finally:
    postgres.stop()

print(f"shared catalog on PostgreSQL ({binaries.split('/')[-2]}), one run")
table(rows)
