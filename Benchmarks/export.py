#!/usr/bin/env python3
"""export benchmark (issue 6): `artifacts export` against GNU tar over the same 5,000 stored
files (1 GiB), in one session, printing ratios. The store is built once by importing a
generated export, so `artifacts import` is exercised at the same scale.

  Benchmarks/export.py ARTIFACTS_BINARY WORK_DIR [--gib 1.0] [--files 5000]
"""
import argparse, hashlib, io, json, os, random, subprocess, sys, tarfile
sys.path.insert(0, os.path.dirname(__file__))
from bench import fresh_dir, run, table, warm

parser = argparse.ArgumentParser()
parser.add_argument("binary")
parser.add_argument("work")
parser.add_argument("--gib", type=float, default=1.0)
parser.add_argument("--files", type=int, default=5000)
args = parser.parse_args()
store = os.path.join(args.work, f"export-store-{args.files}")
out = fresh_dir(os.path.join(args.work, "export-out"))

if not os.path.exists(os.path.join(store, "catalog.sqlite")):
    rng = random.Random(7)
    target = int(args.gib * (1 << 30))
    # Sizes from 1 KiB to 1 MiB averaging target/files; half the files are text (CSV,
    # compressible), half binary-like (images: compress poorly), as Code Interpreter output is.
    weights = [rng.random() for _ in range(args.files)]
    scale = target / sum(weights)
    sizes = [max(1024, min(1 << 20, int(w * scale))) for w in weights]
    entries, source = [], os.path.join(args.work, "export-source.tar")
    with tarfile.open(source, "w", format=tarfile.PAX_FORMAT) as archive:
        manifest_entries, blobs = [], []
        for index, size in enumerate(sizes):
            if index % 2:
                row = "".join(f"{rng.randint(0, 99999)},{rng.random():.6f},region_{rng.randint(0, 40)}\n" for _ in range(64))
                data = (row * (size // len(row) + 1)).encode()[:size]
                name = f"table_{index}.csv"
            else:
                data = rng.randbytes(size)
                name = f"chart_{index}.png"
            digest = hashlib.sha256(data).hexdigest()
            path = f"files/{index:05d}_{name}"
            manifest_entries.append({"path": path, "sha256": digest, "size": size, "media_type": "text/csv" if index % 2 else "image/png",
                                     "container_id": f"cntr_{index // 4:048x}", "file_id": f"cfile_{index:032x}", "filename": name,
                                     "source": "cited", "archived_at": "2026-11-01T00:00:00.000Z", "link_to": None,
                                     "citations": [{"key": f"bench|{index}", "response_id": f"resp_{index // 4:048x}", "model": "gpt-5",
                                                    "created_at": 1764000000 + index, "filename": name, "start_index": 0, "end_index": 0}]})
            blobs.append((path, data))
        manifest = json.dumps({"format": "artifacts-export", "version": 1, "layout": "flat", "entries": manifest_entries}).encode()
        info = tarfile.TarInfo("MANIFEST.json"); info.size = len(manifest)
        archive.addfile(info, io.BytesIO(manifest))
        for path, data in blobs:
            info = tarfile.TarInfo(path); info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    fresh_dir(store)
    imported = run([args.binary, "import", "--store", store, source])
    print(f"built the store by import: {imported[0]:.1f} s, peak {imported[1]:.0f} MiB")
    os.remove(source)

blobs = os.path.join(store, "blobs")
total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(blobs) for f in fs)
for d, _, fs in os.walk(blobs):
    for f in fs:
        warm(os.path.join(d, f))

def size(path):
    return os.path.getsize(path) / (1 << 20)

rows = [["what", "seconds", "peak MiB", "archive MiB", "ratio", "goal"]]
ours_tar = run([args.binary, "export", "--quiet", "--store", store, os.path.join(out, "a.tar"), "--layout", "flat"], repeat=3)
tar = run(["tar", "cf", os.path.join(out, "b.tar"), "-C", store, "blobs"], repeat=3)
rows.append(["artifacts export .tar", "%.2f" % ours_tar[0], "%.0f" % ours_tar[1], "%.0f" % size(os.path.join(out, "a.tar")),
             "%.2fx tar cf" % (ours_tar[0] / tar[0]), "<= 1.2x"])
rows.append(["tar cf", "%.2f" % tar[0], "%.0f" % tar[1], "%.0f" % size(os.path.join(out, "b.tar")), "", ""])
ours_tgz = run([args.binary, "export", "--quiet", "--store", store, os.path.join(out, "a.tgz"), "--layout", "flat"])
tgz = run(["tar", "czf", os.path.join(out, "b.tgz"), "-C", store, "blobs"])
rows.append(["artifacts export .tar.gz (level 6)", "%.2f" % ours_tgz[0], "%.0f" % ours_tgz[1], "%.0f" % size(os.path.join(out, "a.tgz")),
             "%.2fx tar czf" % (ours_tgz[0] / tgz[0]), "<= 1.0x"])
rows.append(["tar czf (gzip -6)", "%.2f" % tgz[0], "%.0f" % tgz[1], "%.0f" % size(os.path.join(out, "b.tgz")), "", ""])
print(f"store: {args.files:,} files, {total / (1 << 30):.2f} GiB")
table(rows)
