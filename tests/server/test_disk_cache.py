"""--cache-dir: the prefix cache outlives the process. SIGTERM flushes it and exits 0; a restarted server serves a
repeated prompt's prefix from disk with the same greedy output; a corrupted block file is ignored."""
import glob
import os
import tempfile
import unittest

from server_util import Server, long_prompt

REQUEST = {"messages": [{"role": "user", "content": long_prompt()}], "max_tokens": 16, "temperature": 0}


class DiskCacheTest(unittest.TestCase):
    def run_once(self, cache_dir):
        with Server("--cache-dir", cache_dir) as server:
            status, _, body = server.post("/v1/chat/completions", REQUEST)
            self.assertEqual(status, 200, body)
            metrics = server.metrics()
        return body, metrics

    def test_restart_serves_the_prefix_from_disk(self):
        with tempfile.TemporaryDirectory() as cache_dir:
            first, _ = self.run_once(cache_dir)  # the `with` checks SIGTERM -> exit code 0
            self.assertEqual(first["usage"]["prompt_cache_hit_tokens"], 0)
            blocks = glob.glob(os.path.join(cache_dir, "**", "*.kvb"), recursive=True)
            self.assertTrue(blocks, "no KV blocks were written to the cache folder")

            second, metrics = self.run_once(cache_dir)
            self.assertGreater(second["usage"]["prompt_cache_hit_tokens"], 0)
            self.assertGreater(metrics["r1_disk_cache_hits_total"], 0)
            self.assertEqual(second["choices"][0]["message"], first["choices"][0]["message"])

            # A flipped byte in the middle of one block file: that block is rejected, the output stays right.
            victim = sorted(blocks)[0]
            with open(victim, "r+b") as f:
                f.seek(os.path.getsize(victim) // 2)
                byte = f.read(1)
                f.seek(-1, os.SEEK_CUR)
                f.write(bytes([byte[0] ^ 0xFF]))
            third, metrics = self.run_once(cache_dir)
            self.assertEqual(third["choices"][0]["message"], first["choices"][0]["message"])
            self.assertGreater(metrics["r1_disk_cache_rejected_total"], 0)


if __name__ == "__main__":
    unittest.main()
