#!/usr/bin/env python3
"""The summary table of scripts/train_demo.sh, as markdown on stdout: held-out pass@1 / pass@8 / well-formed rate of
every model (from r1 eval's summary files), wall time of every stage, and training throughput.

    python3 tools/demo_report.py DEMO_OUT_DIR
"""
import json
import re
import sys
from pathlib import Path


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_log(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def matmul_params_per_token(config):
    """Weights of the matrices one token passes through (attention projections, the dense MLP or the shared and
    top-k routed experts plus the router, lm_head): training costs about 6 FLOPs per such weight per token (forward
    2, backward 4); attention scores and elementwise work are left out."""
    h, v, layers = config["hidden_size"], config["vocab_size"], config["num_hidden_layers"]
    heads = config["num_attention_heads"]
    total = h * v
    for layer in range(layers):
        if config["model_type"] in ("deepseek_v2", "deepseek_v3"):
            qk = config["qk_nope_head_dim"] + config["qk_rope_head_dim"]
            q_rank = config.get("q_lora_rank")
            total += h * q_rank + q_rank * heads * qk if q_rank else h * heads * qk
            total += h * (config["kv_lora_rank"] + config["qk_rope_head_dim"])
            total += config["kv_lora_rank"] * heads * (config["qk_nope_head_dim"] + config["v_head_dim"])
            total += heads * config["v_head_dim"] * h
            if layer < config.get("first_k_dense_replace", 0):
                total += 3 * h * config["intermediate_size"]
            else:
                experts = config.get("n_shared_experts", 0) + config["num_experts_per_tok"]
                total += 3 * h * config["moe_intermediate_size"] * experts + h * config["n_routed_experts"]
        else:
            head_dim = config.get("head_dim", h // heads)
            kv = config.get("num_key_value_heads", heads)
            total += 2 * h * heads * head_dim + 2 * h * kv * head_dim + 3 * h * config["intermediate_size"]
    return total


def fp32_peak(out):
    """GFLOP/s from `r1 bench --roofline`'s first line, saved by the demo as roofline.txt."""
    path = out / "roofline.txt"
    if not path.exists():
        return None
    m = re.search(r"fp32 ([0-9.]+) GFLOP/s", path.read_text())
    return float(m.group(1)) if m else None


def main():
    out = Path(sys.argv[1])
    times = {p.name: int(p.read_text()) for p in (out / "times").iterdir()}

    def seconds(*stages):
        return sum(times.get(s, 0) for s in stages)

    def edge(run):
        """The checkpoint the demo picked as the edge of competence, as "step N"."""
        path = out / f"{run}.edge"
        if not path.exists():
            return "?"
        name = Path(path.read_text().strip()).name
        return "the last step" if name == "final" else "step " + name.removeprefix("checkpoint-")

    rows = [
        (f"(a) teacher after SFT, at the edge ({edge('a-sft')})", "a-sft", ("a-sft", "a-edge")),
        ("(b) teacher after SFT + GRPO", "b-grpo", ("a-sft", "a-edge", "b-grpo")),
        ("(b) exported in bf16 (OUT/tiny-r1)", "tiny-r1-bf16", ("a-sft", "a-edge", "b-grpo", "ship")),
        ("teacher, SFT to the end of its schedule instead of GRPO", "a-sft-final", ("a-sft",)),
        ("(c) student distilled from (b)", "c-distill", ("c-sample", "c-distill")),
        (f"(c) student after SFT, at its edge ({edge('c-sft')})", "c-sft", ("c-sft", "c-edge")),
        ("(c) student after SFT + GRPO", "c-rl", ("c-sft", "c-edge", "c-rl")),
    ]
    print("| model | held-out pass@1 | pass@8 | cons@8 | well-formed | training wall time |")
    print("|---|---|---|---|---|---|")
    results = {}
    for label, name, stages in rows:
        path = out / "eval" / f"{name}.summary.json"
        if not path.exists():
            continue
        s = load_json(path)
        results[name] = s
        print(f"| {label} | {100 * s['pass@1']:.1f}% ± {100 * s['pass@1_stderr']:.1f} | "
              f"{100 * s['pass@k']['pass@8']:.1f}% | {100 * s['cons@k']:.1f}% | "
              f"{100 * (1 - s['format_failure_rate']):.1f}% | {seconds(*stages)} s |")
    print()
    if "a-sft" in results and "b-grpo" in results:
        gain = 100 * (results["b-grpo"]["pass@1"] - results["a-sft"]["pass@1"])
        print(f"GRPO raised held-out pass@1 by {gain:+.1f} points; stages (a) + (b) took "
              f"{seconds('a-sft', 'a-edge', 'b-grpo')} s (SFT, choosing the edge, GRPO; "
              f"{seconds('a-sft', 'a-edge', 'a-eval', 'b-grpo', 'b-eval')} s with their held-out evaluations).")
    if "c-distill" in results and "c-rl" in results:
        print(f"Student: distilled {100 * results['c-distill']['pass@1']:.1f}% vs SFT + GRPO "
              f"{100 * results['c-rl']['pass@1']:.1f}% held-out pass@1.")
    sample_log = out / "c-sample.log"
    if sample_log.exists():
        print(f"Rejection sampling: {sample_log.read_text().strip().splitlines()[-1]}")
    print()
    peak = fp32_peak(out)
    if peak:
        print(f"Training throughput (this machine's FP32 GEMM peak by `r1 bench --roofline`: {peak:.1f} GFLOP/s; "
              "6 FLOPs per matrix weight a token passes through):")
        print()
    for name in ("a-sft", "b-grpo", "c-distill", "c-sft", "c-rl"):
        log_path = out / name / "train_log.jsonl"
        if not log_path.exists():
            continue
        log = read_log(log_path)
        config = load_json(out / name / "final" / "config.json")
        flops = 6 * matmul_params_per_token(config)
        if "training_tokens_per_s" in log[-1]:
            train = sum(r["training_tokens_per_s"] for r in log) / len(log)
            gen = sum(r["generation_tokens_per_s"] for r in log) / len(log)
            line = f"- {name} ({config['model_type']}): {len(log)} GRPO steps, generation {gen:.0f} tok/s, " \
                   f"training {train:.0f} tok/s"
            rate = train
        else:
            tokens = sum(r["tokens"] for r in log)
            rate = sum(r["tokens_per_s"] for r in log) / len(log)
            line = f"- {name} ({config['model_type']}): {len(log)} SFT steps, {tokens} tokens, {rate:.0f} tok/s, " \
                   f"final loss {log[-1]['loss']:.4f}"
        gflops = rate * flops / 1e9
        line += f" = {gflops:.1f} GFLOP/s"
        if peak:
            line += f" ({100 * gflops / peak:.0f}% of FP32 peak)"
        print(line)


if __name__ == "__main__":
    main()
