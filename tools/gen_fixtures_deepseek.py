#!/usr/bin/env python3
"""Generate the tiny random-weight DeepSeek-V2 / V3 reference models under tests/fixtures/models/deepseek_*/.

Each fixture is a Hugging Face folder in the ORIGINAL DeepSeek checkpoint layout and config style (config.json with
rope_scaling {type: yarn, ...}, scoring_func, topk_method, n_group, ...; per-expert tensors
model.layers.N.mlp.experts.E.{gate,up,down}_proj.weight; V3's MTP layer as model.layers.{num_hidden_layers}; FP8
weights with weight_scale_inv) plus expected.json (format 1, as tools/gen_fixtures.py writes it, with a `routing`
section added). r1's loader, MLA, YaRN, routers and FP8 dequantisation are tested against these numbers.

How a fixture is made (deterministic: fixed seeds, CPU, eager attention):
  1. The weights are drawn by this tool, in the original layout, from a seeded torch.Generator (tensor names in
     sorted order): N(0, 0.2²) for matrices and embeddings, 1 + N(0, 0.1²) for RMSNorm gains, N(0, 0.1²) for V3's
     e_score_correction_bias. They are written with safetensors in the storage dtype (F32, BF16, or FP8 e4m3 +
     F32 weight_scale_inv per 128×128 block), and config.json is written in the real checkpoints' style.
  2. The oracle reads the files back: transformers' DeepseekV2ForCausalLM / DeepseekV3ForCausalLM loaded with
     from_pretrained (its conversion mapping fuses the per-expert tensors; the tool checks every loaded parameter
     equals the stored tensor, upcast or dequantised) and run in float32 with eager attention. FP8 fixtures are
     loaded from a temporary copy whose weights are dequantised (float32(fp8) × scale, in float32). A variant
     transformers cannot express (moe_layer_freq > 1) uses this tool's float64 reference forward instead
     (`Reference`, a transcription of shared/docs/ARCHITECTURE.md and DeepSeek's code).
  3. Every fixture is ALSO computed with the float64 reference, and the two must agree (logits, greedy output,
     routing); the maximum |difference| is printed and recorded in expected.json (`cross_check`).
  4. Greedy output as in gen_fixtures.py (generate() with no EOS, cross-checked with an argmax loop; prompts are
     redrawn on near ties (< 0.01) or runs of > 4 equal tokens). In addition, prompts/sequences are redrawn if a
     router decision is a near tie (the k-th and (k+1)-th selection score, or the topk_group-th and next group
     score, closer than 1e-4), so that an f32 engine routes exactly as the oracle.

expected.json (format 1, see tests/fixtures/models/README.md), plus:
   "oracle": which model computed the expected numbers, "cross_check": {max |logit diff| oracle vs the other},
   "min_router_margin", "derived": {softmax_scale, rope_cos_sin_factor, rope_inv_freq, moe_layers} (what the
   reference uses, for unit tests of YaRN), "routing": {"sequence": 0, "layers": [{"layer",
   "experts": [[ids ascending] per token], "weights": [[routing weight per id]],
   "scores": [[softmax/sigmoid score of every expert]]}, ...]} for every MoE layer (the first entry is the first
   MoE layer) of the first sequence.

Run from the repository root:  python3 tools/gen_fixtures_deepseek.py                 (all fixtures)
                               python3 tools/gen_fixtures_deepseek.py deepseek_v3     (some)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import (GREEDY_TOKENS, MAX_RUN, MIN_MARGIN, OUT_DIR, SEQ_LENGTHS,  # noqa: E402
                          greedy, longest_run, round6)

MIN_ROUTER_MARGIN = 1e-4  # router decisions must not be near ties (see 4. above)
FP8_BLOCK = 128
FP8_MAX = 448.0  # largest finite float8_e4m3fn

# Shared by every fixture: tiny MLA dimensions.
MLA = dict(hidden=64, heads=4, kv_lora_rank=32, qk_nope=16, qk_rope=8, v_head=16, vocab=256, moe_inter=32,
           n_routed=8, rope_theta=10000, rms_eps=1e-6)

FIXTURES = {
    "deepseek_v2_lite": dict(
        model_type="deepseek_v2", seed=2001, dtype="bfloat16", layers=3, inter=96, q_lora_rank=None,
        scoring_func="softmax", topk_method="greedy", n_group=1, topk_group=1, top_k=3, n_shared=2,
        norm_topk_prob=False, routed_scaling_factor=1.0, first_k_dense_replace=1, moe_layer_freq=1,
        yarn=dict(factor=40, mscale=0.707, mscale_all_dim=0.707),
        about="DeepSeek-V2-Lite style: q_proj (q_lora_rank null), softmax router, greedy top-3 of 8 experts, "
              "2 shared experts, norm_topk_prob false, routed_scaling_factor 1.0, layer 0 dense; YaRN factor 40, "
              "mscale = mscale_all_dim = 0.707; bfloat16 weights."),
    "deepseek_v2_group": dict(
        model_type="deepseek_v2", seed=2002, dtype="float32", layers=2, inter=96, q_lora_rank=48,
        scoring_func="softmax", topk_method="group_limited_greedy", n_group=4, topk_group=2, top_k=3, n_shared=2,
        norm_topk_prob=False, routed_scaling_factor=2.0, first_k_dense_replace=1, moe_layer_freq=1,
        yarn=dict(factor=40, mscale=0.707, mscale_all_dim=0.707),
        about="DeepSeek-V2 (236B) style: q_a_proj/q_a_layernorm/q_b_proj (q_lora_rank 48), softmax router, "
              "group_limited_greedy (4 groups of 2, best 2 groups by max score, top-3 of their 4 experts; with a max "
              "group score the restriction only matters when top_k > topk_group), 2 shared experts, "
              "routed_scaling_factor 2.0, layer 0 dense; YaRN factor 40, mscale = mscale_all_dim = 0.707; float32."),
    "deepseek_v3": dict(
        model_type="deepseek_v3", seed=2004, dtype="float32", layers=3, inter=160, q_lora_rank=48,
        scoring_func="sigmoid", topk_method="noaux_tc", n_group=4, topk_group=2, top_k=2, n_shared=1,
        norm_topk_prob=True, routed_scaling_factor=2.5, first_k_dense_replace=1, moe_layer_freq=1, bias_std=0.1,
        mtp=1, yarn=dict(factor=40, mscale=1.0, mscale_all_dim=1.0),
        about="DeepSeek-V3 / R1 style: q_lora_rank 48, sigmoid router with e_score_correction_bias, noaux_tc "
              "(4 groups of 2, best 2 groups by sum of top-2 biased scores, top-2 by biased score, weights = "
              "unbiased scores normalised, × 2.5), 1 shared expert, layer 0 dense (intermediate 160), YaRN factor "
              "40, mscale = mscale_all_dim = 1.0, one MTP layer stored as model.layers.3; float32."),
    "deepseek_v3_fp8": dict(
        base="deepseek_v3", dtype="fp8",
        about="deepseek_v3's weights stored as DeepSeek's FP8 checkpoints are: every attention / MLP / expert "
              "Linear weight (also in the MTP block) as float8_e4m3fn with a float32 weight_scale_inv per 128×128 "
              "block (the dense layer's 160-wide gate/up/down give partial blocks: scales [2,1] and [1,2]); "
              "embeddings, norms, router, lm_head and the MTP layer's eh_proj/enorm/hnorm/shared_head in "
              "bfloat16; e_score_correction_bias in float32."),
    "deepseek_v3_no_shared": dict(
        model_type="deepseek_v3", seed=2005, dtype="float32", layers=3, inter=96, q_lora_rank=48,
        scoring_func="sigmoid", topk_method="noaux_tc", n_group=4, topk_group=3, top_k=3, n_shared=0,
        norm_topk_prob=False, routed_scaling_factor=2.5, first_k_dense_replace=0, moe_layer_freq=2, bias_std=0.1,
        mtp=0, yarn=dict(factor=40, mscale=1.0, mscale_all_dim=1.0),
        about="DeepSeek-V3 style with n_shared_experts 0, first_k_dense_replace 0 and moe_layer_freq 2 (layers 0 "
              "and 2 are MoE, layer 1 dense), noaux_tc with 4 groups of 2, best 3 groups, top-3, norm_topk_prob "
              "false (weights = sigmoid scores × 2.5), no MTP layer (num_nextn_predict_layers 0); float32. "
              "transformers cannot express moe_layer_freq: the expected values come from the float64 reference."),
}


def full_spec(name):
    spec = dict(FIXTURES[name])
    if "base" in spec:
        base = dict(FIXTURES[spec["base"]])
        base.update(spec)
        spec = base
    out = dict(MLA)
    out.update(spec)
    return out


# ----------------------------------------------------------------------------------------------------------------
# config.json in the original DeepSeek form


def original_config(spec):
    v3 = spec["model_type"] == "deepseek_v3"
    y = spec["yarn"]
    cfg = {
        "architectures": ["DeepseekV3ForCausalLM" if v3 else "DeepseekV2ForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 0,
        "eos_token_id": 1,
        "first_k_dense_replace": spec["first_k_dense_replace"],
        "hidden_act": "silu",
        "hidden_size": spec["hidden"],
        "initializer_range": 0.02,
        "intermediate_size": spec["inter"],
        "kv_lora_rank": spec["kv_lora_rank"],
        "max_position_embeddings": 163840,
        "model_type": spec["model_type"],
        "moe_intermediate_size": spec["moe_inter"],
        "moe_layer_freq": spec["moe_layer_freq"],
        "n_group": spec["n_group"],
        "n_routed_experts": spec["n_routed"],
        "n_shared_experts": spec["n_shared"],
        "norm_topk_prob": spec["norm_topk_prob"],
        "num_attention_heads": spec["heads"],
        "num_experts_per_tok": spec["top_k"],
        "num_hidden_layers": spec["layers"],
        "num_key_value_heads": spec["heads"],
        "q_lora_rank": spec["q_lora_rank"],
        "qk_nope_head_dim": spec["qk_nope"],
        "qk_rope_head_dim": spec["qk_rope"],
        "rms_norm_eps": spec["rms_eps"],
        "rope_scaling": {
            "beta_fast": 32,
            "beta_slow": 1,
            "factor": y["factor"],
            "mscale": y["mscale"],
            "mscale_all_dim": y["mscale_all_dim"],
            "original_max_position_embeddings": 4096,
            "type": "yarn",
        },
        "rope_theta": spec["rope_theta"],
        "routed_scaling_factor": spec["routed_scaling_factor"],
        "scoring_func": spec["scoring_func"],
        "tie_word_embeddings": False,
        "topk_group": spec["topk_group"],
        "topk_method": spec["topk_method"],
        "torch_dtype": "bfloat16" if spec["dtype"] == "fp8" else spec["dtype"],
        "use_cache": True,
        "v_head_dim": spec["v_head"],
        "vocab_size": spec["vocab"],
    }
    if v3:
        cfg["ep_size"] = 1
        cfg["num_nextn_predict_layers"] = spec.get("mtp", 0)
    else:
        cfg["aux_loss_alpha"] = 0.001
        cfg["seq_aux"] = True
    if spec["dtype"] == "fp8":
        cfg["quantization_config"] = {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                                      "weight_block_size": [FP8_BLOCK, FP8_BLOCK]}
    return dict(sorted(cfg.items()))


def is_moe_layer(cfg, layer):
    """DeepSeek's rule (modeling_deepseek.py): MoE iff experts exist, layer >= first_k_dense_replace and
    layer % moe_layer_freq == 0."""
    return (cfg["n_routed_experts"] is not None and layer >= cfg["first_k_dense_replace"]
            and layer % cfg["moe_layer_freq"] == 0)


# ----------------------------------------------------------------------------------------------------------------
# weights in the original layout


def tensor_shapes(cfg):
    """name -> shape for every tensor of the checkpoint (main model + MTP layers), original DeepSeek names."""
    H, V = cfg["hidden_size"], cfg["vocab_size"]
    nh, nope, rope, vh = (cfg["num_attention_heads"], cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"],
                          cfg["v_head_dim"])
    qk = nope + rope
    kvr, qr = cfg["kv_lora_rank"], cfg["q_lora_rank"]
    E, mi = cfg["n_routed_experts"], cfg["moe_intermediate_size"]
    ns = cfg["n_shared_experts"] or 0
    v3 = cfg["model_type"] == "deepseek_v3"
    shapes = {"model.embed_tokens.weight": (V, H), "model.norm.weight": (H,), "lm_head.weight": (V, H)}

    def block(i):
        p = f"model.layers.{i}."
        shapes[p + "input_layernorm.weight"] = (H,)
        shapes[p + "post_attention_layernorm.weight"] = (H,)
        a = p + "self_attn."
        if qr is None:
            shapes[a + "q_proj.weight"] = (nh * qk, H)
        else:
            shapes[a + "q_a_proj.weight"] = (qr, H)
            shapes[a + "q_a_layernorm.weight"] = (qr,)
            shapes[a + "q_b_proj.weight"] = (nh * qk, qr)
        shapes[a + "kv_a_proj_with_mqa.weight"] = (kvr + rope, H)
        shapes[a + "kv_a_layernorm.weight"] = (kvr,)
        shapes[a + "kv_b_proj.weight"] = (nh * (nope + vh), kvr)
        shapes[a + "o_proj.weight"] = (H, nh * vh)
        m = p + "mlp."
        if is_moe_layer(cfg, i):
            shapes[m + "gate.weight"] = (E, H)
            if v3:
                shapes[m + "gate.e_score_correction_bias"] = (E,)
            for e in range(E):
                shapes[m + f"experts.{e}.gate_proj.weight"] = (mi, H)
                shapes[m + f"experts.{e}.up_proj.weight"] = (mi, H)
                shapes[m + f"experts.{e}.down_proj.weight"] = (H, mi)
            if ns:
                shapes[m + "shared_experts.gate_proj.weight"] = (ns * mi, H)
                shapes[m + "shared_experts.up_proj.weight"] = (ns * mi, H)
                shapes[m + "shared_experts.down_proj.weight"] = (H, ns * mi)
        else:
            I = cfg["intermediate_size"]
            shapes[m + "gate_proj.weight"] = (I, H)
            shapes[m + "up_proj.weight"] = (I, H)
            shapes[m + "down_proj.weight"] = (H, I)

    L = cfg["num_hidden_layers"]
    for i in range(L):
        block(i)
    for k in range(cfg.get("num_nextn_predict_layers", 0) or 0):
        # DeepSeek-V3's MTP module: a full decoder block plus enorm/hnorm/eh_proj/shared_head, with its own copies
        # of the embedding and the output head (README_WEIGHTS.md of DeepSeek-V3).
        i = L + k
        block(i)
        p = f"model.layers.{i}."
        shapes[p + "embed_tokens.weight"] = (V, H)
        shapes[p + "enorm.weight"] = (H,)
        shapes[p + "hnorm.weight"] = (H,)
        shapes[p + "eh_proj.weight"] = (H, 2 * H)
        shapes[p + "shared_head.norm.weight"] = (H,)
        shapes[p + "shared_head.head.weight"] = (V, H)
    return shapes


def draw_weights(cfg, seed, bias_std):
    """Seeded float32 weights, original names; the MTP layer's embed/head are copies of the main ones."""
    import torch

    g = torch.Generator().manual_seed(seed)
    L = cfg["num_hidden_layers"]
    out = {}
    for name, shape in sorted(tensor_shapes(cfg).items()):
        noise = torch.randn(shape, generator=g, dtype=torch.float32)
        if name.endswith("norm.weight"):
            out[name] = 1.0 + 0.1 * noise
        elif name.endswith("e_score_correction_bias"):
            out[name] = bias_std * noise
        else:
            out[name] = 0.2 * noise
    for k in range(cfg.get("num_nextn_predict_layers", 0) or 0):
        out[f"model.layers.{L + k}.embed_tokens.weight"] = out["model.embed_tokens.weight"].clone()
        out[f"model.layers.{L + k}.shared_head.head.weight"] = out["lm_head.weight"].clone()
    return out


