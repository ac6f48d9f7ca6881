#!/usr/bin/env python3
"""Writes tests/fixtures/gguf/*.gguf from the Hugging Face fixtures in tests/fixtures/models/, laid out the way
llama.cpp's convert_hf_to_gguf.py lays them out: its tensor names (gguf-py's tensor map), its hyperparameter keys,
llama's q/k rows permuted to interleaved rotary pairs, llama3 rope scaling as a `rope_freqs` tensor, DeepSeek's
routed experts stacked into one [E, out, in] tensor per layer and kv_b either whole (`attn_kv_b`) or split into
`attn_k_b` (transposed) and `attn_v_b`. This is an independent implementation of that mapping (from llama.cpp's
documented conventions), so r1's C++ loader is checked against it rather than against itself.

Usage: python3 tools/make_gguf_fixtures.py   (needs numpy and PyPI's `gguf` package)
Deterministic: rerunning writes byte-identical files.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "tests", "fixtures", "models")
DST = os.path.join(ROOT, "tests", "fixtures", "gguf")


def read_safetensors(path):
    """name -> float32 ndarray (F32, F16 and BF16 only)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = data[base + a : base + b]
        dt = info["dtype"]
        if dt == "F32":
            arr = np.frombuffer(raw, dtype="<f4")
        elif dt == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif dt == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: {name} has dtype {dt}")
        out[name] = arr.reshape(info["shape"]).astype(np.float32)
    return out


def permute_llama(w, n_head):
    """llama.cpp's LlamaModel.permute: per head, rows [half0 | half1] -> interleaved pairs."""
    shape = w.shape
    return w.reshape(n_head, 2, shape[0] // n_head // 2, *shape[1:]).swapaxes(1, 2).reshape(shape)


def llama3_rope_factors(cfg, dim):
    rs = cfg["rope_scaling"]
    base = cfg.get("rope_theta", 10000.0)
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs["original_max_position_embeddings"]
    freqs = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float32) / dim))
    low_wl, high_wl = old / lo, old / hi
    out = []
    for f in freqs:
        wl = 2 * math.pi / f
        if wl < high_wl:
            out.append(1.0)
        elif wl > low_wl:
            out.append(factor)
        else:
            smooth = (old / wl - lo) / (hi - lo)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


class Out:
    """Collects (gguf name, f32 array, is_vector_like) then writes F32 or Q8_0."""

    def __init__(self):
        self.tensors = []

    def add(self, name, arr, keep_f32=False):
        self.tensors.append((name, np.ascontiguousarray(arr, dtype=np.float32), keep_f32))


