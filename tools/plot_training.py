#!/usr/bin/env python3
"""Plots the curves of r1 training runs (train_log.jsonl written by `r1 train sft` / `r1 train grpo`) to PNG.

    python3 tools/plot_training.py OUT.png --sft a-sft --grpo b-grpo [--grpo student-rl ...] [--title T]
        [--line "distilled student=0.41" ...]

One figure: the SFT loss of every --sft run; per --grpo run the mean training reward and accuracy per step
(a moving average over --smooth steps, the raw points faint) and the held-out pass@1 measured during training
(eval_pass_at_1, when the run had --eval-every); --line draws a horizontal reference (a pass@1 from r1 eval) on the
held-out panel. Needs matplotlib (pip install matplotlib).
"""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_log(run_dir):
    path = Path(run_dir) / "train_log.jsonl"
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def moving_average(values, n):
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= n:
            total -= values[i - n]
        out.append(total / min(i + 1, n))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--sft", action="append", default=[], help="an SFT run folder (label=dir or dir)")
    parser.add_argument("--grpo", action="append", default=[], help="a GRPO run folder (label=dir or dir)")
    parser.add_argument("--line", action="append", default=[], help="label=pass@1 drawn on the held-out panel")
    parser.add_argument("--smooth", type=int, default=10)
    parser.add_argument("--title", default="")
    args = parser.parse_args()

    def labelled(spec):
        label, _, path = spec.rpartition("=")
        return (label or Path(path).name), path

    panels = 1 + 2 * bool(args.grpo) if args.sft else 2 * bool(args.grpo)
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4.2), squeeze=False)
    axes = list(axes[0])
    if args.sft:
        ax = axes.pop(0)
        for spec in args.sft:
            label, path = labelled(spec)
            log = read_log(path)
            ax.plot([r["step"] for r in log], [r["loss"] for r in log], label=label, lw=1)
        ax.set_yscale("log")
        ax.set_xlabel("SFT step")
        ax.set_ylabel("loss (masked next-token cross-entropy)")
        ax.set_title("SFT")
        ax.grid(alpha=0.3)
        ax.legend()
    if args.grpo:
        reward_ax, heldout_ax = axes
        for i, spec in enumerate(args.grpo):
            label, path = labelled(spec)
            log = read_log(path)
            steps = [r["step"] for r in log]
            color = f"C{i}"
            for key, style in (("reward", "-"), ("accuracy", "--")):
                values = [r[key] for r in log]
                reward_ax.plot(steps, values, color=color, alpha=0.15, lw=0.8)
                reward_ax.plot(steps, moving_average(values, args.smooth), color=color, ls=style,
                               label=f"{label}: train {key}")
            points = [(r["step"], r["eval_pass_at_1"]) for r in log if "eval_pass_at_1" in r]
            if points:
                heldout_ax.plot(*zip(*points), "o-", color=color, label=f"{label}: held-out pass@1")
                formats = [(r["step"], r["eval_format"]) for r in log if "eval_format" in r]
                heldout_ax.plot(*zip(*formats), ":", color=color, alpha=0.6, label=f"{label}: well-formed")
        for j, spec in enumerate(args.line):
            label, value = spec.rsplit("=", 1)
            heldout_ax.axhline(float(value), color=f"C{len(args.grpo) + j}", ls="-.", label=label)
        reward_ax.set_xlabel("GRPO step")
        reward_ax.set_ylabel(f"per-step mean (moving average over {args.smooth})")
        reward_ax.set_title("GRPO: reward (accuracy + format) and accuracy")
        heldout_ax.set_xlabel("GRPO step")
        heldout_ax.set_ylabel("held-out pass@1 (8 samples, T 0.6, top-p 0.95)")
        heldout_ax.set_ylim(0, 1.02)
        heldout_ax.set_title("Held-out evaluation during GRPO")
        for ax in (reward_ax, heldout_ax):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
