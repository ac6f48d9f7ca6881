#!/usr/bin/env python3
"""Writes tests/fixtures/eval/math500_answers.jsonl: a sample of MATH-500 reference answers, each with the content of
the last \\boxed{...} of the row's reference solution, for tests/eval/math_answer_test.cc.

Source: shared/data/eval/math500/test.jsonl = openai/prm800k prm800k/math_splits/test.jsonl (MIT, OpenAI; the MATH
problems: Hendrycks et al., MIT). See shared/data/MANIFEST.md section 6.

The box is found here with its own small brace matcher (not r1's), so the test compares two independent readings.
Rows kept: every tenth row, plus every row whose answer has a feature the checker must handle (\\text, \\mbox,
degrees, dollars, commas, \\frac, \\sqrt, intervals). Rows whose solution has no closed box are skipped.

Usage: python3 tools/make_math500_answer_fixture.py [--shared /work/shared/data]
"""

import argparse
import json
from pathlib import Path

FEATURES = ("\\text", "\\mbox", "circ", "\\$", ",", "\\frac", "\\dfrac", "\\sqrt", "\\cup", "\\pi", "=", ".")


def last_boxed(text):
    """Content of the last \\boxed{...} with balanced braces (\\{ and \\} escaped), or None."""
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0 or text[start + len("\\boxed"):i].strip():
        return None
    depth, j = 0, i
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1:j]
        j += 1
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="/work/shared/data")
    args = ap.parse_args()
    rows = [json.loads(l) for l in open(Path(args.shared) / "eval/math500/test.jsonl", encoding="utf-8")]
    out = Path(__file__).resolve().parent.parent / "tests/fixtures/eval/math500_answers.jsonl"
    kept = 0
    per_feature = {f: 0 for f in FEATURES}
    with open(out, "w", encoding="utf-8") as f:
        for n, row in enumerate(rows):
            answer = row["answer"]
            wanted = [x for x in FEATURES if x in answer and per_feature[x] < 6]
            if n % 10 != 0 and not wanted:
                continue
            boxed = last_boxed(row["solution"])
            if boxed is None:
                continue
            for x in wanted:
                per_feature[x] += 1
            f.write(json.dumps({"unique_id": row["unique_id"], "answer": answer, "boxed": boxed},
                               ensure_ascii=False) + "\n")
            kept += 1
    print(f"{out}: {kept} rows")


if __name__ == "__main__":
    main()
