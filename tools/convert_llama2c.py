#!/usr/bin/env python3
"""Convert a llama2.c legacy checkpoint + tokenizer into a Hugging Face Llama folder.

Input (karpathy/llama2.c formats):
  * model .bin, "legacy" (version 0) layout: 7 little-endian int32 ``dim, hidden_dim, n_layers, n_heads,
    n_kv_heads, vocab_size, seq_len`` (a negative vocab_size means the classifier is *not* shared with the
    embedding), then float32 arrays in this order: token_embedding_table [vocab, dim], rms_att [L, dim],
    wq [L, dim, dim], wk [L, kv_dim, dim], wv [L, kv_dim, dim], wo [L, dim, dim], rms_ffn [L, dim],
    w1 (gate) [L, hidden, dim], w2 (down) [L, dim, hidden], w3 (up) [L, hidden, dim], rms_final [dim],
    freq_cis_real [seq_len, head_size/2], freq_cis_imag [same], and wcls [vocab, dim] only when not shared.
    Matrices are [out, in] row-major, the same as torch.nn.Linear.weight.
  * tokenizer .bin: int32 max_token_length, then per token {float32 score, int32 length, bytes}. llama2.c stores
    SentencePiece's U+2581 ("▁") as a plain space, BOS/EOS as "\\n<s>\\n" / "\\n</s>\\n".

Output folder: config.json, generation_config.json, model.safetensors (float32, HF Llama names),
tokenizer.json (SentencePiece-style BPE with byte fallback, as HF builds for Llama-2), tokenizer_config.json and
README.md. Only numpy, json and the standard library are used (the safetensors file is written by
tools/safetensors_np.py).

RoPE layout: llama2.c's run.c rotates interleaved pairs (2i, 2i+1) of each head while HF Llama rotates the two
halves (i, i + head_dim/2), so the rows of q_proj and k_proj are permuted per head to [0, 2, 4, ..., 1, 3, 5, ...]
(the permutation HF's own Llama conversion script applies to Meta checkpoints).

The module also holds ``llama2c_encode``, a transcription of run.c's ``encode`` (dummy-prefix space, per-codepoint
lookup with byte fallback, then greedy merging of the adjacent pair whose concatenation has the highest score),
used by tools/verify_stories260k.py as the reference the tokenizer.json must agree with.

Example (the command that produced models/stories260K):
  python3 tools/convert_llama2c.py \\
      --checkpoint /work/shared/data/tiny-models/stories260K/stories260K.bin \\
      --tokenizer /work/shared/data/tiny-models/stories260K/tok512.bin \\
      --out models/stories260K
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402

SPIECE_SPACE = "\u2581"  # "▁"
UNK, BOS, EOS = 0, 1, 2
SPECIAL_PIECES = {UNK: "<unk>", BOS: "<s>", EOS: "</s>"}


# ----------------------------------------------------------------------------------------------------------------
# llama2.c readers


def read_checkpoint(path: str):
    """Returns (header dict, weights dict of float32 numpy arrays in llama2.c's own shapes)."""
    with open(path, "rb") as f:
        raw = f.read()
    dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len = struct.unpack_from("<7i", raw, 0)
    shared = vocab > 0
    vocab = abs(vocab)
    head = dim // n_heads
    kv_dim = n_kv_heads * head
    hdr = dict(dim=dim, hidden_dim=hidden, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv_heads,
               vocab_size=vocab, seq_len=seq_len, shared_classifier=shared, head_size=head)
    data = np.frombuffer(raw, dtype="<f4", offset=7 * 4)
    layout = [
        ("token_embedding_table", (vocab, dim)),
        ("rms_att", (n_layers, dim)),
        ("wq", (n_layers, dim, dim)),
        ("wk", (n_layers, kv_dim, dim)),
        ("wv", (n_layers, kv_dim, dim)),
        ("wo", (n_layers, dim, dim)),
        ("rms_ffn", (n_layers, dim)),
        ("w1", (n_layers, hidden, dim)),
        ("w2", (n_layers, dim, hidden)),
        ("w3", (n_layers, hidden, dim)),
        ("rms_final", (dim,)),
        ("freq_cis_real", (seq_len, head // 2)),
        ("freq_cis_imag", (seq_len, head // 2)),
    ]
    if not shared:
        layout.append(("wcls", (vocab, dim)))
    weights, pos = {}, 0
    for name, shape in layout:
        n = int(np.prod(shape))
        if pos + n > data.size:
            raise ValueError(f"{path}: file too short while reading {name}")
        weights[name] = data[pos:pos + n].reshape(shape).astype(np.float32)
        pos += n
    if pos != data.size:
        raise ValueError(f"{path}: {data.size - pos} trailing floats; not a legacy llama2.c checkpoint?")
    return hdr, weights


def read_tokenizer(path: str, vocab_size: int):
    """Returns (pieces as bytes, scores as floats, max_token_length)."""
    with open(path, "rb") as f:
        raw = f.read()
    (max_len,) = struct.unpack_from("<i", raw, 0)
    pos, pieces, scores = 4, [], []
    for _ in range(vocab_size):
        score, n = struct.unpack_from("<fi", raw, pos)
        pos += 8
        pieces.append(raw[pos:pos + n])
        scores.append(score)
        pos += n
    if pos != len(raw):
        raise ValueError(f"{path}: {len(raw) - pos} trailing bytes after {vocab_size} tokens")
    return pieces, scores, max_len


# ----------------------------------------------------------------------------------------------------------------
# Reference encoder: run.c's encode(), on llama2.c's own vocabulary (spaces, not "▁").


class Llama2cEncoder:
    def __init__(self, pieces, scores):
        self.pieces = list(pieces)
        self.scores = list(scores)
        self.index = {}
        for i, p in enumerate(self.pieces):
            self.index.setdefault(p, i)

    def encode(self, text: str, bos: bool = True, eos: bool = False):
        data = text.encode("utf-8")
        tokens = [BOS] if bos else []
        if data:
            tokens.append(self.index[b" "])  # dummy prefix, as SentencePiece's add_dummy_prefix
        i = 0
        while i < len(data):
            # one UTF-8 codepoint: a lead byte and at most 3 continuation bytes
            j = i + 1
            while j < len(data) and (data[j] & 0xC0) == 0x80 and j - i < 4:
                j += 1
            cp = data[i:j]
            tid = self.index.get(cp)
            if tid is not None:
                tokens.append(tid)
            else:
                tokens.extend(b + 3 for b in cp)  # byte fallback: <0x00> is id 3
            i = j
        while True:  # BOS takes part like in run.c; no piece starts with "\n<s>\n", so it never merges
            best_score, best_id, best_idx = -1e10, -1, -1
            for k in range(len(tokens) - 1):
                tid = self.index.get(self.pieces[tokens[k]] + self.pieces[tokens[k + 1]])
                if tid is not None and self.scores[tid] > best_score:
                    best_score, best_id, best_idx = self.scores[tid], tid, k
            if best_idx < 0:
                break
            tokens[best_idx:best_idx + 2] = [best_id]
        if eos:
            tokens.append(EOS)
        return tokens


def llama2c_encode(text, pieces, scores, bos=True, eos=False):
    return Llama2cEncoder(pieces, scores).encode(text, bos, eos)


# ----------------------------------------------------------------------------------------------------------------
# HF outputs


def permute_rope_rows(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Per head, reorder rows from interleaved pairs to halves: [0, 2, 4, ..., 1, 3, 5, ...]."""
    out_dim, in_dim = w.shape
    head = out_dim // n_heads
    return w.reshape(n_heads, head // 2, 2, in_dim).transpose(0, 2, 1, 3).reshape(out_dim, in_dim).copy()


def hf_state_dict(hdr, w):
    sd = {"model.embed_tokens.weight": w["token_embedding_table"], "model.norm.weight": w["rms_final"]}
    for l in range(hdr["n_layers"]):
        p = f"model.layers.{l}."
        sd[p + "input_layernorm.weight"] = w["rms_att"][l]
        sd[p + "self_attn.q_proj.weight"] = permute_rope_rows(w["wq"][l], hdr["n_heads"])
        sd[p + "self_attn.k_proj.weight"] = permute_rope_rows(w["wk"][l], hdr["n_kv_heads"])
        sd[p + "self_attn.v_proj.weight"] = w["wv"][l]
        sd[p + "self_attn.o_proj.weight"] = w["wo"][l]
        sd[p + "post_attention_layernorm.weight"] = w["rms_ffn"][l]
        sd[p + "mlp.gate_proj.weight"] = w["w1"][l]
        sd[p + "mlp.down_proj.weight"] = w["w2"][l]
        sd[p + "mlp.up_proj.weight"] = w["w3"][l]
    if not hdr["shared_classifier"]:
        sd["lm_head.weight"] = w["wcls"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def hf_config(hdr):
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": hdr["vocab_size"],
        "hidden_size": hdr["dim"],
        "intermediate_size": hdr["hidden_dim"],
        "num_hidden_layers": hdr["n_layers"],
        "num_attention_heads": hdr["n_heads"],
        "num_key_value_heads": hdr["n_kv_heads"],
        "head_dim": hdr["head_size"],
        "hidden_act": "silu",
        "max_position_embeddings": hdr["seq_len"],
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "rope_scaling": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "initializer_range": 0.02,
        "pretraining_tp": 1,
        "tie_word_embeddings": hdr["shared_classifier"],
        "bos_token_id": BOS,
        "eos_token_id": EOS,
        "torch_dtype": "float32",
        "use_cache": True,
    }


def hf_piece(i: int, piece: bytes) -> str:
    if i in SPECIAL_PIECES:
        return SPECIAL_PIECES[i]
    return piece.decode("utf-8").replace(" ", SPIECE_SPACE)


def sentencepiece_merges(vocab: dict, scores: list):
    """Merges as HF's SentencePiece converter derives them from a vocab with scores.

    Every split of a piece into two in-vocab pieces is a merge; within a piece the splits are ordered by
    (left id, right id); all merges are then stably ordered by the merged piece's score, highest first.
    """
    merges = []
    for piece, pid in sorted(vocab.items(), key=lambda kv: kv[1]):
        local = []
        for k in range(1, len(piece)):
            left, right = piece[:k], piece[k:]
            if left in vocab and right in vocab:
                local.append((vocab[left], vocab[right], left, right))
        local.sort()
        merges.extend((scores[pid], left, right) for _, _, left, right in local)
    merges.sort(key=lambda m: -m[0])  # stable
    return [[left, right] for _, left, right in merges]


def hf_tokenizer_json(pieces, scores):
    vocab = {}
    for i, p in enumerate(pieces):
        s = hf_piece(i, p)
        if s in vocab:
            raise ValueError(f"duplicate piece {s!r} (ids {vocab[s]} and {i})")
        vocab[s] = i
    added = [
        {"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
         "special": True}
        for i, s in sorted(SPECIAL_PIECES.items())
    ]
    bos = SPECIAL_PIECES[BOS]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "Prepend", "prepend": SPIECE_SPACE},
                {"type": "Replace", "pattern": {"String": " "}, "content": SPIECE_SPACE},
            ],
        },
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [
                {"SpecialToken": {"id": bos, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": bos, "type_id": 1}},
                {"Sequence": {"id": "B", "type_id": 1}},
            ],
            "special_tokens": {bos: {"id": bos, "ids": [BOS], "tokens": [bos]}},
        },
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "Replace", "pattern": {"String": SPIECE_SPACE}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0},
            ],
        },
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": SPECIAL_PIECES[UNK],
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": sentencepiece_merges(vocab, scores),
        },
    }


def hf_tokenizer_config(hdr):
    added = {
        str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                 "special": True}
        for i, s in sorted(SPECIAL_PIECES.items())
    }
    return {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": added,
        "bos_token": SPECIAL_PIECES[BOS],
        "eos_token": SPECIAL_PIECES[EOS],
        "unk_token": SPECIAL_PIECES[UNK],
        "pad_token": None,
        "clean_up_tokenization_spaces": False,
        "legacy": False,
        "model_max_length": hdr["seq_len"],
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizerFast",
    }


def hf_generation_config():
    # run.c ends generation when the model emits BOS (token 1): TinyStories models were trained on stories
    # separated by BOS, so BOS is what they produce at the end of a story. EOS (2) is kept too.
    return {"bos_token_id": BOS, "eos_token_id": [EOS, BOS], "do_sample": False}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


README_TEMPLATE = """\
# stories260K (Hugging Face Llama format)

A real, trained, 260K-parameter Llama-2-architecture model from Andrej Karpathy's llama2.c project, trained on
TinyStories. It writes short children's stories and is small enough to run anywhere: r1 bundles it as the default
model and as a golden end-to-end test. It does not follow instructions or reason.

| | |
|---|---|
| architecture | `llama`: dim {dim}, FFN {hidden_dim} (SwiGLU), {n_layers} layers, {n_heads} heads, {n_kv_heads} KV heads (GQA), head_dim {head_size} |
| vocab | {vocab_size} (custom SentencePiece BPE, byte fallback; `<unk>`=0, `<s>`=1, `</s>`=2, `<0x00>`..`<0xFF>`=3..258) |
| context | {seq_len} positions, RoPE theta 10000 |
| weights | float32, {n_params:,} parameters, embedding tied to the output head |

## Stopping

llama2.c's `run.c` stops when the model emits **BOS (`<s>`, id 1)**: the training data separated stories with BOS,
so that is how these models end a story (run.c does not check `</s>`). `generation_config.json` therefore
lists `eos_token_id: [2, 1]`. `config.json` keeps the tokenizer's true EOS (2).

## Greedy reference

Greedy decoding from `[1]` for 256 tokens gives the text documented in llama2.c's `doc/stories260K.md` ("Once upon
a time, there was a little girl named Lily. ..."), kept in `tests/fixtures/models/stories260K_greedy.txt`;
`tools/verify_stories260k.py` checks it with transformers.

## Source

* Model and tokenizer: karpathy/tinyllamas on Hugging Face (`stories260K/stories260K.bin`, `stories260K/tok512.bin`),
  produced by karpathy/llama2.c. The exact files used are the copies described in `shared/data/MANIFEST.md` §5
  (`shared/data/tiny-models/stories260K/`):
  * `stories260K.bin` sha256 `{ckpt_sha}`
  * `tok512.bin` sha256 `{tok_sha}`

## Conversion

```
python3 tools/convert_llama2c.py \\
    --checkpoint {ckpt_path} \\
    --tokenizer {tok_path} \\
    --out models/stories260K
```

* Tensors were renamed to HF Llama names; q_proj/k_proj rows were permuted per head from llama2.c's interleaved
  RoPE pairs (2i, 2i+1) to HF's half-split layout ([0, 2, 4, ..., 1, 3, 5, ...]). The RoPE tables stored in the
  llama2.c file are dropped (they are recomputed from theta).
* The tokenizer's spaces were turned back into SentencePiece's `▁`, the llama2.c BOS/EOS strings `\\n<s>\\n` and
  `\\n</s>\\n` back into `<s>` and `</s>`; BPE merges were derived from the piece scores the way HF's SentencePiece
  converter does (every split into two in-vocab pieces, ordered by the merged piece's score). The result encodes
  exactly like llama2.c's `encode()` (checked by `tools/verify_stories260k.py` with the `tokenizers` package).
* `tokenizer.json` is the reference. transformers 5.x's `LlamaTokenizer`/`LlamaTokenizerFast` (what
  `AutoTokenizer` picks from `tokenizer_config.json`) rebuilds the pipeline with a Metaspace pre-tokenizer that adds
  no dummy `▁` when the text already starts with a space, so for such text it gives one `▁` token fewer than
  llama2.c; on other text it agrees. Load with `tokenizers.Tokenizer.from_file` for exact llama2.c behaviour.
* Text that contains a literal `▁` is read as a space (SentencePiece convention); llama2.c would byte-encode it.

Check: `python3 tools/verify_stories260k.py` (tokenizer vs llama2.c's encode, logits vs a numpy run.c, greedy text).

## License

MIT, as karpathy/llama2.c and karpathy/tinyllamas (copyright Andrej Karpathy). The converted files are
redistributed under the same MIT license.
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the module docstring for the formats and the RoPE permutation.")
    ap.add_argument("--checkpoint", required=True, help="llama2.c legacy model .bin")
    ap.add_argument("--tokenizer", required=True, help="llama2.c tokenizer .bin (e.g. tok512.bin)")
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument("--no-readme", action="store_true", help="do not write README.md (stories260K-specific text)")
    args = ap.parse_args(argv)

    hdr, w = read_checkpoint(args.checkpoint)
    pieces, scores, _ = read_tokenizer(args.tokenizer, hdr["vocab_size"])
    os.makedirs(args.out, exist_ok=True)

    sd = hf_state_dict(hdr, w)
    safetensors_np.write_file(os.path.join(args.out, "model.safetensors"), sd)

    def dump(name, obj):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False)
            f.write("\n")

    dump("config.json", hf_config(hdr))
    dump("generation_config.json", hf_generation_config())
    dump("tokenizer_config.json", hf_tokenizer_config(hdr))
    dump("tokenizer.json", hf_tokenizer_json(pieces, scores))

    if not args.no_readme:
        n_params = sum(v.size for v in sd.values())
        text = README_TEMPLATE.format(
            **hdr, n_params=n_params, ckpt_sha=sha256(args.checkpoint), tok_sha=sha256(args.tokenizer),
            ckpt_path=args.checkpoint, tok_path=args.tokenizer)
        with open(os.path.join(args.out, "README.md"), "w", encoding="utf-8") as f:
            f.write(text)
    print(f"wrote {args.out}: {len(sd)} tensors, {sum(v.size for v in sd.values()):,} parameters")


if __name__ == "__main__":
    main()
