#!/usr/bin/env python3
"""Generate the tiny random-weight reference models under tests/fixtures/models/<name>/.

Each fixture is a Hugging Face folder (config.json + model.safetensors, some with a tokenizer and a
generation_config.json) plus expected.json holding what transformers computes with it: full-vocabulary logits at
every position of two token sequences, and 32-token greedy continuations. r1's loader and forward pass are tested
against these numbers.

How a fixture is made (deterministic: fixed seeds, CPU, float32 math, eager attention):
  1. config.json is written in the form the real checkpoints use (rope_theta / rope_scaling / torch_dtype, as the
     R1-Distill configs in shared/data/configs), not transformers 5's rope_parameters form.
  2. transformers builds the model from that file; every parameter is overwritten with seeded normal values
     (std 0.2 for matrices, 0.2 for q/k/v biases, 1 + 0.1·N for RMSNorm gains) so logits are far from uniform.
  3. save_pretrained writes model.safetensors in the storage dtype (float32, bfloat16 or float16); config.json is
     then rewritten as in 1.
  4. The folder is loaded back with from_pretrained(dtype=float32) — bf16/f16 weights are upcast exactly — and
     the expected values are computed from that reloaded model, so they describe the files on disk.
  5. Greedy output comes from model.generate(do_sample=False) with no EOS, cross-checked against a plain argmax
     loop without KV cache; the smallest top-1/top-2 logit gap over those steps is recorded.

expected.json (format 1):
  {"format": 1, "name", "model_type", "dtype": storage dtype of the safetensors ("float32"|"bfloat16"|"float16"),
   "compute_dtype": "float32", "compute_note", "seed", "transformers_version", "torch_version",
   "logits_rounding": "6 significant digits",
   "sequences": [{"ids": [...], "logits": [[vocab_size floats] per position]}, ...],   # lengths 7 and 20
   "greedy": [{"prompt_ids": [...], "output_ids": [32 ids], "min_top2_margin": float}, ...],
       # prompts are the two sequences unless a near tie (margin < 0.01) or a token repeated more than 4 times
       # in a row forced a redraw of the prompt's random part
   "tokenizer_cases": [{"text", "ids"}]   # only where the fixture has a tokenizer; ids without BOS
  }

Run from the repository root:  python3 tools/gen_fixtures.py            (all fixtures)
                               python3 tools/gen_fixtures.py qwen2_bf16  (some)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "models")
CHAT_TEMPLATE = "/work/shared/data/chat-templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja"

# The Qwen2 / R1-Distill-Qwen pre-tokenizer split pattern (the same regex as in Qwen2's tokenizer.json).
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
               r"\s*[\r\n]+|\s+(?!\S)|\s+")

# Added tokens in R1-Distill-Qwen's order and with its "special" flags (ids follow the trained BPE vocab).
R1_ADDED = [
    ("<｜end▁of▁sentence｜>", True),
    ("<｜User｜>", False),
    ("<｜Assistant｜>", False),
    ("<｜begin▁of▁sentence｜>", True),
    ("<|EOT|>", False),
    ("<think>", False),
    ("</think>", False),
]
BOS_TEXT, EOS_TEXT = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"

SEQ_LENGTHS = (7, 20)
GREEDY_TOKENS = 32
MIN_MARGIN = 0.01  # greedy prompts are redrawn until every step's top-1 logit leads the top-2 by this much
MAX_RUN = 4  # ... and until no token repeats more than this many times in a row (no degenerate loops)

FIXTURES = {
    "qwen2_gqa4": dict(
        model_type="qwen2", seed=1001, dtype="float32", vocab=512, hidden=128, heads=8, kv_heads=2,
        inter=96, layers=2, tie=False, rope_theta=1000000.0, rms_eps=1e-6, tokenizer=True,
        generation_config=True,
        about="Qwen2 (R1-Distill-Qwen layout): GQA 8 query / 2 KV heads, q/k/v biases, untied lm_head, "
              "rope_theta 1e6, float32; ByteLevel BPE tokenizer with the R1 added tokens and chat template."),
    "qwen2_tied_mha": dict(
        model_type="qwen2", seed=1002, dtype="float32", vocab=256, hidden=64, heads=4, kv_heads=4,
        inter=96, layers=2, tie=True, rope_theta=10000.0, rms_eps=1e-6,
        about="Qwen2 with plain multi-head attention (4/4) and tied embeddings (as Qwen2.5-0.5B), float32."),
    "qwen2_bf16": dict(
        model_type="qwen2", seed=1001, dtype="bfloat16", vocab=512, hidden=128, heads=8, kv_heads=2,
        inter=96, layers=2, tie=False, rope_theta=1000000.0, rms_eps=1e-6,
        about="qwen2_gqa4's config and seed, weights stored in bfloat16 (its weights are qwen2_gqa4's rounded "
              "to bf16)."),
    "llama_llama3rope": dict(
        model_type="llama", seed=1004, dtype="float32", vocab=320, hidden=128, heads=8, kv_heads=2,
        inter=96, layers=2, tie=False, rope_theta=500000.0, rms_eps=1e-5, max_pos=512,
        rope_scaling={"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                      "original_max_position_embeddings": 64, "rope_type": "llama3"},
        about="Llama (R1-Distill-Llama layout): GQA 8/2, untied, rope_theta 5e5 with llama3 rope scaling "
              "(factor 8, original context 64: of the 8 frequencies of head_dim 16, 1 is kept, 1 is "
              "interpolated and 6 are divided by 8), float32."),
    "llama_mqa_f16": dict(
        model_type="llama", seed=1005, dtype="float16", vocab=288, hidden=64, heads=4, kv_heads=1,
        inter=96, layers=2, tie=False, rope_theta=10000.0, rms_eps=1e-6,
        about="Llama with multi-query attention (4 query heads, 1 KV head), float16 weights, rms_norm_eps 1e-6."),
}

HEAD_DIM = 16


# ----------------------------------------------------------------------------------------------------------------
# config.json in the real checkpoints' form


def real_style_config(spec, torch_dtype):
    max_pos = spec.get("max_pos", 512)
    common = {
        "architectures": ["Qwen2ForCausalLM" if spec["model_type"] == "qwen2" else "LlamaForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": spec.get("bos_id"),
        "eos_token_id": spec.get("eos_id"),
        "head_dim": HEAD_DIM,
        "hidden_act": "silu",
        "hidden_size": spec["hidden"],
        "initializer_range": 0.02,
        "intermediate_size": spec["inter"],
        "max_position_embeddings": max_pos,
        "model_type": spec["model_type"],
        "num_attention_heads": spec["heads"],
        "num_hidden_layers": spec["layers"],
        "num_key_value_heads": spec["kv_heads"],
        "rms_norm_eps": spec["rms_eps"],
        "rope_scaling": spec.get("rope_scaling"),
        "rope_theta": spec["rope_theta"],
        "tie_word_embeddings": spec["tie"],
        "torch_dtype": torch_dtype,
        "use_cache": True,
        "vocab_size": spec["vocab"],
    }
    assert spec["heads"] * HEAD_DIM == spec["hidden"], "fixtures keep hidden = heads * head_dim"
    if spec["model_type"] == "qwen2":
        common.update({"max_window_layers": spec["layers"], "sliding_window": None, "use_sliding_window": False,
                       "use_mrope": False})
    else:
        common.update({"attention_bias": False, "mlp_bias": False, "pretraining_tp": 1})
    return dict(sorted(common.items()))


# ----------------------------------------------------------------------------------------------------------------
# tokenizer (qwen2_gqa4)


def training_text(seed=7, n=3000):
    """Seeded English / arithmetic / reasoning-style lines to train the tiny BPE on."""
    rng = random.Random(seed)
    names = ["Alice", "Bob", "Carla", "Dan", "Eve", "Lily", "Tom", "Maya"]
    things = ["apples", "books", "coins", "marbles", "pencils", "cookies", "stamps", "shells"]
    verbs = ["has", "buys", "finds", "gives away", "sells", "loses"]
    words = ("the of and to in is that for it with as was on be by this are or from at which but not have "
             "an they we can one all there their so if would what when more about up out time only other new "
             "some could these two may first then do any like my now over such our man me even most made after "
             "also did many before must through back years where much your way well down should because each just "
             "those people how too little state good very make world still own see men work long get here between "
             "both life being under never day same another know while last might us great old year off come since "
             "against go came right used take three number triangle circle square root prime equation solve sum "
             "product divide multiply fraction integer probability answer problem therefore hence check wait "
             "hmm okay think reasoning verify compute value result function derivative").split()
    lines = []
    for _ in range(n):
        a, b = rng.randint(0, 999), rng.randint(1, 99)
        op, val = rng.choice([("+", a + b), ("-", a - b), ("*", a * b), ("/", round(a / b, 2))])
        who, what = rng.choice(names), rng.choice(things)
        kind = rng.random()
        if kind < 0.2:
            lines.append(f"What is {a} {op} {b}? Let me think step by step. {a} {op} {b} = {val}. "
                         f"The answer is \\boxed{{{val}}}.")
        elif kind < 0.4:
            lines.append(f"{who} {rng.choice(verbs)} {b} {what}. Then {who} has {a} {what}. "
                         f"How many {what} does {who} have now? So the total is {a + b}.")
        elif kind < 0.5:
            lines.append(f"Okay, so I need to find x such that {b}x + {a} = {a + b * 3}. "
                         f"Subtracting {a} gives {b}x = {b * 3}, so x = 3. Wait, let me check: "
                         f"{b}*3 + {a} = {a + b * 3}. Yes.")
        elif kind < 0.93:
            sent = " ".join(rng.choice(words) for _ in range(rng.randint(5, 18)))
            lines.append(sent[0].upper() + sent[1:] + rng.choice([".", "?", "!", ";", ":", ","]))
        else:
            lines.append(f"The quick brown fox jumps over the lazy dog {a} times; it's {rng.choice(names)}'s "
                         f"favourite game (really!), isn't it? Café, naïve, déjà vu.\n")
    return lines


def build_tokenizer(vocab_size):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from tokenizers import AddedToken

    tok = Tokenizer(models.BPE(unk_token=None, byte_fallback=False, fuse_unk=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - len(R1_ADDED), min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator(training_text(), trainer=trainer)
    base = tok.get_vocab_size()
    if base != vocab_size - len(R1_ADDED):
        raise RuntimeError(f"BPE trained to {base} tokens, wanted {vocab_size - len(R1_ADDED)}")
    for content, special in R1_ADDED:
        tok.add_tokens([AddedToken(content, special=special, normalized=False, lstrip=False, rstrip=False,
                                   single_word=False)])
    bos = tok.token_to_id(BOS_TEXT)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS_TEXT}:0 $A:0", pair=f"{BOS_TEXT}:0 $A:0 {BOS_TEXT}:1 $B:1", special_tokens=[(BOS_TEXT, bos)])
    assert tok.get_vocab_size(with_added_tokens=True) == vocab_size
    return tok


def tokenizer_config(tok, max_len):
    with open(CHAT_TEMPLATE, encoding="utf-8") as f:
        template = f.read()
    added = {}
    for content, special in R1_ADDED:
        added[str(tok.token_to_id(content))] = {"content": content, "lstrip": False, "normalized": False,
                                                "rstrip": False, "single_word": False, "special": special}
    return {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": added,
        "bos_token": BOS_TEXT,
        "chat_template": template,
        "clean_up_tokenization_spaces": False,
        "eos_token": EOS_TEXT,
        "legacy": True,
        "model_max_length": max_len,
        "pad_token": EOS_TEXT,
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizerFast",
        "unk_token": None,
        "use_default_system_prompt": False,
    }


def tokenizer_cases(tok):
    """Strings and their ids (no BOS), including a chat-template rendering."""
    import jinja2

    with open(CHAT_TEMPLATE, encoding="utf-8") as f:
        template = jinja2.Environment().from_string(f.read())
    chat = template.render(
        messages=[{"role": "user", "content": "What is 12 + 7?"},
                  {"role": "assistant", "content": "<think>\n12 + 7 = 19\n</think>\n\nThe answer is 19."},
                  {"role": "user", "content": "And 19 * 2?"}],
        add_generation_prompt=True, bos_token=BOS_TEXT, eos_token=EOS_TEXT)
    texts = [
        "What is 2 + 3? Let me think step by step.",
        "Alice has 12 apples.\n\nHow many apples does Bob have?",
        "  leading and trailing spaces  ",
        "Café, naïve, déjà vu — 中文 🙂",
        "it's Bob's; they'll we've I'm",
        "<｜User｜>Hi<｜Assistant｜><think>\nHmm.\n</think>\n\nHello!<｜end▁of▁sentence｜>",
        chat,
    ]
    return [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in texts]


# ----------------------------------------------------------------------------------------------------------------
# model building and reference values


def fill_weights(model, seed):
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith(".bias"):
                p.copy_(0.2 * noise)
            else:
                p.copy_(0.2 * noise)


def round6(x):
    return float(f"{x:.6g}")


def longest_run(ids):
    best = run = 0
    for i, t in enumerate(ids):
        run = run + 1 if i and ids[i - 1] == t else 1
        best = max(best, run)
    return best


def greedy(model, prompt, n):
    import torch
    from transformers import GenerationConfig

    gc = GenerationConfig(do_sample=False, max_new_tokens=n, eos_token_id=None, pad_token_id=None,
                          bos_token_id=None)
    with torch.no_grad():
        out = model.generate(torch.tensor([prompt]), generation_config=gc)[0, len(prompt):].tolist()
        # cross-check with an argmax loop that recomputes the whole sequence (no KV cache)
        ids, margin = list(prompt), float("inf")
        for _ in range(n):
            logits = model(torch.tensor([ids])).logits[0, -1]
            top = torch.topk(logits, 2).values
            margin = min(margin, float(top[0] - top[1]))
            ids.append(int(torch.argmax(logits)))
    if out != ids[len(prompt):]:
        raise RuntimeError(f"generate() and the argmax loop disagree: {out} vs {ids[len(prompt):]}")
    return out, margin


def make_fixture(name, spec, out_dir):
    import torch
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM

    folder = os.path.join(out_dir, name)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[spec["dtype"]]

    tok = None
    if spec.get("tokenizer"):
        tok = build_tokenizer(spec["vocab"])
        spec = dict(spec, bos_id=tok.token_to_id(BOS_TEXT), eos_id=tok.token_to_id(EOS_TEXT))

    def write_json(fname, obj):
        with open(os.path.join(folder, fname), "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False)
            f.write("\n")

    cfg_dict = real_style_config(spec, spec["dtype"])
    write_json("config.json", cfg_dict)
    config = AutoConfig.from_pretrained(folder)
    torch.manual_seed(spec["seed"])
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32, attn_implementation="eager")
    fill_weights(model, spec["seed"])
    model.to(torch_dtype).save_pretrained(folder)
    write_json("config.json", cfg_dict)  # replace transformers 5's rewrite with the real-checkpoint form
    os.chmod(os.path.join(folder, "model.safetensors"), 0o644)
    gen_path = os.path.join(folder, "generation_config.json")
    if os.path.exists(gen_path):
        os.remove(gen_path)
    if spec.get("generation_config"):
        # what R1-Distill ships: sampling on, temperature 0.6, top_p 0.95
        write_json("generation_config.json", {"bos_token_id": spec.get("bos_id"), "do_sample": True,
                                              "eos_token_id": spec.get("eos_id"), "temperature": 0.6,
                                              "top_p": 0.95})
    if tok is not None:
        tok.save(os.path.join(folder, "tokenizer.json"))
        with open(os.path.join(folder, "tokenizer.json"), encoding="utf-8") as f:
            tj = json.load(f)
        # the Python binding serialises its own defaults here; use the values Qwen2's tokenizer.json has
        tj["decoder"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
        write_json("tokenizer.json", tj)
        write_json("tokenizer_config.json", tokenizer_config(tok, spec.get("max_pos", 512)))

    # Reference values come from the files on disk, loaded back and computed in float32.
    ref = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
    check_loaded(ref, model, spec, torch_dtype)

    rng = random.Random(spec["seed"])
    vocab = spec["vocab"]
    if tok is not None:
        seq_ids = [tok.encode("What is 2 + 3?").ids[:SEQ_LENGTHS[0]],
                   tok.encode("Alice has 12 apples. Then she buys 7 more, so she has")
                   .ids[:SEQ_LENGTHS[1]]]
        seq_ids = [s + [rng.randrange(vocab) for _ in range(n - len(s))] for s, n in zip(seq_ids, SEQ_LENGTHS)]
    else:
        seq_ids = [[rng.randrange(vocab) for _ in range(n)] for n in SEQ_LENGTHS]

    sequences = []
    with torch.no_grad():
        for ids in seq_ids:
            logits = ref(torch.tensor([ids])).logits[0].float()
            sequences.append({"ids": ids, "logits": [[round6(v) for v in row] for row in logits.tolist()]})
    greedy_runs = []
    for ids in seq_ids:
        # Start from the logits sequence; if some step is a near tie (an engine could then differ only by
        # rounding) or the output is stuck repeating a token, redraw the prompt's random part.
        for _ in range(50):
            out, margin = greedy(ref, ids, GREEDY_TOKENS)
            if margin >= MIN_MARGIN and longest_run(out) <= MAX_RUN:
                break
            keep = 1 if tok is not None else 0  # keep BOS
            ids = ids[:keep] + [rng.randrange(vocab) for _ in range(len(ids) - keep)]
        else:
            raise RuntimeError(f"{name}: no greedy prompt with margin >= {MIN_MARGIN} and runs <= {MAX_RUN}")
        greedy_runs.append({"prompt_ids": ids, "output_ids": out, "min_top2_margin": round6(margin)})

    expected = {
        "format": 1,
        "name": name,
        "about": spec["about"],
        "model_type": spec["model_type"],
        "dtype": spec["dtype"],
        "compute_dtype": "float32",
        "compute_note": ("transformers forward in float32 (eager attention, CPU) on the weights as stored"
                         + ("" if spec["dtype"] == "float32" else f", upcast exactly from {spec['dtype']}")),
        "seed": spec["seed"],
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "logits_rounding": "6 significant digits",
        "sequences": sequences,
        "greedy": greedy_runs,
    }
    if tok is not None:
        expected["tokenizer_cases"] = tokenizer_cases(tok)
    with open(os.path.join(folder, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, separators=(",", ":"), ensure_ascii=False)
        f.write("\n")

    outs = [g["output_ids"] for g in greedy_runs]
    print(f"{name}: {sum(p.numel() for p in ref.parameters()):,} params, dtype {spec['dtype']}; greedy distinct "
          f"tokens {[len(set(o)) for o in outs]}, longest runs {[longest_run(o) for o in outs]}, min top-2 margin "
          f"{min(g['min_top2_margin'] for g in greedy_runs):.4f}; logits std "
          f"{torch.tensor(sequences[1]['logits']).std():.2f}")


def check_loaded(ref, built, spec, torch_dtype):
    """The reloaded model must be the saved weights (upcast) under the intended config."""
    import torch

    want = {k: v.to(torch_dtype).float() for k, v in built.state_dict().items()}
    got = ref.state_dict()
    for k, v in want.items():
        if not torch.equal(got[k], v):
            raise RuntimeError(f"{k}: reloaded weights differ from the saved ones")
    cfg = ref.config
    assert cfg.tie_word_embeddings == spec["tie"]
    assert (ref.lm_head.weight.data_ptr() == ref.model.embed_tokens.weight.data_ptr()) == spec["tie"]
    params = getattr(cfg, "rope_parameters", None) or {}
    theta = params.get("rope_theta", getattr(cfg, "rope_theta", None))
    assert theta == spec["rope_theta"], (theta, spec["rope_theta"])
    if spec.get("rope_scaling"):
        assert params.get("rope_type") == "llama3", params
        inv = ref.model.rotary_emb.inv_freq.double()
        base = 1.0 / (spec["rope_theta"] ** (torch.arange(0, HEAD_DIM, 2, dtype=torch.float64) / HEAD_DIM))
        ratio = (base / inv).tolist()
        kept = sum(abs(r - 1) < 1e-6 for r in ratio)
        full = sum(abs(r - spec["rope_scaling"]["factor"]) < 1e-6 for r in ratio)
        print(f"  llama3 rope: {kept} frequencies kept, {full} divided by the factor, "
              f"{len(ratio) - kept - full} interpolated")
        assert kept > 0 and full > 0 and kept + full < len(ratio)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("names", nargs="*", help=f"fixtures to (re)generate; default all: {', '.join(FIXTURES)}")
    ap.add_argument("--out", default=OUT_DIR, help="parent folder (default tests/fixtures/models)")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    torch.use_deterministic_algorithms(True)
    for name in args.names or FIXTURES:
        if name not in FIXTURES:
            sys.exit(f"unknown fixture {name!r}; known: {', '.join(FIXTURES)}")
        make_fixture(name, FIXTURES[name], args.out)


if __name__ == "__main__":
    main()
