#!/usr/bin/env python3
"""Writes tests/fixtures/quant/: reference bytes and floats for r1's GGUF block formats, made with PyPI's `gguf`
package (llama.cpp's gguf-py), an implementation independent of r1's kernels/quant.cc.

  quant.json  one entry per case: name, type (GGUF spelling), ggml_type id, n (elements per row), rows, and byte
              ranges [offset, size] into quant.bin of
                input    float32 rows that were quantized (absent for random-block cases)
                blocks   the quantized bytes (gguf.quants.quantize for Q8_0/Q4_0; random valid blocks for
                         Q4_K/Q6_K, which gguf-py cannot quantize, and extra random blocks for Q8_0/Q4_0)
                dequant  gguf.quants.dequantize(blocks) as float32
  quant.bin   the concatenated little-endian data.

Usage: python3 tools/gen_quant_fixtures.py [--out tests/fixtures/quant]   (pip install gguf numpy)
"""
import argparse
import json
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import quants


def special_rows(rng, n):
    """Rows that stress the rounding and scale choice: zeros, one outlier, negative-heavy, exact ties."""
    rows = [
        np.zeros(n, np.float32),
        rng.standard_normal(n).astype(np.float32),
        (rng.standard_normal(n) * 1e-3).astype(np.float32),
        (rng.standard_normal(n) * 300).astype(np.float32),
    ]
    outlier = rng.standard_normal(n).astype(np.float32)
    outlier[n // 3] = 1000.0
    rows.append(outlier)
    neg = -np.abs(rng.standard_normal(n)).astype(np.float32)  # largest magnitude is negative
    neg[5] = -7.5
    rows.append(neg)
    pos_heavy = np.abs(rng.standard_normal(n)).astype(np.float32)
    pos_heavy[::7] *= -0.1
    rows.append(pos_heavy)
    # Values on multiples of half a quantization step: rounding of exact halves.
    ties = (rng.integers(-16, 17, n) * 0.5).astype(np.float32)
    ties[0] = 8.0
    rows.append(ties)
    sparse = np.where(rng.random(n) < 0.8, 0.0, rng.standard_normal(n)).astype(np.float32)
    rows.append(sparse)
    tiny = np.full(n, 1e-30, np.float32)
    rows.append(tiny)
    return np.stack(rows)


def random_f16(rng, count, lo, hi):
    return rng.uniform(lo, hi, count).astype(np.float16).view(np.uint8).reshape(count, 2)


def random_q8_0_blocks(rng, nb):
    d = random_f16(rng, nb, -0.05, 0.05)
    qs = rng.integers(-128, 128, (nb, 32)).astype(np.int8).view(np.uint8)
    return np.concatenate([d, qs], axis=1)


def random_q4_0_blocks(rng, nb):
    d = random_f16(rng, nb, -0.1, 0.1)
    qs = rng.integers(0, 256, (nb, 16)).astype(np.uint8)
    return np.concatenate([d, qs], axis=1)


def random_q4_k_blocks(rng, nb):
    d = random_f16(rng, nb, 0.0, 0.02)
    dmin = random_f16(rng, nb, 0.0, 0.02)
    scales = rng.integers(0, 256, (nb, 12)).astype(np.uint8)
    qs = rng.integers(0, 256, (nb, 128)).astype(np.uint8)
    return np.concatenate([d, dmin, scales, qs], axis=1)


def random_q6_k_blocks(rng, nb):
    ql = rng.integers(0, 256, (nb, 128)).astype(np.uint8)
    qh = rng.integers(0, 256, (nb, 64)).astype(np.uint8)
    scales = rng.integers(-128, 128, (nb, 16)).astype(np.int8).view(np.uint8)
    d = random_f16(rng, nb, -0.01, 0.01)
    return np.concatenate([ql, qh, scales, d], axis=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "quant"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(20260128)
    blob = bytearray()
    cases = []

    def put(arr):
        b = np.ascontiguousarray(arr).tobytes()
        off = len(blob)
        blob.extend(b)
        return [off, len(b)]

    def add(name, qtype, rows_blocks, n, rows, inputs=None):
        blocks = np.ascontiguousarray(rows_blocks, dtype=np.uint8).reshape(rows, -1)
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        assert blocks.shape[1] == n // block_size * type_size
        deq = quants.dequantize(blocks, qtype).astype(np.float32)
        assert deq.shape == (rows, n) and np.all(np.isfinite(deq))
        case = {"name": name, "type": qtype.name, "ggml_type": int(qtype.value), "n": n, "rows": rows}
        if inputs is not None:
            case["input"] = put(inputs.astype("<f4"))
        case["blocks"] = put(blocks)
        case["dequant"] = put(deq.astype("<f4"))
        cases.append(case)

    # Quantized by gguf-py from float rows (byte-exact with ggml's reference quantizers).
    for qtype in (T.Q8_0, T.Q4_0):
        x = special_rows(rng, 64)
        add(f"{qtype.name.lower()}_quantize", qtype, quants.quantize(x, qtype), 64, x.shape[0], inputs=x)
    # Random valid blocks for every type, dequantized by gguf-py.
    add("q8_0_random", T.Q8_0, random_q8_0_blocks(rng, 8), 128, 2)
    add("q4_0_random", T.Q4_0, random_q4_0_blocks(rng, 8), 128, 2)
    add("q4_k_random", T.Q4_K, random_q4_k_blocks(rng, 8), 512, 4)
    add("q6_k_random", T.Q6_K, random_q6_k_blocks(rng, 8), 512, 4)

    with open(os.path.join(args.out, "quant.bin"), "wb") as f:
        f.write(bytes(blob))
    meta = {
        "generator": "tools/gen_quant_fixtures.py",
        "gguf_version": getattr(gguf, "__version__", None) or _dist_version(),
        "numpy_version": np.__version__,
        "cases": cases,
    }
    with open(os.path.join(args.out, "quant.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases, {len(blob)} bytes to {args.out}")


def _dist_version():
    try:
        from importlib.metadata import version
        return version("gguf")
    except Exception:  # noqa: BLE001
        return "unknown"


if __name__ == "__main__":
    main()