def write(path, arch, meta, out, qtype):
    w = gguf.GGUFWriter(path, arch)
    w.add_name(os.path.basename(path).rsplit(".", 1)[0])
    w.add_file_type(gguf.LlamaFileType.ALL_F32 if qtype == "f32" else gguf.LlamaFileType.MOSTLY_Q8_0)
    for fn, args in meta:
        getattr(w, fn)(*args)
    if qtype != "f32":
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    for name, arr, keep in out.tensors:
        # llama.cpp keeps 1-D tensors (norms, biases) and the MoE router in F32.
        if qtype == "q8_0" and not keep and arr.ndim >= 2 and arr.shape[-1] % 32 == 0:
            w.add_tensor(name, gguf.quants.quantize(arr, Q.Q8_0), raw_dtype=Q.Q8_0)
        else:
            w.add_tensor(name, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def dense(folder, arch):
    cfg = json.load(open(os.path.join(SRC, folder, "config.json")))
    t = read_safetensors(os.path.join(SRC, folder, "model.safetensors"))
    H, KV = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    hd = cfg.get("head_dim", cfg["hidden_size"] // H)
    meta = [
        ("add_vocab_size", (cfg["vocab_size"],)),
        ("add_context_length", (cfg["max_position_embeddings"],)),
        ("add_embedding_length", (cfg["hidden_size"],)),
        ("add_block_count", (cfg["num_hidden_layers"],)),
        ("add_feed_forward_length", (cfg["intermediate_size"],)),
        ("add_head_count", (H,)),
        ("add_head_count_kv", (KV,)),
        ("add_layer_norm_rms_eps", (cfg["rms_norm_eps"],)),
        ("add_rope_freq_base", (cfg["rope_theta"],)),
        ("add_rope_dimension_count", (hd,)),
    ]
    o = Out()
    o.add("token_embd.weight", t["model.embed_tokens.weight"])
    rs = cfg.get("rope_scaling")
    if arch == "llama" and rs and rs.get("rope_type") == "llama3":
        o.add("rope_freqs.weight", llama3_rope_factors(cfg, hd), keep_f32=True)
    for l in range(cfg["num_hidden_layers"]):
        p, b = f"model.layers.{l}.", f"blk.{l}."
        o.add(b + "attn_norm.weight", t[p + "input_layernorm.weight"])
        for hf, g, heads in (("q_proj", "attn_q", H), ("k_proj", "attn_k", KV), ("v_proj", "attn_v", 0)):
            for kind in ("weight", "bias"):
                name = p + f"self_attn.{hf}.{kind}"
                if name in t:
                    x = t[name]
                    if arch == "llama" and heads:
                        x = permute_llama(x, heads)
                    o.add(f"{b}{g}.{kind}", x)
        o.add(b + "attn_output.weight", t[p + "self_attn.o_proj.weight"])
        o.add(b + "ffn_norm.weight", t[p + "post_attention_layernorm.weight"])
        o.add(b + "ffn_gate.weight", t[p + "mlp.gate_proj.weight"])
        o.add(b + "ffn_up.weight", t[p + "mlp.up_proj.weight"])
        o.add(b + "ffn_down.weight", t[p + "mlp.down_proj.weight"])
    o.add("output_norm.weight", t["model.norm.weight"])
    if "lm_head.weight" in t and not cfg.get("tie_word_embeddings", False):
        o.add("output.weight", t["lm_head.weight"])
    return meta, o


def deepseek(folder, split_kv_b):
    cfg = json.load(open(os.path.join(SRC, folder, "config.json")))
    t = read_safetensors(os.path.join(SRC, folder, "model.safetensors"))
    H = cfg["num_attention_heads"]
    nope, rope, vh = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
    kvr = cfg["kv_lora_rank"]
    rs = cfg["rope_scaling"]
    sigmoid = cfg.get("scoring_func", "softmax") == "sigmoid"
    meta = [
        ("add_vocab_size", (cfg["vocab_size"],)),
        ("add_context_length", (cfg["max_position_embeddings"],)),
        ("add_embedding_length", (cfg["hidden_size"],)),
        ("add_block_count", (cfg["num_hidden_layers"],)),
        ("add_feed_forward_length", (cfg["intermediate_size"],)),
        ("add_head_count", (H,)),
        ("add_head_count_kv", (H,)),
        ("add_layer_norm_rms_eps", (cfg["rms_norm_eps"],)),
        ("add_rope_freq_base", (cfg["rope_theta"],)),
        ("add_rope_dimension_count", (rope,)),
        ("add_leading_dense_block_count", (cfg["first_k_dense_replace"],)),
        ("add_kv_lora_rank", (kvr,)),
        ("add_expert_feed_forward_length", (cfg["moe_intermediate_size"],)),
        ("add_expert_count", (cfg["n_routed_experts"],)),
        ("add_expert_shared_count", (cfg["n_shared_experts"],)),
        ("add_expert_used_count", (cfg["num_experts_per_tok"],)),
        ("add_expert_weights_scale", (cfg["routed_scaling_factor"],)),
        ("add_expert_weights_norm", (cfg["norm_topk_prob"],)),
        ("add_expert_gating_func", (gguf.ExpertGatingFuncType.SIGMOID if sigmoid else gguf.ExpertGatingFuncType.SOFTMAX,)),
        ("add_expert_group_count", (cfg.get("n_group", 1),)),
        ("add_expert_group_used_count", (cfg.get("topk_group", 1),)),
        ("add_rope_scaling_type", (gguf.RopeScalingType.YARN,)),
        ("add_rope_scaling_factor", (rs["factor"],)),
        ("add_rope_scaling_orig_ctx_len", (rs["original_max_position_embeddings"],)),
        ("add_rope_scaling_yarn_log_mul", (0.1 * rs["mscale_all_dim"],)),
    ]
    if cfg.get("q_lora_rank"):
        meta.append(("add_q_lora_rank", (cfg["q_lora_rank"],)))
    if split_kv_b:
        # The newer converter: MQA-style key/value lengths plus the per-head ones.
        meta += [("add_key_length", (kvr + rope,)), ("add_value_length", (kvr,)),
                 ("add_key_length_mla", (nope + rope,)), ("add_value_length_mla", (vh,))]
    else:
        meta += [("add_key_length", (nope + rope,)), ("add_value_length", (vh,))]
    o = Out()
    o.add("token_embd.weight", t["model.embed_tokens.weight"])
    E = cfg["n_routed_experts"]
    for l in range(cfg["num_hidden_layers"]):  # MTP layers (beyond) are not converted
        p, b = f"model.layers.{l}.", f"blk.{l}."
        a = p + "self_attn."
        o.add(b + "attn_norm.weight", t[p + "input_layernorm.weight"])
        if cfg.get("q_lora_rank"):
            o.add(b + "attn_q_a.weight", t[a + "q_a_proj.weight"])
            o.add(b + "attn_q_a_norm.weight", t[a + "q_a_layernorm.weight"])
            o.add(b + "attn_q_b.weight", t[a + "q_b_proj.weight"])
        else:
            o.add(b + "attn_q.weight", t[a + "q_proj.weight"])
        o.add(b + "attn_kv_a_mqa.weight", t[a + "kv_a_proj_with_mqa.weight"])
        o.add(b + "attn_kv_a_norm.weight", t[a + "kv_a_layernorm.weight"])
        kv_b = t[a + "kv_b_proj.weight"]
        if split_kv_b:
            per_head = kv_b.reshape(H, nope + vh, kvr)
            o.add(b + "attn_k_b.weight", per_head[:, :nope, :].transpose(0, 2, 1))  # [H, kvr, nope]
            o.add(b + "attn_v_b.weight", per_head[:, nope:, :])  # [H, vh, kvr]
        else:
            o.add(b + "attn_kv_b.weight", kv_b)
        o.add(b + "attn_output.weight", t[a + "o_proj.weight"])
        o.add(b + "ffn_norm.weight", t[p + "post_attention_layernorm.weight"])
        m = p + "mlp."
        if m + "gate.weight" in t:
            o.add(b + "ffn_gate_inp.weight", t[m + "gate.weight"], keep_f32=True)
            if m + "gate.e_score_correction_bias" in t:
                o.add(b + "exp_probs_b.bias", t[m + "gate.e_score_correction_bias"])
            for hf, g in (("gate_proj", "ffn_gate_exps"), ("up_proj", "ffn_up_exps"), ("down_proj", "ffn_down_exps")):
                o.add(f"{b}{g}.weight", np.stack([t[f"{m}experts.{e}.{hf}.weight"] for e in range(E)]))
            if m + "shared_experts.gate_proj.weight" in t:
                for hf, g in (("gate_proj", "ffn_gate_shexp"), ("up_proj", "ffn_up_shexp"), ("down_proj", "ffn_down_shexp")):
                    o.add(f"{b}{g}.weight", t[f"{m}shared_experts.{hf}.weight"])
        else:
            o.add(b + "ffn_gate.weight", t[m + "gate_proj.weight"])
            o.add(b + "ffn_up.weight", t[m + "up_proj.weight"])
            o.add(b + "ffn_down.weight", t[m + "down_proj.weight"])
    o.add("output_norm.weight", t["model.norm.weight"])
    o.add("output.weight", t["lm_head.weight"])
    return meta, o


def main():
    os.makedirs(DST, exist_ok=True)
    jobs = [
        ("qwen2_gqa4", "qwen2", lambda: dense("qwen2_gqa4", "qwen2"), ("f32", "q8_0")),
        ("llama_llama3rope", "llama", lambda: dense("llama_llama3rope", "llama"), ("f32", "q8_0")),
        ("deepseek_v2_lite", "deepseek2", lambda: deepseek("deepseek_v2_lite", False), ("f32", "q8_0")),
        ("deepseek_v3", "deepseek2", lambda: deepseek("deepseek_v3", False), ("f32", "q8_0")),
        ("deepseek_v2_lite_split_kv", "deepseek2", lambda: deepseek("deepseek_v2_lite", True), ("f32",)),
    ]
    for name, arch, build, types in jobs:
        meta, o = build()
        for q in types:
            path = os.path.join(DST, f"{name}.{q}.gguf")
            write(path, arch, meta, o, q)
            print(path, os.path.getsize(path))


if __name__ == "__main__":
    sys.exit(main())
