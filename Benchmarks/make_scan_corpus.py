#!/usr/bin/env python3
"""Writes the scan benchmark's corpus: one large JSON Lines log of realistic Responses API
objects in which about 0.5% cite container files, and many small log files.

  make_scan_corpus.py OUT_DIR [--gib 1.0] [--small 10000] [--seed 1]
"""
import argparse, json, os, random, string

def ident(rng, prefix, n=48):
    return prefix + "".join(rng.choice("0123456789abcdef") for _ in range(n))

WORDS = ("the chart shows values squared for each x between minus five and five while the model "
         "explains reasoning about data frames columns rows means medians and plots in detail").split()

def text(rng, words):
    return " ".join(rng.choice(WORDS) for _ in range(words))

def response(rng, created, cite):
    rid = ident(rng, "resp_")
    container = ident(rng, "cntr_")
    out = [{"id": ident(rng, "rs_"), "type": "reasoning", "summary": [], "encrypted_content": "".join(rng.choice(string.ascii_letters) for _ in range(900))}]
    msg_text = text(rng, rng.randint(150, 400))
    annotations = []
    if cite:
        out.append({"id": ident(rng, "ci_"), "type": "code_interpreter_call", "status": "completed",
                    "container_id": container, "code": "import pandas as pd\n" + text(rng, 30), "outputs": None})
        for k in range(rng.randint(1, 3)):
            name = f"result_{rng.randint(0, 99999)}.{rng.choice(['csv', 'png', 'txt'])}"
            prefix = msg_text + f" [{name}]("
            link = "sandbox:/mnt/data/" + name
            start = len(prefix)
            msg_text = prefix + link + ")."
            annotations.append({"type": "container_file_citation", "container_id": container,
                                "file_id": ident(rng, "cfile_", 32), "filename": name,
                                "start_index": start, "end_index": start + len(link)})
    out.append({"id": ident(rng, "msg_"), "type": "message", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": msg_text, "annotations": annotations, "logprobs": []}]})
    return {"id": rid, "object": "response", "created_at": created, "status": "completed",
            "model": "gpt-5-2025-08-07", "output": out, "usage": {"input_tokens": rng.randint(100, 9000),
            "output_tokens": rng.randint(10, 900), "total_tokens": 0}, "metadata": {"user": ident(rng, "u_", 8)}}

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--small", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    target = int(args.gib * (1 << 30))
    # A pool of distinct lines, written in a shuffled order until the size is reached: the
    # file is large without the generator taking minutes.
    pool = [json.dumps(response(rng, 1760000000 + i, rng.random() < 0.005), separators=(",", ":")) + "\n" for i in range(20000)]
    citing = sum(1 for line in pool if "container_file_citation" in line)
    written = lines = 0
    with open(os.path.join(args.out, "big.jsonl"), "w") as f:
        while written < target:
            line = pool[rng.randrange(len(pool))]
            f.write(line)
            written += len(line)
            lines += 1
    small = os.path.join(args.out, "small")
    for i in range(args.small):
        d = os.path.join(small, f"{i // 500:03d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"run-{i:05d}.jsonl"), "w") as f:
            f.write(json.dumps(response(rng, 1760000000 + i, i % 200 == 0), separators=(",", ":")) + "\n")
    print(json.dumps({"big_bytes": written, "big_lines": lines, "pool_citing_fraction": citing / len(pool), "small_files": args.small}))

if __name__ == "__main__":
    main()
