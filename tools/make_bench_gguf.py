#!/usr/bin/env python3
"""Random-weight GGUF files of the two benchmark shapes in issue 5, written with PyPI's `gguf` package (an
implementation independent of r1's writer), the way llama.cpp's converter lays them out:

  qwen2-1.5b   DeepSeek-R1-Distill-Qwen-1.5B shape: hidden 1536, 28 layers, 12 heads, 2 KV heads, FFN 8960,
               vocab 151936, untied
  v2lite-8l    DeepSeek-V2-Lite cut to 8 layers (deepseek2): hidden 2048, 16 heads, kv_lora_rank 512, no q LoRA,
               64 routed experts top-6, 2 shared, MoE FFN 1408, first layer dense FFN 10944, vocab 102400

Weights are normal * 0.02 (norms 1, biases 0); Linear weights and the embedding in the requested type
(q8_0 / q4_0 / f16 / f32), norms, biases and the router in F32. The tokenizer comes from the repository's fixtures
(Qwen2's vocab and merges; DeepSeek-LLM's vocabulary from llama.cpp's test vocab file), so llama.cpp can load the
files too. Files are large (1.5B Q8_0 ~ 1.9 GB): keep them out of git.

  python3 tools/make_bench_gguf.py --shape qwen2-1.5b --type q8_0 --out /tmp/bench/qwen2-1.5b-q8_0.gguf
"""
import argparse
import json
import os

import numpy as np
import gguf

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "tests", "fixtures")

TYPES = {"q8_0": gguf.GGMLQuantizationType.Q8_0, "q4_0": gguf.GGMLQuantizationType.Q4_0,
         "f16": gguf.GGMLQuantizationType.F16, "f32": gguf.GGMLQuantizationType.F32}
FILE_TYPE = {"q8_0": 7, "q4_0": 2, "f16": 1, "f32": 0}


def qwen2_tokenizer(w, vocab_size):
    d = os.path.join(FIX, "tokenizers", "qwen2")
    vocab = json.load(open(os.path.join(d, "vocab.json"), encoding="utf-8"))
    added = json.load(open(os.path.join(d, "added_tokens.json"), encoding="utf-8"))
    tokens = [None] * vocab_size
    types = [gguf.TokenType.NORMAL] * vocab_size
    for t, i in vocab.items():
        tokens[i] = t
    for t, i in added.items():
        if i < vocab_size:
            tokens[i] = t
            types[i] = gguf.TokenType.CONTROL
    for i in range(vocab_size):
        if tokens[i] is None:
            tokens[i] = f"[PAD{i}]"
            types[i] = gguf.TokenType.USER_DEFINED
    merges = [l.rstrip("\n") for l in open(os.path.join(d, "merges.txt"), encoding="utf-8")
              if l.strip() and not l.startswith("#version")]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(151643)
    w.add_eos_token_id(151643)
    w.add_add_bos_token(False)