def fp8_quantizable(name):
    """Which tensors DeepSeek's FP8 checkpoints store in float8_e4m3fn: the Linear weights of attention and of the
    MLPs / experts (main layers and the MTP block). Not: embeddings, norms, the router (mlp.gate), lm_head, and
    the MTP layer's eh_proj / shared_head (vLLM's deepseek_mtp loads eh_proj as a plain Linear)."""
    if not name.endswith(".weight") or "norm" in name:
        return False
    return ".self_attn." in name or (".mlp." in name and ".mlp.gate.weight" not in name)


def quantize_fp8(w):
    """Block-wise e4m3 quantisation as in DeepSeek's checkpoints: per 128×128 block (partial at the edges),
    scale = amax / 448 (float32), q = fp8(w / scale). Returns (q, scale_inv[ceil(out/128), ceil(in/128)])."""
    import torch

    rows, cols = w.shape
    br, bc = -(-rows // FP8_BLOCK), -(-cols // FP8_BLOCK)
    scale = torch.empty(br, bc, dtype=torch.float32)
    q = torch.empty(rows, cols, dtype=torch.float8_e4m3fn)
    for i in range(br):
        for j in range(bc):
            sl = (slice(i * FP8_BLOCK, (i + 1) * FP8_BLOCK), slice(j * FP8_BLOCK, (j + 1) * FP8_BLOCK))
            blk = w[sl]
            s = (blk.abs().max() / FP8_MAX).to(torch.float32)
            scale[i, j] = s
            q[sl] = (blk / s).clamp(-FP8_MAX, FP8_MAX).to(torch.float8_e4m3fn)
    return q, scale


def dequantize_fp8(q, scale):
    """float32(q) × scale of its block, one float32 multiply (what an engine dequantising to f32 computes)."""
    import torch

    w = q.to(torch.float32)
    rows, cols = w.shape
    s = scale.repeat_interleave(FP8_BLOCK, 0)[:rows].repeat_interleave(FP8_BLOCK, 1)[:, :cols]
    return w * s


def storage_tensors(spec, cfg, weights):
    """The tensors as written to model.safetensors."""
    import torch

    if spec["dtype"] == "float32":
        return {k: v.contiguous() for k, v in weights.items()}
    if spec["dtype"] == "bfloat16":
        return {k: v.to(torch.bfloat16).contiguous() for k, v in weights.items()}
    assert spec["dtype"] == "fp8"
    out = {}
    for k, v in weights.items():
        if fp8_quantizable(k):
            q, s = quantize_fp8(v)
            out[k] = q
            out[k + "_scale_inv"] = s
        elif k.endswith("e_score_correction_bias"):
            out[k] = v.clone()
        else:
            out[k] = v.to(torch.bfloat16).contiguous()
    return out


def effective_weights(stored):
    """float32 view of the stored tensors: bf16 upcast exactly, fp8 dequantised with its weight_scale_inv."""
    import torch

    out = {}
    for k, v in stored.items():
        if k.endswith("_scale_inv"):
            continue
        if v.dtype == torch.float8_e4m3fn:
            out[k] = dequantize_fp8(v, stored[k + "_scale_inv"])
        else:
            out[k] = v.to(torch.float32)
    return out


def check_fp8(stored, eff, ref, cfg):
    """transformers' own block dequantisation must give the same float32 weights; and the fixture must notice a
    block-indexing bug (here: every block using the scale of block [0, 0])."""
    import torch

    try:
        from transformers.integrations.finegrained_fp8 import _dequantize_fp8_weight
    except ImportError:  # private helper; the check is skipped if it moves
        _dequantize_fp8_weight = None
    partial = []
    for k, v in stored.items():
        if v.dtype != torch.float8_e4m3fn:
            continue
        s = stored[k + "_scale_inv"]
        assert tuple(s.shape) == (-(-v.shape[0] // FP8_BLOCK), -(-v.shape[1] // FP8_BLOCK)) and s.dtype == torch.float32
        if s.numel() > 1:
            partial.append(f"{k} {list(v.shape)} scales {list(s.shape)}")
        if _dequantize_fp8_weight is not None:
            theirs = _dequantize_fp8_weight(v, s, [FP8_BLOCK, FP8_BLOCK], torch.float32)
            assert torch.equal(theirs, eff[k]), k
    assert partial, "no FP8 tensor spans more than one 128x128 block"
    wrong = dict(eff)
    for k, v in stored.items():
        if v.dtype == torch.float8_e4m3fn:
            wrong[k] = v.to(torch.float32) * stored[k + "_scale_inv"][0, 0]
    ids = list(range(3, 3 + SEQ_LENGTHS[1]))
    delta = float((Reference(cfg, wrong).forward(ids)[0] - ref.forward(ids)[0]).abs().max())
    print(f"  fp8: {len(partial)} tensors with several scale blocks, e.g. {partial[0]}; dequantisation "
          f"{'equals' if _dequantize_fp8_weight else 'not compared with'} transformers' _dequantize_fp8_weight; "
          f"using block [0,0]'s scale everywhere would move the logits by up to {delta:.3f}")
    assert delta > 1e-2


def write_safetensors(path, tensors):
    from safetensors.torch import save_file

    save_file(dict(sorted(tensors.items())), path, metadata={"format": "pt"})
    os.chmod(path, 0o644)


# ----------------------------------------------------------------------------------------------------------------
# transformers


def transformers_state(cfg, weights):
    """Map original-layout tensors to transformers 5's parameter names (experts fused: gate_up_proj[e] =
    cat(gate_e, up_e) rows, down_proj[e] = down_e). MTP-layer tensors are not part of DeepseekV3ForCausalLM."""
    import torch

    L, E = cfg["num_hidden_layers"], cfg["n_routed_experts"]
    out = {}
    for k, v in weights.items():
        if k.startswith("model.layers."):
            i = int(k.split(".")[2])
            if i >= L or ".mlp.experts." in k:
                continue
        out[k] = v
    for i in range(L):
        if not is_moe_layer(cfg, i):
            continue
        if not cfg["n_shared_experts"]:  # transformers keeps a zero-width shared MLP (output 0)
            H, s = cfg["hidden_size"], f"model.layers.{i}.mlp.shared_experts."
            out[s + "gate_proj.weight"] = torch.zeros(0, H)
            out[s + "up_proj.weight"] = torch.zeros(0, H)
            out[s + "down_proj.weight"] = torch.zeros(H, 0)
        p = f"model.layers.{i}.mlp.experts."
        out[p + "gate_up_proj"] = torch.stack(
            [torch.cat([weights[p + f"{e}.gate_proj.weight"], weights[p + f"{e}.up_proj.weight"]], 0)
             for e in range(E)])
        out[p + "down_proj"] = torch.stack([weights[p + f"{e}.down_proj.weight"] for e in range(E)])
    return out


def check_transformers_model(model, cfg, weights):
    """Every parameter/buffer that comes from the checkpoint must equal the stored tensor (float32 view)."""
    import torch

    want = transformers_state(cfg, weights)
    got = model.state_dict()
    missing = sorted(set(want) - set(got))
    if missing:
        raise RuntimeError(f"transformers model lacks {missing[:5]}")
    extra = sorted(k for k in got if k not in want)
    if extra:
        raise RuntimeError(f"transformers parameters not filled from the checkpoint: {extra[:5]}")
    for k, v in want.items():
        if not torch.equal(got[k].float(), v.float()):
            raise RuntimeError(f"{k}: transformers holds different values than the checkpoint")


def load_transformers(folder, cfg, weights):
    """from_pretrained of an original-layout folder (float32, eager); checks what it loaded."""
    import torch
    from transformers import AutoModelForCausalLM

    model, info = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager",
                                                       output_loading_info=True)
    L = cfg["num_hidden_layers"]
    if info.get("missing_keys"):
        raise RuntimeError(f"missing keys: {sorted(info['missing_keys'])[:5]}")
    unexpected = sorted(info.get("unexpected_keys") or [])
    bad = [k for k in unexpected if not (k.startswith("model.layers.") and int(k.split(".")[2]) >= L)]
    if bad or info.get("mismatched_keys"):
        raise RuntimeError(f"unexpected / mismatched keys: {bad[:5]} {info.get('mismatched_keys')}")
    model.eval()
    check_transformers_model(model, cfg, weights)
    check_transformers_config(model, cfg)
    return model


def patched_transformers(cfg, weights):
    """DeepseekV3ForCausalLM with DeepSeek's moe_layer_freq rule applied by hand (transformers makes every layer
    >= first_k_dense_replace MoE): built from the config, non-MoE layers' mlp replaced by DeepseekV3MLP, weights
    loaded with load_state_dict(strict=True). Only used to cross-check the float64 reference."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.models.deepseek_v3.modeling_deepseek_v3 import DeepseekV3MLP

    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump(cfg, f)
        config = AutoConfig.from_pretrained(tmp)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32, attn_implementation="eager")
    for i, layer in enumerate(model.model.layers):
        if not is_moe_layer(cfg, i):
            layer.mlp = DeepseekV3MLP(config)
    model.load_state_dict(transformers_state(cfg, weights), strict=True)
    model.eval()
    check_transformers_model(model, cfg, weights)
    check_transformers_config(model, cfg)
    return model


def check_transformers_config(model, cfg):
    """transformers must have read the original-style fields the way DeepSeek's code does."""
    y = cfg["rope_scaling"]
    rp = model.config.rope_parameters
    assert rp["rope_type"] == "yarn" and rp["factor"] == y["factor"], rp
    assert model.model.rotary_emb.attention_scaling == yarn_mscale(y["factor"], y["mscale"]) / yarn_mscale(
        y["factor"], y["mscale_all_dim"])
    attn = model.model.layers[0].self_attn
    ref_scale = softmax_scale(cfg)
    assert abs(attn.scaling - ref_scale) < 1e-12 * ref_scale, (attn.scaling, ref_scale)
    inv = model.model.rotary_emb.inv_freq.double()
    ref = yarn_inv_freq(cfg)
    assert (inv - ref).abs().max() < 1e-6 * ref.max(), (inv, ref)
    if cfg["model_type"] == "deepseek_v3":
        assert model.config.rope_interleave is True
        gate = next(l.mlp.gate for l in model.model.layers if hasattr(l.mlp, "gate"))
        assert gate.norm_topk_prob == cfg["norm_topk_prob"] and gate.routed_scaling_factor == cfg[
            "routed_scaling_factor"] and gate.num_group == cfg["n_group"] and gate.topk_group == cfg["topk_group"]
    else:
        gate = next(l.mlp.gate for l in model.model.layers if hasattr(l.mlp, "gate"))
        assert gate.topk_method == cfg["topk_method"] and gate.routed_scaling_factor == cfg["routed_scaling_factor"]


def transformers_forward(model, ids):
    """Logits [T, V] and the routing of every MoE layer ({layer: (indices, weights, scores)})."""
    import torch

    routes, hooks = {}, []
    for i, layer in enumerate(model.model.layers):
        gate = getattr(layer.mlp, "gate", None)
        if gate is None or not hasattr(gate, "top_k"):
            continue

        def hook(mod, args, out, i=i):
            logits, w, idx = out
            scores = logits.softmax(-1) if model.config.model_type == "deepseek_v2" else logits.sigmoid()
            routes[i] = (idx.detach(), w.detach(), scores.detach())

        hooks.append(gate.register_forward_hook(hook))
    try:
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].float()
    finally:
        for h in hooks:
            h.remove()
    return logits, routes


# ----------------------------------------------------------------------------------------------------------------
# independent float64 reference (ARCHITECTURE.md / DeepSeek's modeling_deepseek.py, transcribed)


def yarn_mscale(scale, mscale):
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def softmax_scale(cfg):
    """(qk_nope + qk_rope)^-0.5, times m² with m = 0.1·mscale_all_dim·ln(factor) + 1 under YaRN."""
    s = (cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"]) ** -0.5
    y = cfg.get("rope_scaling")
    if y and y.get("mscale_all_dim"):
        m = yarn_mscale(y["factor"], y["mscale_all_dim"])
        s = s * m * m
    return s


def yarn_inv_freq(cfg):
    """DeepSeek's YaRN frequencies (float64): blend θ_i and θ_i/factor with a linear ramp between the correction
    dims of beta_fast and beta_slow at original_max_position_embeddings (floor / ceil, clamped to [0, dim-1])."""
    import torch

    dim, base = cfg["qk_rope_head_dim"], float(cfg["rope_theta"])
    y = cfg["rope_scaling"]
    freq = 1.0 / base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)

    def corr_dim(rot):
        return dim * math.log(y["original_max_position_embeddings"] / (rot * 2 * math.pi)) / (2 * math.log(base))

    low = max(math.floor(corr_dim(y["beta_fast"])), 0)
    high = min(math.ceil(corr_dim(y["beta_slow"])), dim - 1)
    if low == high:
        high += 0.001
    ramp = ((torch.arange(dim // 2, dtype=torch.float64) - low) / (high - low)).clamp(0, 1)
    keep = 1.0 - ramp  # 1: original frequency (extrapolation), 0: divided by factor (interpolation)
    return freq / y["factor"] * (1 - keep) + freq * keep


class Reference:
    """Straight float64 forward of a DeepSeek-V2/V3 decoder from the original-layout weights (no cache)."""

    def __init__(self, cfg, weights):
        import torch

        self.c = cfg
        self.w = {k: v.to(torch.float64) for k, v in weights.items()}
        self.inv_freq = yarn_inv_freq(cfg)
        y = cfg["rope_scaling"]
        # DeepSeek multiplies cos and sin by yarn_get_mscale(factor, mscale) / yarn_get_mscale(factor, mscale_all_dim)
        self.rope_mscale = yarn_mscale(y["factor"], y["mscale"]) / yarn_mscale(y["factor"], y["mscale_all_dim"])
        self.scale = softmax_scale(cfg)
        self.zero_fill_mismatches = 0  # tokens where DeepSeek's older 0.0 group masking would route differently
        self.bias_changes = 0  # tokens whose selection differs from selecting by the unbiased scores
        self.routed_tokens = 0
        self.group_changes = 0  # tokens whose selection differs from a top-k over all experts (grouped methods)

    @staticmethod
    def rms(x, w, eps):
        return x / (x.pow(2).mean(-1, keepdim=True) + eps).sqrt() * w

    def rope(self, x, pos):
        """Interleaved RoPE: pair (2i, 2i+1) rotated by pos·inv_freq[i] (DeepSeek's view_as_complex form)."""
        import torch

        ang = pos[:, None].to(torch.float64) * self.inv_freq[None, :]  # [T, r/2]
        shape = [x.shape[0]] + [1] * (x.dim() - 2) + [ang.shape[1]]
        cos = (ang.cos() * self.rope_mscale).view(shape)
        sin = (ang.sin() * self.rope_mscale).view(shape)
        x0, x1 = x[..., 0::2], x[..., 1::2]
        out = torch.empty_like(x)
        out[..., 0::2] = x0 * cos - x1 * sin
        out[..., 1::2] = x0 * sin + x1 * cos
        return out

    def attention(self, p, x, absorbed=False):
        import torch

        c, w = self.c, self.w
        T = x.shape[0]
        nh, nope, rope, vh, kvr = (c["num_attention_heads"], c["qk_nope_head_dim"], c["qk_rope_head_dim"],
                                   c["v_head_dim"], c["kv_lora_rank"])
        a = p + "self_attn."
        if c["q_lora_rank"] is None:
            q = x @ w[a + "q_proj.weight"].T
        else:
            q_lat = self.rms(x @ w[a + "q_a_proj.weight"].T, w[a + "q_a_layernorm.weight"], 1e-6)
            q = q_lat @ w[a + "q_b_proj.weight"].T
        q = q.view(T, nh, nope + rope)
        q_nope, q_pe = q[..., :nope], q[..., nope:]
        kv = x @ w[a + "kv_a_proj_with_mqa.weight"].T
        c_kv = self.rms(kv[:, :kvr], w[a + "kv_a_layernorm.weight"], 1e-6)
        pos = torch.arange(T)
        q_pe = self.rope(q_pe, pos)  # [T, nh, rope]
        k_pe = self.rope(kv[:, kvr:], pos)  # [T, rope], shared by all heads
        wkv_b = w[a + "kv_b_proj.weight"].view(nh, nope + vh, kvr)
        w_uk, w_uv = wkv_b[:, :nope], wkv_b[:, nope:]
        mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
        if not absorbed:  # decompress K and V per head
            k_nope = torch.einsum("hdc,sc->shd", w_uk, c_kv)
            v = torch.einsum("hdc,sc->shd", w_uv, c_kv)
            scores = torch.einsum("thd,shd->hts", q_nope, k_nope) + torch.einsum("thr,sr->hts", q_pe, k_pe)
            probs = (scores * self.scale + mask).softmax(-1)
            out = torch.einsum("hts,shd->thd", probs, v)
        else:  # W_UK absorbed into the query, W_UV applied after attending over the latent
            q_lat = torch.einsum("thd,hdc->thc", q_nope, w_uk)
            scores = torch.einsum("thc,sc->hts", q_lat, c_kv) + torch.einsum("thr,sr->hts", q_pe, k_pe)
            probs = (scores * self.scale + mask).softmax(-1)
            out = torch.einsum("hdc,thc->thd", w_uv, torch.einsum("hts,sc->thc", probs, c_kv))
        return out.reshape(T, nh * vh) @ w[a + "o_proj.weight"].T

    def swiglu(self, p, x):
        import torch

        w = self.w
        return (torch.nn.functional.silu(x @ w[p + "gate_proj.weight"].T) * (x @ w[p + "up_proj.weight"].T)) @ w[
            p + "down_proj.weight"].T

    @staticmethod
    def select(choice, method, G, TG, k, fill=float("-inf")):
        """Expert indices [T,k] chosen from the selection scores, and the smallest decision margin."""
        import torch

        T, E = choice.shape
        margin = float("inf")
        if method == "greedy" or G == 1:
            allowed = torch.ones(T, E, dtype=torch.bool)
        else:
            grouped = choice.view(T, G, E // G)
            if method == "group_limited_greedy":
                gscore = grouped.max(-1).values  # best expert of the group
            elif method == "noaux_tc":
                gscore = grouped.topk(2, dim=-1).values.sum(-1)  # sum of the group's top-2
            else:
                raise ValueError(method)
            if TG < G:
                gs = gscore.sort(-1, descending=True).values
                margin = float((gs[:, TG - 1] - gs[:, TG]).min())
            gmask = torch.zeros(T, G, dtype=torch.bool).scatter_(1, gscore.topk(TG, dim=-1).indices, True)
            allowed = gmask[:, :, None].expand(T, G, E // G).reshape(T, E)
        cand = choice.masked_fill(~allowed, fill)
        if k < E:
            cs = cand.sort(-1, descending=True).values
            margin = min(margin, float((cs[:, k - 1] - cs[:, k]).min()))
        return cand.topk(k, dim=-1).indices, margin

    def route(self, p, x):
        """Returns (indices [T,k], weights [T,k], scores [T,E], margin): DeepSeek's MoEGate."""
        c, w = self.c, self.w
        T, k = x.shape[0], c["num_experts_per_tok"]
        G, TG = c["n_group"] or 1, c["topk_group"] or 1
        logits = x @ w[p + "gate.weight"].T
        if c["scoring_func"] == "softmax":
            s = logits.softmax(-1)
        elif c["scoring_func"] == "sigmoid":
            s = logits.sigmoid()
        else:
            raise ValueError(c["scoring_func"])
        method = c["topk_method"]
        # noaux_tc: the bias only steers the selection (groups and experts); the weights use the unbiased scores
        choice = s + w[p + "gate.e_score_correction_bias"] if method == "noaux_tc" else s
        idx, margin = self.select(choice, method, G, TG, k)

        def differ(other):
            return int((other.sort(-1).values != idx.sort(-1).values).any(-1).sum())

        self.routed_tokens += T
        if method != "greedy":
            self.group_changes += differ(self.select(choice, "greedy", 1, 1, k)[0])
        if method == "noaux_tc":
            self.zero_fill_mismatches += differ(self.select(choice, method, G, TG, k, fill=0.0)[0])
            self.bias_changes += differ(self.select(s, method, G, TG, k)[0])
        wt = s.gather(1, idx)
        if c["norm_topk_prob"] and k > 1:
            wt = wt / (wt.sum(-1, keepdim=True) + 1e-20)
        wt = wt * c["routed_scaling_factor"]
        return idx, wt, s, margin

    def moe(self, p, x, routes, layer):
        import torch

        idx, wt, s, margin = self.route(p, x)
        routes[layer] = (idx, wt, s, margin)
        y = torch.zeros_like(x)
        for t in range(x.shape[0]):
            for j in range(idx.shape[1]):
                y[t] += wt[t, j] * self.swiglu(p + f"experts.{int(idx[t, j])}.", x[t:t + 1])[0]
        if self.c["n_shared_experts"]:
            y = y + self.swiglu(p + "shared_experts.", x)
        return y

    def forward(self, ids, absorbed=False):
        """Logits [T, V] (float64) and {layer: (indices, weights, scores, margin)} for the MoE layers."""
        c, w = self.c, self.w
        eps = c["rms_norm_eps"]
        h = w["model.embed_tokens.weight"][ids]
        routes = {}
        for i in range(c["num_hidden_layers"]):
            p = f"model.layers.{i}."
            h = h + self.attention(p, self.rms(h, w[p + "input_layernorm.weight"], eps), absorbed)
            x = self.rms(h, w[p + "post_attention_layernorm.weight"], eps)
            h = h + (self.moe(p + "mlp.", x, routes, i) if is_moe_layer(c, i) else self.swiglu(p + "mlp.", x))
        return self.rms(h, w["model.norm.weight"], eps) @ w["lm_head.weight"].T, routes

    def greedy(self, prompt, n):
        import torch

        ids, margin, rmargin = list(prompt), float("inf"), float("inf")
        for _ in range(n):
            logits, routes = self.forward(ids)
            top = torch.topk(logits[-1], 2).values
            margin = min(margin, float(top[0] - top[1]))
            rmargin = min([rmargin] + [r[3] for r in routes.values()])
            ids.append(int(torch.argmax(logits[-1])))
        _, routes = self.forward(ids)
        rmargin = min([rmargin] + [r[3] for r in routes.values()])
        return ids[len(prompt):], margin, rmargin


# ----------------------------------------------------------------------------------------------------------------
# fixture


def routing_record(routes, moe_layers):
    layers = []
    for i in moe_layers:
        idx, wt, s = routes[i][:3]
        order = idx.sort(-1)
        w_sorted = wt.gather(1, order.indices)
        layers.append({"layer": i, "experts": order.values.tolist(),
                       "weights": [[round6(float(v)) for v in row] for row in w_sorted.tolist()],
                       "scores": [[round6(float(v)) for v in row] for row in s.tolist()]})
    return {"sequence": 0, "layers": layers}


def compare_routes(a, b, what):
    """Same experts per token, weights within 1e-5."""
    for i in a:
        ia, wa = a[i][0].sort(-1), a[i][1]
        ib, wb = b[i][0].sort(-1), b[i][1]
        if not (ia.values.cpu() == ib.values.cpu()).all():
            raise RuntimeError(f"{what}: layer {i} routes differ: {ia.values.tolist()} vs {ib.values.tolist()}")
        d = (wa.double().gather(1, ia.indices) - wb.double().gather(1, ib.indices)).abs().max()
        if d > 1e-5:
            raise RuntimeError(f"{what}: layer {i} routing weights differ by {float(d)}")


def make_fixture(name, out_dir):
    import torch
    import transformers

    spec = full_spec(name)
    cfg = original_config(spec)
    folder = os.path.join(out_dir, name)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)

    def write_json(path, obj):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False)
            f.write("\n")

    weights = draw_weights(cfg, spec["seed"], spec.get("bias_std", 0.0))
    stored = storage_tensors(spec, cfg, weights)
    write_safetensors(os.path.join(folder, "model.safetensors"), stored)
    write_json(os.path.join(folder, "config.json"), cfg)

    # Everything below reads the files back.
    from safetensors.torch import load_file

    on_disk = load_file(os.path.join(folder, "model.safetensors"))
    assert sorted(on_disk) == sorted(stored) and all(torch.equal(on_disk[k].view(torch.uint8), stored[k].view(
        torch.uint8)) for k in stored)
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    eff = effective_weights(on_disk)  # float32 values the model computes with
    ref = Reference(cfg, eff)
    if spec["dtype"] == "fp8":
        check_fp8(on_disk, eff, ref, cfg)

    # transformers' DeepseekV2/V3 make every layer >= first_k_dense_replace MoE (no moe_layer_freq)
    expressible = cfg["moe_layer_freq"] == 1
    if expressible:
        if spec["dtype"] == "fp8":
            # transformers' fp8 path needs an accelerator: give it the dequantised float32 weights instead
            with tempfile.TemporaryDirectory() as tmp:
                plain = {k: v for k, v in cfg.items() if k != "quantization_config"}
                write_json(os.path.join(tmp, "config.json"), plain)
                write_safetensors(os.path.join(tmp, "model.safetensors"), eff)
                tf = load_transformers(tmp, cfg, eff)
        else:
            tf = load_transformers(folder, cfg, eff)
        oracle_name = f"transformers {type(tf).__name__} (float32, eager attention)"
    else:
        tf = patched_transformers(cfg, eff)
        oracle_name = ("float64 reference (tools/gen_fixtures_deepseek.py Reference); cross-checked with "
                       f"transformers {type(tf).__name__} whose non-MoE layers were replaced by dense MLPs")

    # config.json's eos_token_id (1) would otherwise stop generate(): greedy runs always produce 32 tokens
    tf.generation_config.eos_token_id = None
    tf.generation_config.bos_token_id = None
    tf.generation_config.pad_token_id = None

    moe_layers = [i for i in range(cfg["num_hidden_layers"]) if is_moe_layer(cfg, i)]
    rng = random.Random(spec["seed"])
    vocab = cfg["vocab_size"]

    def oracle_logits(ids):
        t_logits, t_routes = transformers_forward(tf, ids)
        r_logits, r_routes = ref.forward(ids)
        a_logits, _ = ref.forward(ids, absorbed=True)
        assert (a_logits - r_logits).abs().max() < 1e-9, "absorbed MLA differs from the naive path"
        compare_routes(t_routes, r_routes, name)
        diff = float((t_logits.double() - r_logits).abs().max())
        margin = min([float("inf")] + [r[3] for r in r_routes.values()])
        if expressible:
            return t_logits.double(), t_routes, diff, margin
        return r_logits, r_routes, diff, margin

    max_diff = 0.0
    sequences, first_routes, min_rmargin = [], None, float("inf")
    seq_ids, seq_routes = [], []
    for n in SEQ_LENGTHS:
        for _ in range(50):
            ids = [rng.randrange(vocab) for _ in range(n)]
            logits, routes, diff, rmargin = oracle_logits(ids)
            if rmargin >= MIN_ROUTER_MARGIN:
                break
        else:
            raise RuntimeError(f"{name}: no sequence without a router near tie")
        max_diff = max(max_diff, diff)
        min_rmargin = min(min_rmargin, rmargin)
        seq_ids.append(ids)
        sequences.append({"ids": ids, "logits": [[round6(v) for v in row] for row in logits.tolist()]})
        if first_routes is None:
            first_routes = routes
        seq_routes.append(routes)

    greedy_runs = []
    for ids in seq_ids:
        for _ in range(50):
            r_out, r_margin, rmargin = ref.greedy(ids, GREEDY_TOKENS)
            t_out, t_margin = greedy(tf, ids, GREEDY_TOKENS)  # generate() with KV cache vs argmax loop
            out, margin = (t_out, t_margin) if expressible else (r_out, r_margin)
            if margin >= MIN_MARGIN and longest_run(out) <= MAX_RUN and rmargin >= MIN_ROUTER_MARGIN:
                break
            ids = [rng.randrange(vocab) for _ in range(len(ids))]
        else:
            raise RuntimeError(f"{name}: no greedy prompt with margins >= {MIN_MARGIN}/{MIN_ROUTER_MARGIN}")
        if r_out != t_out:
            raise RuntimeError(f"{name}: reference and transformers greedy outputs differ: {r_out} vs {t_out}")
        _, _, diff, _ = oracle_logits(ids + out)
        max_diff = max(max_diff, diff)
        min_rmargin = min(min_rmargin, rmargin)
        greedy_runs.append({"prompt_ids": ids, "output_ids": out, "min_top2_margin": round6(margin)})

    if max_diff > 1e-4:
        raise RuntimeError(f"{name}: transformers and the float64 reference differ by {max_diff}")

    # Routing must be non-trivial: every expert used somewhere in the two sequences, several expert sets in the
    # recorded layer; V3's bias must change selections.
    usage = sum(torch.cat([r[0].flatten() for r in routes.values()]).bincount(minlength=cfg["n_routed_experts"])
                for routes in seq_routes)
    sets = {tuple(sorted(row)) for row in first_routes[moe_layers[0]][0].tolist()}
    assert (usage > 0).all() and len(sets) >= 4, (usage.tolist(), sets)
    if cfg["topk_method"] == "noaux_tc":
        assert ref.bias_changes > 0, "e_score_correction_bias never changed a selection"
    if cfg["topk_method"] != "greedy":
        assert ref.group_changes > 0, "the group restriction never changed a selection"

    dtype_note = {"float32": "", "bfloat16": ", upcast exactly from bfloat16",
                  "fp8": (", FP8 weights dequantised (float32(fp8) * weight_scale_inv of the 128x128 block, one "
                          "float32 multiply), bfloat16 weights upcast exactly")}[spec["dtype"]]
    expected = {
        "format": 1,
        "name": name,
        "about": spec["about"],
        "model_type": cfg["model_type"],
        "dtype": "float8_e4m3fn" if spec["dtype"] == "fp8" else spec["dtype"],
        "compute_dtype": "float32" if expressible else "float64",
        "compute_note": (("transformers forward in float32 (eager attention, CPU)" if expressible else
                          "float64 reference forward (CPU)") + " on the weights as stored" + dtype_note),
        "oracle": oracle_name,
        "cross_check": {"max_abs_logit_diff_transformers_vs_float64_reference": float(f"{max_diff:.3g}"),
                        "greedy_outputs_equal": True, "routing_equal": True},
        "seed": spec["seed"],
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "logits_rounding": "6 significant digits",
        "sequences": sequences,
        "greedy": greedy_runs,
        "min_router_margin": round6(min_rmargin),
        "derived": {"softmax_scale": ref.scale, "rope_cos_sin_factor": ref.rope_mscale,
                    "rope_inv_freq": ref.inv_freq.tolist(), "moe_layers": moe_layers},
        "routing": routing_record(first_routes, moe_layers),
    }
    with open(os.path.join(folder, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, separators=(",", ":"), ensure_ascii=False)
        f.write("\n")

    outs = [g["output_ids"] for g in greedy_runs]
    print(f"{name}: {sum(v.numel() for v in eff.values()):,} stored values, {spec['dtype']}; oracle "
          f"{'transformers' if expressible else 'reference'}; max |transformers - ref| {max_diff:.2e}; greedy "
          f"distinct {[len(set(o)) for o in outs]}, runs {[longest_run(o) for o in outs]}, min top-2 margin "
          f"{min(g['min_top2_margin'] for g in greedy_runs):.4f}; router margin {min_rmargin:.2e}, expert usage "
          f"{usage.tolist()}, {len(sets)} expert sets in the recorded layer"
          + (f"; of {ref.routed_tokens} routed tokens the group limit changed {ref.group_changes}"
             if cfg["topk_method"] != "greedy" else "")
          + (f", the bias changed {ref.bias_changes}, 0.0 group masking would change {ref.zero_fill_mismatches}"
             if cfg["topk_method"] == "noaux_tc" else "")
          + f"; logits std {torch.tensor(sequences[1]['logits']).std():.2f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("names", nargs="*", help=f"fixtures to (re)generate; default all: {', '.join(FIXTURES)}")
    ap.add_argument("--out", default=OUT_DIR, help="parent folder (default tests/fixtures/models)")
    args = ap.parse_args(argv)

    import torch
    import transformers

    import warnings

    warnings.filterwarnings("ignore", message="Initializing zero-element tensors")
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    torch.use_deterministic_algorithms(True)
    for name in args.names or FIXTURES:
        if name not in FIXTURES:
            sys.exit(f"unknown fixture {name!r}; known: {', '.join(FIXTURES)}")
        make_fixture(name, args.out)


if __name__ == "__main__":
    main()
