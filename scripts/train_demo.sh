#!/usr/bin/env bash
# The R1 recipe in miniature, on this machine's CPU: a tiny deepseek_v3 (MLA + DeepSeekMoE, 3.2M parameters,
# data/train/tiny-r1-v3) trained from scratch to add 3-digit numbers with a written-out scratchpad.
#   (a) SFT on synthetic reasoning traces (a 400-step cosine schedule, a checkpoint every 20 steps); RL starts from
#       the edge of competence: the first checkpoint that solves EDGE_PASS (20%) of 64 *training* problems
#       (pass@1 over 8 samples; the held-out problems are never looked at to choose it);
#   (b) GRPO with rule-based rewards (the boxed answer checked exactly, plus the <think> format);
#   (c) R1's Table 6 in miniature: a smaller dense student (qwen2, 0.5M parameters) distilled from the RL model's
#       correct traces (rejection sampling) vs the same student trained the teacher's way (SFT, then GRPO).
# Every model is measured with `r1 eval` on 200 held-out problems (never trained on): 8 samples at temperature 0.6,
# top-p 0.95, the R1 paper's protocol. The same SEED gives the same numbers and curves.
#
#   scripts/train_demo.sh [OUT_DIR]          (default: demo-out; SEED=1 by default)
#
# Writes OUT_DIR/summary.md (the table), OUT_DIR/curves.png, every run's train_log.jsonl and checkpoints, the r1
# eval results, and OUT_DIR/tiny-r1: the RL model in bf16 (the form models/tiny-r1 ships in). Stages already
# finished are not redone when the script is run again (each training run
# resumes from its last checkpoint).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-demo-out}
SEED=${SEED:-1}
R1=${R1:-build/r1}
TEACHER=data/train/tiny-r1-v3/config.json
STUDENT=data/train/tiny-r1-v3/student-qwen2.json
TASK=(--task addition --digits 3)

# Stage settings (the defaults are the run reported in the README and in the closing note of issue 9).
SFT_DATA=${SFT_DATA:-20000}      # synthetic traces available to SFT
SFT_STEPS=${SFT_STEPS:-400}      # (a) optimizer steps of 16 sequences (the cosine schedule's length)
EDGE_PASS=${EDGE_PASS:-0.2}      #     training-set pass@1 of the checkpoint GRPO starts from
SFT_LR=${SFT_LR:-3e-3}
GRPO_STEPS=${GRPO_STEPS:-150}    # (b) generation steps, each GRPO_ITERATIONS optimizer updates
GRPO_ITERATIONS=${GRPO_ITERATIONS:-2}
GRPO_PROMPTS=${GRPO_PROMPTS:-32} #     problems per step, 8 samples each
GRPO_LR=${GRPO_LR:-5e-5}
GRPO_TEMPERATURE=${GRPO_TEMPERATURE:-1.0}
DISTILL_PROBLEMS=${DISTILL_PROBLEMS:-3000}  # (c) training problems the RL model answers 4 times each
EVAL_PROBLEMS=200

[ -x "$R1" ] || make build
python3 -c 'import matplotlib' 2>/dev/null || pip install --quiet matplotlib
mkdir -p "$OUT"
log() { printf '[%s] %s\n' "$(date +%T)" "$*" | tee -a "$OUT/demo.log" >&2; }
now() { date +%s; }

# Runs a stage once: the seconds it took go to OUT/times/NAME (a rerun skips finished stages).
stage() {
  local name=$1
  shift
  mkdir -p "$OUT/times"
  if [ -f "$OUT/times/$name" ]; then
    log "$name: done before ($(cat "$OUT/times/$name") s)"
    return
  fi
  log "$name: $*"
  local t0
  t0=$(now)
  "$@" 2>&1 | tee -a "$OUT/$name.log" >&2
  echo $(($(now) - t0)) >"$OUT/times/$name"
}

# The first checkpoint of an SFT run (in step order, then final/) whose pass@1 on 64 training problems reaches
# EDGE_PASS; its path goes to OUT/NAME.edge, and every checkpoint's figure to OUT/NAME.edge.log.
pick_edge() {
  local name=$1 ckpt pass
  : >"$OUT/$name.edge.log"
  for ckpt in $(ls -d "$OUT/$name"/checkpoint-* | sort -V) "$OUT/$name/final"; do
    pass=$("$R1" train eval -m "$ckpt" "${TASK[@]}" --split train -n 64 -k 8 --max-tokens 128 --seed "$SEED" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["pass_at_1"])')
    echo "$ckpt $pass" | tee -a "$OUT/$name.edge.log"
    if python3 -c "import sys; sys.exit(0 if $pass >= $EDGE_PASS else 1)"; then break; fi
  done
  echo "$ckpt" >"$OUT/$name.edge"
}

