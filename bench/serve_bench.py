#!/usr/bin/env python3
"""Serving throughput of `r1 serve`: aggregate decode tokens/s at several concurrencies, time to first token and
peak memory, on a random-weight model of DeepSeek-R1-Distill-Qwen-1.5B's shape (the weights are meaningless; the
work per token is the real model's).

Each concurrency level starts C clients at once; every client streams one /v1/completions request of
--prompt-tokens distinct words (no prefix shared between clients) and --max-tokens output tokens (ignore_eos, so
every stream runs to its length). Reported per level:
  output tok/s   all output tokens / wall time of the level (what a user of the box gets, prefill included)
  decode tok/s   sum over streams of (tokens - 1) / (last token time - first token time): the batched decode rate
  TTFT p50 / p99 seconds from sending a request to its first token
and, for the whole run, the server's peak RSS (VmHWM). Not a test: timings on a shared machine are noisy, so read
the ratios between levels, taken in one run.

Usage:
  python3 bench/serve_bench.py                     # builds the model file if missing, levels 1 4 16 64
  python3 bench/serve_bench.py --model F.gguf --levels 1,16 --max-tokens 32
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL = "/tmp/r1-bench/qwen2-1.5b-q8_0.gguf"


def ensure_model(path: str) -> None:
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    print(f"making {path} (random weights, Q8_0) ...", file=sys.stderr)
    subprocess.run([sys.executable, os.path.join(ROOT, "tools/make_bench_gguf.py"), "--shape", "qwen2-1.5b",
                    "--type", "q8_0", "--out", path], check=True)


def start_server(r1: str, model: str, parallel: int, ctx: int, threads: int | None) -> tuple[subprocess.Popen, int]:
    cmd = [r1, "serve", "-m", model, "--port", "0", "--parallel", str(parallel), "--ctx-size", str(ctx),
           "--max-queue", str(4 * parallel)]
    if threads:
        cmd += ["-t", str(threads)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 600
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"r1 serve exited ({proc.wait()})")
        m = re.search(r"listening on http://[^:]+:(\d+)", line)
        if m:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # keep draining
            return proc, int(m.group(1))
    raise RuntimeError("r1 serve did not start")


def one_stream(port: int, prompt: str, max_tokens: int, out: dict) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    body = json.dumps({"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stream": True,
                       "ignore_eos": True, "stream_options": {"include_usage": True}})
    t0 = time.perf_counter()
    conn.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        out["error"] = f"HTTP {resp.status}: {resp.read()[:200]!r}"
        return
    times = []
    tokens = 0
    for raw in resp:
        line = raw.decode().strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line[6:])
        if chunk.get("usage"):
            tokens = chunk["usage"]["completion_tokens"]
        if chunk.get("choices") and chunk["choices"][0].get("text"):
            times.append(time.perf_counter())
    conn.close()
    out.update(start=t0, first=times[0] if times else None, last=times[-1] if times else None, tokens=tokens)


def run_level(port: int, c: int, prompt_tokens: int, max_tokens: int, rng: random.Random) -> dict:
    words = ["alpha", "bravo", "delta", "echo", "golf", "hotel", "india", "kilo", "lima", "mike", "oscar", "papa"]
    results = [dict() for _ in range(c)]
    threads = []
    for i in range(c):
        prompt = " ".join(f"{rng.choice(words)}{rng.randrange(1000)}" for _ in range(prompt_tokens // 3))
        threads.append(threading.Thread(target=one_stream, args=(port, prompt, max_tokens, results[i])))
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise RuntimeError(errors[0])
    total = sum(r["tokens"] for r in results)
    decode = sum((r["tokens"] - 1) / (r["last"] - r["first"]) for r in results if r["last"] > r["first"])
    ttft = sorted(r["first"] - r["start"] for r in results)
    p99 = ttft[min(len(ttft) - 1, int(round(0.99 * (len(ttft) - 1))))]
    return {"concurrency": c, "output_tps": total / wall, "decode_tps": decode, "ttft_p50": statistics.median(ttft),
            "ttft_p99": p99, "tokens": total, "wall_s": wall}


def peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--r1", default=os.path.join(ROOT, "build/r1"))
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--levels", default="1,4,16,64")
    ap.add_argument("--prompt-tokens", type=int, default=64)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if args.model == DEFAULT_MODEL:
        ensure_model(args.model)
    levels = [int(x) for x in args.levels.split(",")]
    ctx = args.prompt_tokens * 2 + args.max_tokens + 64
    proc, port = start_server(args.r1, args.model, max(levels), ctx, args.threads)
    rows = []
    try:
        rng = random.Random(0)
        run_level(port, 1, args.prompt_tokens, 4, rng)  # warm up: page in the weights
        for c in levels:
            rows.append(run_level(port, c, args.prompt_tokens, args.max_tokens, rng))
            r = rows[-1]
            print(f"  c={c}: {r['output_tps']:.1f} output tok/s, {r['decode_tps']:.1f} decode tok/s", file=sys.stderr)
        rss = peak_rss(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    base = rows[0]["decode_tps"] if rows else 1.0
    print(f"model {args.model}, prompt {args.prompt_tokens} tokens, {args.max_tokens} output tokens per stream, "
          f"peak RSS {rss / 2**30:.2f} GiB")
    print("| concurrency | output tok/s | decode tok/s | decode vs 1 stream | TTFT p50 s | TTFT p99 s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['concurrency']} | {r['output_tps']:.1f} | {r['decode_tps']:.1f} | {r['decode_tps'] / base:.1f}x "
              f"| {r['ttft_p50']:.2f} | {r['ttft_p99']:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "peak_rss": rss}, f, indent=1)


if __name__ == "__main__":
    main()
