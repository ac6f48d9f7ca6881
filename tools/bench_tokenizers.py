#!/usr/bin/env python3
"""Single-thread encode throughput of r1 and of the PyPI `tokenizers` package (Hugging Face's Rust tokenizer),
side by side, on the same texts and vocabularies as bench/tokenizer_bench.cc:

  vocabularies  r1_qwen      R1-Distill-Qwen: Qwen2 vocab + merges + R1 added tokens, NFC, Qwen2 split
                             (built as tests/fixtures/tokenizers/vectors/make_hf_vectors.py builds it)
                deepseek_v3  DeepSeek-V3/R1 tokenizer.json
  texts         gsm8k        first 500 GSM8K test problems + solutions (tests/fixtures/tokenizers/bench/)
                conformance  the 5,000 strings of tests/fixtures/tokenizers/conformance/deepseek-v3.jsonl
  modes         docs         encode() once per document, one call at a time (no encode_batch)
                whole        encode() of all documents joined by blank lines

`tokenizers` runs with RAYON_NUM_THREADS=1 and TOKENIZERS_PARALLELISM=false; both sides encode without
special tokens and report MB/s of UTF-8 input (MB = 10^6 bytes), best of several rounds after a warm-up round
(so both word caches are warm). r1's figures come from build/r1_bench (Google Benchmark, bytes_per_second).

Usage: pip install tokenizers==0.23.3; cmake --build build --target r1_bench;
       python3 tools/bench_tokenizers.py [--r1-bench build/r1_bench] [--rounds 5]
"""
import os

os.environ["RAYON_NUM_THREADS"] = "1"  # before tokenizers starts its thread pool
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import tokenizers  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures", "tokenizers")


def documents(text):
    if text == "gsm8k":
        rows = [json.loads(l) for l in open(os.path.join(FIX, "bench", "gsm8k-test-first500.jsonl"), encoding="utf-8")]
        return [r["question"] + "\n" + r["answer"] for r in rows]
    rows = [json.loads(l) for l in open(os.path.join(FIX, "conformance", "deepseek-v3.jsonl"), encoding="utf-8")]
    return [r["text"] for r in rows]


def hf_tokenizers():
    spec = importlib.util.spec_from_file_location("make_hf_vectors", os.path.join(FIX, "vectors", "make_hf_vectors.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {
        "r1_qwen": module.qwen2_with_added(os.path.join(FIX, "deepseek-r1-distill-qwen", "tokenizer_config.json")),
        "deepseek_v3": Tokenizer.from_file(os.path.join(FIX, "deepseek-v3", "tokenizer.json")),
    }


def best_rate(fn, n_bytes, rounds):
    fn()  # warm-up: fills the word cache, as r1_bench's first iterations do
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n_bytes / best / 1e6


def measure_hf(rounds):
    results = {}
    for vocab, tok in hf_tokenizers().items():
        for text in ("gsm8k", "conformance"):
            docs = documents(text)
            whole = "".join(d + "\n\n" for d in docs)
            n_docs = sum(len(d.encode("utf-8")) for d in docs)

            def per_doc():
                for d in docs:
                    tok.encode(d, add_special_tokens=False)

            results[(vocab, text, "docs")] = best_rate(per_doc, n_docs, rounds)
            results[(vocab, text, "whole")] = best_rate(
                lambda: tok.encode(whole, add_special_tokens=False), len(whole.encode("utf-8")), rounds)
    return results


def measure_r1(binary):
    out = subprocess.run([binary, "--benchmark_filter=BM_TokenizerEncode", "--benchmark_format=json",
                          "--benchmark_min_time=1"], check=True, capture_output=True, text=True).stdout
    results = {}
    for b in json.loads(out)["benchmarks"]:
        # BM_TokenizerEncodeDocs/r1_qwen/gsm8k
        kind, vocab, text = b["name"].split("/")[:3]
        mode = "docs" if kind.endswith("Docs") else "whole"
        results[(vocab, text, mode)] = b["bytes_per_second"] / 1e6
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--r1-bench", default=os.path.join(ROOT, "build", "r1_bench"))
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    r1 = measure_r1(args.r1_bench)
    hf = measure_hf(args.rounds)
    print(f"single-thread encode, MB/s of UTF-8 input (tokenizers {tokenizers.__version__}, RAYON_NUM_THREADS=1)")
    print(f"{'vocabulary':<12} {'text':<12} {'mode':<6} {'r1':>8} {'tokenizers':>11} {'r1/hf':>6}")
    for key in sorted(hf):
        vocab, text, mode = key
        a, b = r1.get(key, float("nan")), hf[key]
        print(f"{vocab:<12} {text:<12} {mode:<6} {a:8.1f} {b:11.1f} {a / b:6.2f}")


if __name__ == "__main__":
    main()
