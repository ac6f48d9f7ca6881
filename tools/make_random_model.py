#!/usr/bin/env python3
"""Write a random-weight Hugging Face model folder for a real config (qwen2 / llama), for speed measurements.

Only numpy is needed. Tensors are produced and written one at a time in chunks, so memory stays bounded (a few
hundred MB) whatever the model size. The output has the tensor names and shapes transformers uses for
Qwen2ForCausalLM / LlamaForCausalLM, config.json (a copy of the input with torch_dtype set to --dtype), and
either one model.safetensors or, when the total is over --max-shard-size, HF-style shards
model-0000K-of-0000N.safetensors plus model.safetensors.index.json. Files that sit next to the input config
(generation_config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json, vocab.json, merges.txt)
are copied too.

Values: the weights are not Gaussian. Random bits are drawn cheaply (numpy's SFC64 raw output) and masked so each
value has a random sign, a random mantissa and one of 4 exponents: |w| in [2^-7, 2^-3), i.e. about 0.008 to 0.125
— no NaN, Inf or subnormal values, which would distort timings. RMSNorm gains are 1.0. The model is therefore
meaningless; use it for throughput and memory, never for quality. Deterministic for a given --seed.

Examples:
  python3 tools/make_random_model.py \\
      --config /work/shared/data/configs/deepseek-r1-distill-qwen-1.5b-resaved/config.json \\
      --dtype bf16 --out /tmp/qwen1.5b
  python3 tools/make_random_model.py --config cfg.json --dtype f16 --out /tmp/m --max-shard-size 2GB
  python3 tools/make_random_model.py --config cfg.json --layers 2 --out /tmp/small   # fewer layers
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402

# dtype name → (safetensors tag, unsigned holder, keep-mask, or-bits, bits of 1.0)
# Keep: sign, the 2 lowest exponent bits, the mantissa. Or: exponent field with those 2 bits clear, chosen so
# the exponents cover 2^-7 .. 2^-4.
DTYPES = {
    "bf16": ("BF16", np.uint16, 0x81FF, 120 << 7, 0x3F80),
    "f16": ("F16", np.uint16, 0x8FFF, 8 << 10, 0x3C00),
    "f32": ("F32", np.uint32, 0x81FFFFFF, 120 << 23, 0x3F800000),
}
DTYPE_NAMES = {"bf16": "bfloat16", "f16": "float16", "f32": "float32"}
ALIASES = {"bfloat16": "bf16", "float16": "f16", "fp16": "f16", "half": "f16", "float32": "f32", "fp32": "f32",
           "float": "f32"}
CHUNK = 16 << 20  # elements per random draw
SIDE_FILES = ["generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
              "vocab.json", "merges.txt"]


def deepseek_specs(cfg: dict):
    """(name, shape, kind) of a deepseek_v2 / deepseek_v3 checkpoint in DeepSeek's own layout (per-expert tensors).
    MTP layers (num_nextn_predict_layers) are left out: r1 loads them but they do not run in decoding."""
    h, n_heads, vocab = cfg["hidden_size"], cfg["num_attention_heads"], cfg["vocab_size"]
    q_lora, kv_lora = cfg.get("q_lora_rank"), cfg["kv_lora_rank"]
    nope, rope, v = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
    n_experts = cfg.get("n_routed_experts") or 0
    n_shared = cfg.get("n_shared_experts") or 0
    moe_inter = cfg.get("moe_intermediate_size") or 0
    first_dense, freq = cfg.get("first_k_dense_replace", 0), cfg.get("moe_layer_freq", 1)
    noaux = cfg.get("topk_method", "noaux_tc" if cfg["model_type"] == "deepseek_v3" else "greedy") == "noaux_tc"
    specs = [("model.embed_tokens.weight", (vocab, h), "weight")]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = p + "self_attn."
        if q_lora:
            specs += [(a + "q_a_proj.weight", (q_lora, h), "weight"), (a + "q_a_layernorm.weight", (q_lora,), "norm"),
                      (a + "q_b_proj.weight", (n_heads * (nope + rope), q_lora), "weight")]
        else:
            specs.append((a + "q_proj.weight", (n_heads * (nope + rope), h), "weight"))
        specs += [(a + "kv_a_proj_with_mqa.weight", (kv_lora + rope, h), "weight"),
                  (a + "kv_a_layernorm.weight", (kv_lora,), "norm"),
                  (a + "kv_b_proj.weight", (n_heads * (nope + v), kv_lora), "weight"),
                  (a + "o_proj.weight", (h, n_heads * v), "weight")]

        def mlp(prefix, inter):
            return [(prefix + "gate_proj.weight", (inter, h), "weight"), (prefix + "up_proj.weight", (inter, h), "weight"),
                    (prefix + "down_proj.weight", (h, inter), "weight")]
        if n_experts and i >= first_dense and i % freq == 0:
            specs.append((p + "mlp.gate.weight", (n_experts, h), "weight"))
            if noaux:
                specs.append((p + "mlp.gate.e_score_correction_bias", (n_experts,), "bias"))
            for e in range(n_experts):
                specs += mlp(f"{p}mlp.experts.{e}.", moe_inter)
            if n_shared:
                specs += mlp(p + "mlp.shared_experts.", n_shared * moe_inter)
        else:
            specs += mlp(p + "mlp.", cfg["intermediate_size"])
        specs += [(p + "input_layernorm.weight", (h,), "norm"), (p + "post_attention_layernorm.weight", (h,), "norm")]
    specs.append(("model.norm.weight", (h,), "norm"))
    if not cfg.get("tie_word_embeddings", False):
        specs.append(("lm_head.weight", (vocab, h), "weight"))
    return specs


def tensor_specs(cfg: dict):
    """(name, shape, kind) in transformers' state_dict order; kind is 'norm', 'bias' or 'weight'."""
    mt = cfg.get("model_type")
    if mt in ("deepseek_v2", "deepseek_v3"):
        return deepseek_specs(cfg)
    if mt not in ("qwen2", "llama"):
        raise SystemExit(f"model_type {mt!r} is not supported (qwen2, llama, deepseek_v2, deepseek_v3)")
    h = cfg["hidden_size"]
    n_heads = cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads") or n_heads
    hd = cfg.get("head_dim") or h // n_heads
    inter = cfg["intermediate_size"]
    vocab = cfg["vocab_size"]
    qkv_bias = mt == "qwen2" or bool(cfg.get("attention_bias"))
    o_bias = mt == "llama" and bool(cfg.get("attention_bias"))
    mlp_bias = mt == "llama" and bool(cfg.get("mlp_bias"))

    specs = [("model.embed_tokens.weight", (vocab, h), "weight")]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        for proj, rows in (("q_proj", n_heads * hd), ("k_proj", n_kv * hd), ("v_proj", n_kv * hd)):
            specs.append((f"{p}self_attn.{proj}.weight", (rows, h), "weight"))
            if qkv_bias:
                specs.append((f"{p}self_attn.{proj}.bias", (rows,), "bias"))
        specs.append((f"{p}self_attn.o_proj.weight", (h, n_heads * hd), "weight"))
        if o_bias:
            specs.append((f"{p}self_attn.o_proj.bias", (h,), "bias"))
        for proj, shape in (("gate_proj", (inter, h)), ("up_proj", (inter, h)), ("down_proj", (h, inter))):
            specs.append((f"{p}mlp.{proj}.weight", shape, "weight"))
            if mlp_bias:
                specs.append((f"{p}mlp.{proj}.bias", (shape[0],), "bias"))
        specs.append((f"{p}input_layernorm.weight", (h,), "norm"))
        specs.append((f"{p}post_attention_layernorm.weight", (h,), "norm"))
    specs.append(("model.norm.weight", (h,), "norm"))
    if not cfg.get("tie_word_embeddings", False):
        specs.append(("lm_head.weight", (vocab, h), "weight"))
    return specs