def deepseek_tokenizer(w, vocab_size):
    r = gguf.GGUFReader(os.path.join(FIX, "tokenizers", "vectors", "ggml-vocab-deepseek-llm.gguf"))

    def strings(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    tokens = strings("tokenizer.ggml.tokens")
    f = r.fields["tokenizer.ggml.token_type"]
    types = [int(f.parts[i][0]) for i in f.data]
    assert len(tokens) == vocab_size, len(tokens)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("deepseek-llm")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(strings("tokenizer.ggml.merges"))
    w.add_bos_token_id(100000)
    w.add_eos_token_id(100001)
    w.add_add_bos_token(True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=["qwen2-1.5b", "v2lite-8l"], required=True)
    ap.add_argument("--type", choices=sorted(TYPES), required=True)
    ap.add_argument("--layers", type=int, help="override the layer count (smaller test files)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    qtype = TYPES[a.type]

    def linear(name, out, inp):
        x = (rng.standard_normal((out, inp), dtype=np.float32) * 0.02)
        if qtype in (gguf.GGMLQuantizationType.F32,):
            w.add_tensor(name, x)
        elif qtype == gguf.GGMLQuantizationType.F16:
            w.add_tensor(name, x.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(x, qtype), raw_dtype=qtype)

    def f32(name, x):
        w.add_tensor(name, np.asarray(x, dtype=np.float32))

    if a.shape == "qwen2-1.5b":
        H, L, NH, NKV, FF, V = 1536, a.layers or 28, 12, 2, 8960, 151936
        HD = H // NH
        w = gguf.GGUFWriter(a.out, "qwen2")
        w.add_name("random DeepSeek-R1-Distill-Qwen-1.5B shape")
        w.add_context_length(131072)
        w.add_embedding_length(H)
        w.add_block_count(L)
        w.add_feed_forward_length(FF)
        w.add_head_count(NH)
        w.add_head_count_kv(NKV)
        w.add_rope_freq_base(10000.0)
        w.add_layer_norm_rms_eps(1e-6)
        w.add_file_type(FILE_TYPE[a.type])
        qwen2_tokenizer(w, V)
        linear("token_embd.weight", V, H)
        for i in range(L):
            p = f"blk.{i}."
            f32(p + "attn_norm.weight", np.ones(H))
            linear(p + "attn_q.weight", NH * HD, H)
            f32(p + "attn_q.bias", np.zeros(NH * HD))
            linear(p + "attn_k.weight", NKV * HD, H)
            f32(p + "attn_k.bias", np.zeros(NKV * HD))
            linear(p + "attn_v.weight", NKV * HD, H)
            f32(p + "attn_v.bias", np.zeros(NKV * HD))
            linear(p + "attn_output.weight", H, NH * HD)
            f32(p + "ffn_norm.weight", np.ones(H))
            linear(p + "ffn_gate.weight", FF, H)
            linear(p + "ffn_up.weight", FF, H)
            linear(p + "ffn_down.weight", H, FF)
        f32("output_norm.weight", np.ones(H))
        linear("output.weight", V, H)
    else:
        H, L, NH, V = 2048, a.layers or 8, 16, 102400
        KV, NOPE, ROPE, VD, E, K, SH, MFF, FF = 512, 128, 64, 128, 64, 6, 2, 1408, 10944
        w = gguf.GGUFWriter(a.out, "deepseek2")
        w.add_name("random DeepSeek-V2-Lite shape, 8 layers")
        w.add_context_length(163840)
        w.add_embedding_length(H)
        w.add_block_count(L)
        w.add_feed_forward_length(FF)
        w.add_head_count(NH)
        w.add_head_count_kv(NH)
        w.add_rope_freq_base(10000.0)
        w.add_layer_norm_rms_eps(1e-6)
        w.add_file_type(FILE_TYPE[a.type])
        w.add_vocab_size(V)
        w.add_leading_dense_block_count(1)
        w.add_kv_lora_rank(KV)
        w.add_key_length(NOPE + ROPE)
        w.add_value_length(VD)
        w.add_expert_feed_forward_length(MFF)
        w.add_expert_count(E)
        w.add_expert_shared_count(SH)
        w.add_expert_used_count(K)
        w.add_expert_weights_scale(1.0)
        w.add_expert_weights_norm(False)
        w.add_expert_gating_func(gguf.ExpertGatingFuncType.SOFTMAX)
        w.add_rope_dimension_count(ROPE)
        w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        w.add_rope_scaling_factor(40.0)
        w.add_rope_scaling_orig_ctx_len(4096)
        w.add_rope_scaling_yarn_log_mul(0.0707)
        deepseek_tokenizer(w, V)
        linear("token_embd.weight", V, H)
        for i in range(L):
            p = f"blk.{i}."
            f32(p + "attn_norm.weight", np.ones(H))
            linear(p + "attn_q.weight", NH * (NOPE + ROPE), H)
            linear(p + "attn_kv_a_mqa.weight", KV + ROPE, H)
            f32(p + "attn_kv_a_norm.weight", np.ones(KV))
            linear(p + "attn_kv_b.weight", NH * (NOPE + VD), KV)
            linear(p + "attn_output.weight", H, NH * VD)
            f32(p + "ffn_norm.weight", np.ones(H))
            if i < 1:
                linear(p + "ffn_gate.weight", FF, H)
                linear(p + "ffn_up.weight", FF, H)
                linear(p + "ffn_down.weight", H, FF)
            else:
                f32(p + "ffn_gate_inp.weight", rng.standard_normal((E, H), dtype=np.float32) * 0.02)
                for proj, shape in (("gate", (E, MFF, H)), ("up", (E, MFF, H)), ("down", (E, H, MFF))):
                    x = rng.standard_normal(shape, dtype=np.float32) * 0.02
                    if qtype in (gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.Q4_0):
                        w.add_tensor(p + f"ffn_{proj}_exps.weight", gguf.quants.quantize(x, qtype), raw_dtype=qtype)
                    else:
                        w.add_tensor(p + f"ffn_{proj}_exps.weight", x if qtype == gguf.GGMLQuantizationType.F32
                                     else x.astype(np.float16))
                linear(p + "ffn_gate_shexp.weight", SH * MFF, H)
                linear(p + "ffn_up_shexp.weight", SH * MFF, H)
                linear(p + "ffn_down_shexp.weight", H, SH * MFF)
        f32("output_norm.weight", np.ones(H))
        linear("output.weight", V, H)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {a.out}: {os.path.getsize(a.out) / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