# pass@1, pass@8 and the format rate of a model on the held-out set, by the R1 protocol.
heldout_eval() {
  local name=$1 model=$2
  "$R1" eval --data "$OUT/data/heldout.jsonl" -m "$model" -k 8 --temperature 0.6 --top-p 0.95 --max-tokens 128 \
    --seed "$SEED" --out "$OUT/eval/$name.jsonl" -q
}

GRPO_FLAGS=("${TASK[@]}" --num-generations 8 --prompts-per-step "$GRPO_PROMPTS" --steps "$GRPO_STEPS"
  --num-iterations "$GRPO_ITERATIONS"
  --lr "$GRPO_LR" --warmup-steps 5 --beta 0 --loss-type dapo --epsilon 0.2 --epsilon-high 0.28
  --temperature "$GRPO_TEMPERATURE" --top-p 1.0 --max-completion-length 128 --eval-every 10
  --eval-problems 100 --eval-k 8 --save-every 25 --seed "$SEED")
SFT_FLAGS=(--lr "$SFT_LR" --min-lr 3e-4 --warmup-steps 30 --steps "$SFT_STEPS" --batch-size 16 --save-every 20
  --log-every 25 --seed "$SEED" --init-seed "$SEED")

mkdir -p "$OUT/data" "$OUT/eval"
stage data-train "$R1" train data "${TASK[@]}" --split train --n "$SFT_DATA" --seed "$SEED" --out "$OUT/data/sft.jsonl"
stage data-heldout "$R1" train data "${TASK[@]}" --split test --n "$EVAL_PROBLEMS" --seed $((SEED + 1000)) \
  --format eval --out "$OUT/data/heldout.jsonl"

# ---- (a) + (b): the teacher ------------------------------------------------------------------------------------
stage a-sft "$R1" train sft --config "$TEACHER" --data "$OUT/data/sft.jsonl" -o "$OUT/a-sft" "${SFT_FLAGS[@]}"
stage a-edge pick_edge a-sft
stage a-eval heldout_eval a-sft "$(cat "$OUT/a-sft.edge")"
stage a-eval-final heldout_eval a-sft-final "$OUT/a-sft/final"
stage b-grpo "$R1" train grpo -m "$(cat "$OUT/a-sft.edge")" -o "$OUT/b-grpo" "${GRPO_FLAGS[@]}"
stage b-eval heldout_eval b-grpo "$OUT/b-grpo/final"

# ---- (c): distillation vs RL for a smaller student -------------------------------------------------------------
stage c-sample "$R1" train sample -m "$OUT/b-grpo/final" "${TASK[@]}" --split train --n "$DISTILL_PROBLEMS" -k 4 \
  --keep 1 --seed $((SEED + 2000)) --max-tokens 128 --out "$OUT/data/distill.jsonl"
stage c-distill "$R1" train sft --config "$STUDENT" --data "$OUT/data/distill.jsonl" -o "$OUT/c-distill" \
  "${SFT_FLAGS[@]}"
stage c-distill-eval heldout_eval c-distill "$OUT/c-distill/final"
stage c-sft "$R1" train sft --config "$STUDENT" --data "$OUT/data/sft.jsonl" -o "$OUT/c-sft" "${SFT_FLAGS[@]}"
stage c-edge pick_edge c-sft
stage c-sft-eval heldout_eval c-sft "$(cat "$OUT/c-sft.edge")"
stage c-rl "$R1" train grpo -m "$(cat "$OUT/c-sft.edge")" -o "$OUT/c-rl" "${GRPO_FLAGS[@]}"
stage c-rl-eval heldout_eval c-rl "$OUT/c-rl/final"

# ---- ship: the RL model with its matrices in bf16 (half the size), checked by the same held-out evaluation --------
stage ship "$R1" train export -m "$OUT/b-grpo/final" -o "$OUT/tiny-r1" --dtype bf16
stage ship-eval heldout_eval tiny-r1-bf16 "$OUT/tiny-r1"

# ---- report ----------------------------------------------------------------------------------------------------
# This machine's FP32 GEMM peak, against which training throughput is reported (nothing else should be running).
stage roofline sh -c "'$R1' bench -m models/stories260K --roofline -p 16 -n 0 > '$OUT/roofline.txt'"
python3 tools/plot_training.py "$OUT/curves.png" --sft "teacher SFT=$OUT/a-sft" --sft "student SFT=$OUT/c-sft" \
  --sft "student distilled=$OUT/c-distill" --grpo "teacher GRPO=$OUT/b-grpo" --grpo "student GRPO=$OUT/c-rl" \
  --title "r1 train: tiny deepseek_v3 and a qwen2 student, 3-digit addition (seed $SEED)"
python3 tools/demo_report.py "$OUT" | tee "$OUT/summary.md"
