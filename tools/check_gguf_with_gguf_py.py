#!/usr/bin/env python3
"""Opens a GGUF file with PyPI gguf's GGUFReader (llama.cpp's gguf-py, independent of r1's reader) and checks it:
prints the architecture, metadata and tensor counts, tensors per type, and verifies every tensor's byte size
against its shape and type (gguf.GGML_QUANT_SIZES), that data offsets are aligned and that tensors do not
overlap. Exits 1 on any problem.

Usage: python3 tools/check_gguf_with_gguf_py.py FILE.gguf   (pip install gguf)
"""
import collections
import sys

import numpy as np
import gguf


def field_value(field):
    """A scalar or string metadata value, or None for arrays."""
    if len(field.types) != 1:
        return None
    t = field.types[0]
    part = field.parts[field.data[0]]
    if t == gguf.GGUFValueType.STRING:
        return bytes(part).decode("utf-8", errors="replace")
    return part.tolist()[0] if hasattr(part, "tolist") else part


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    path = sys.argv[1]
    r = gguf.GGUFReader(path)
    problems = []
    arch = r.fields.get("general.architecture")
    print(f"file: {path}")
    print(f"architecture: {field_value(arch) if arch else '(missing)'}")
    if arch is None:
        problems.append("general.architecture missing")
    alignment = r.alignment
    print(f"metadata keys: {len(r.fields)}, tensors: {len(r.tensors)}, alignment: {alignment}")
    for key in ("tokenizer.ggml.model", "tokenizer.ggml.pre"):
        if key in r.fields:
            print(f"{key}: {field_value(r.fields[key])}")
    if "tokenizer.ggml.tokens" in r.fields:
        print(f"tokenizer.ggml.tokens: {len(r.fields['tokenizer.ggml.tokens'].data)} tokens")
    hparams = {k: field_value(f) for k, f in r.fields.items() if arch and k.startswith(str(field_value(arch)) + ".")}
    for k, v in sorted(hparams.items()):
        print(f"  {k} = {v}")

    per_type = collections.Counter()
    bytes_per_type = collections.Counter()
    spans = []
    weights = 0
    for t in r.tensors:
        qtype = gguf.GGMLQuantizationType(t.tensor_type)
        block, type_size = gguf.GGML_QUANT_SIZES[qtype]
        shape = [int(d) for d in t.shape]  # ggml order
        n = int(np.prod(shape)) if shape else 1
        if shape and shape[0] % block != 0:
            problems.append(f"{t.name}: dim 0 ({shape[0]}) not a multiple of the {qtype.name} block {block}")
            continue
        expected = n // block * type_size
        if int(t.n_bytes) != expected or t.data.nbytes != expected:
            problems.append(f"{t.name}: {t.n_bytes} bytes (data {t.data.nbytes}), expected {expected}")
        if t.data_offset % alignment != 0:
            problems.append(f"{t.name}: data offset {t.data_offset} not aligned to {alignment}")
        spans.append((int(t.data_offset), int(t.data_offset) + expected, t.name))
        per_type[qtype.name] += 1
        bytes_per_type[qtype.name] += expected
        weights += n
    spans.sort()
    for (s0, e0, n0), (s1, e1, n1) in zip(spans, spans[1:]):
        if s1 < e0:
            problems.append(f"tensors {n0} and {n1} overlap")
    print("tensors per type:")
    for name in sorted(per_type):
        print(f"  {name:>6}: {per_type[name]:5d} tensors, {bytes_per_type[name] / 2**20:10.2f} MiB")
    total = sum(bytes_per_type.values())
    if weights:
        print(f"bits per weight: {8 * total / weights:.3f} over {weights} weights")
    for p in problems:
        print(f"PROBLEM: {p}")
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
