#!/usr/bin/env python3
"""save_hf -> transformers: checkpoints written by r1's trainer load in transformers with the same logits.

Runs `r1_tests --gtest_filter=SaveHf.ExportForTransformers` with R1_TRAIN_EXPORT_DIR set (every training fixture
after two AdamW steps, saved with TrainModel::save_hf, plus r1's logits on those parameters), then loads each folder
with AutoModelForCausalLM.from_pretrained (float32, eager attention) and compares the logits.

Usage: python3 tests/train/test_save_hf.py --r1-tests build/r1_tests
"""

import argparse
import os
import subprocess
import sys
import tempfile
import unittest

R1_TESTS = None
FIXTURES = ["qwen2_untied", "qwen2_tied", "deepseek_v3"]


class SaveHfLoadsInTransformers(unittest.TestCase):
    def test_logits_match(self):
        import torch
        from safetensors.torch import load_file
        from transformers import AutoModelForCausalLM

        with tempfile.TemporaryDirectory() as out:
            env = dict(os.environ, R1_TRAIN_EXPORT_DIR=out)
            run = subprocess.run([R1_TESTS, "--gtest_filter=SaveHf.ExportForTransformers"], env=env,
                                 capture_output=True, text=True, timeout=300)
            self.assertEqual(run.returncode, 0, run.stdout[-3000:] + run.stderr[-3000:])
            for name in FIXTURES:
                with self.subTest(name):
                    folder = os.path.join(out, name)
                    model, info = AutoModelForCausalLM.from_pretrained(
                        folder, dtype=torch.float32, attn_implementation="eager", output_loading_info=True)
                    self.assertFalse(info["missing_keys"], info)
                    self.assertFalse(info["unexpected_keys"], info)
                    self.assertFalse(info["mismatched_keys"], info)
                    want = load_file(folder + ".r1_logits.safetensors")
                    with torch.no_grad():
                        logits = model(input_ids=want["tokens"].long()[None]).logits[0]
                    err = float((logits - want["logits"]).norm() / want["logits"].norm())
                    print(f"{name}: transformers vs r1 logits, relative error {err:.2e}")
                    self.assertLess(err, 1e-5)


if __name__ == "__main__":
    # transformers and torch are offline oracles, not dependencies of r1: without them the test is skipped (CTest
    # SKIP_RETURN_CODE 77), as the browser test is without chromium.
    try:
        import safetensors  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as e:
        print(f"skipped: {e} (pip install torch transformers safetensors to run it)")
        sys.exit(77)
    parser = argparse.ArgumentParser()
    parser.add_argument("--r1-tests", required=True)
    args, rest = parser.parse_known_args()
    R1_TESTS = os.path.abspath(args.r1_tests)
    unittest.main(argv=[sys.argv[0]] + rest)