def parse_size(s: str) -> int:
    m = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?i?B?)?\s*", s, re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {s!r} (e.g. 5GB, 500MB, 2GiB)")
    unit = (m.group(2) or "").upper().rstrip("B")
    base = 1024 if unit.endswith("I") else 1000
    power = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4}[unit.rstrip("I")]
    return int(float(m.group(1)) * base ** power)


def plan_shards(specs, itemsize, max_bytes):
    """Greedy split in order, as save_pretrained does; a tensor larger than the limit gets a shard of its own."""
    shards, cur, cur_bytes = [], [], 0
    for spec in specs:
        n = itemsize * int(np.prod(spec[1]))
        if cur and cur_bytes + n > max_bytes:
            shards.append(cur)
            cur, cur_bytes = [], 0
        cur.append(spec)
        cur_bytes += n
    if cur:
        shards.append(cur)
    return shards


class RandomBits:
    def __init__(self, dtype: str, seed: int):
        _, self.holder, keep, base, one = DTYPES[dtype]
        self.keep = self.holder(keep)
        self.base = self.holder(base)
        self.one = self.holder(one)
        self.gen = np.random.SFC64(seed)
        self.per_raw = 8 // np.dtype(self.holder).itemsize  # holders per 64-bit draw

    def chunks(self, n: int, kind: str):
        """Yields flat holder arrays totalling n elements."""
        done = 0
        while done < n:
            m = min(CHUNK, n - done)
            if kind == "norm":
                yield np.full(m, self.one, dtype=self.holder)
            else:
                raw = self.gen.random_raw(-(-m // self.per_raw)).view(self.holder)[:m]
                raw &= self.keep
                raw |= self.base
                yield raw
            done += m


def write_shard(path, specs, dtype, bits: RandomBits):
    tag = DTYPES[dtype][0]
    entries = [(name, tag, shape) for name, shape, _ in specs]
    with safetensors_np.StreamWriter(path, entries) as w:
        for name, shape, kind in specs:
            n = int(np.prod(shape))
            if n <= CHUNK:
                w.write(name, next(bits.chunks(n, kind)).reshape(shape))
            else:
                w.write_chunks(name, bits.chunks(n, kind))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--config", required=True, help="HF config.json (qwen2, llama, deepseek_v2, deepseek_v3)")
    ap.add_argument("--out", required=True, help="output folder (created; existing model files are replaced)")
    ap.add_argument("--dtype", default="bf16", help="bf16 (default), f16 or f32")
    ap.add_argument("--max-shard-size", type=parse_size, default=parse_size("5GB"),
                    help="shard when the weights exceed this (default 5GB, as save_pretrained)")
    ap.add_argument("--layers", type=int, help="override num_hidden_layers (smaller test models)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    dtype = ALIASES.get(args.dtype.lower(), args.dtype.lower())
    if dtype not in DTYPES:
        ap.error(f"--dtype must be one of bf16, f16, f32 (got {args.dtype})")

    with open(args.config, encoding="utf-8") as f:
        cfg = json.load(f)
    if args.layers is not None:
        cfg["num_hidden_layers"] = args.layers
        if isinstance(cfg.get("layer_types"), list):
            cfg["layer_types"] = cfg["layer_types"][:args.layers]
        if "max_window_layers" in cfg:
            cfg["max_window_layers"] = min(cfg["max_window_layers"], args.layers)
    cfg["torch_dtype"] = DTYPE_NAMES[dtype]
    cfg.pop("quantization_config", None)  # the random weights are plain floats, never FP8
    cfg["num_nextn_predict_layers"] = 0 if "num_nextn_predict_layers" in cfg else cfg.get("num_nextn_predict_layers")
    if cfg["num_nextn_predict_layers"] is None:
        del cfg["num_nextn_predict_layers"]
    cfg.pop("dtype", None)  # transformers 5's name for the same field

    specs = tensor_specs(cfg)
    itemsize = np.dtype(DTYPES[dtype][1]).itemsize
    total = sum(itemsize * int(np.prod(s)) for _, s, _ in specs)
    n_params = total // itemsize
    os.makedirs(args.out, exist_ok=True)
    for old in os.listdir(args.out):
        if re.fullmatch(r"model(-\d{5}-of-\d{5})?\.safetensors(\.index\.json)?", old):
            os.remove(os.path.join(args.out, old))

    t0 = time.time()
    bits = RandomBits(dtype, args.seed)
    shards = plan_shards(specs, itemsize, args.max_shard_size)
    if len(shards) == 1:
        write_shard(os.path.join(args.out, "model.safetensors"), specs, dtype, bits)
        files = ["model.safetensors"]
    else:
        files = [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))]
        weight_map = {}
        for fname, shard in zip(files, shards):
            write_shard(os.path.join(args.out, fname), shard, dtype, bits)
            weight_map.update({name: fname for name, _, _ in shard})
        index = {"metadata": {"total_size": total, "total_parameters": n_params}, "weight_map": weight_map}
        with open(os.path.join(args.out, "model.safetensors.index.json"), "w", encoding="utf-8") as f:
            json.dump(index, f, indent=2)
            f.write("\n")
    with open(os.path.join(args.out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
        f.write("\n")
    src = os.path.dirname(os.path.abspath(args.config))
    copied = [n for n in SIDE_FILES if os.path.isfile(os.path.join(src, n))]
    for n in copied:
        shutil.copyfile(os.path.join(src, n), os.path.join(args.out, n))
    dt = time.time() - t0
    print(f"wrote {args.out}: {cfg['model_type']}, {len(specs)} tensors, {n_params:,} params, "
          f"{total / 1e9:.2f} GB {dtype} in {len(files)} file(s), {dt:.1f}s ({total / 1e6 / max(dt, 1e-9):.0f} MB/s)"
          + (f"; copied {', '.join(copied)}" if copied else ""))


if __name__ == "__main__":
    main()
