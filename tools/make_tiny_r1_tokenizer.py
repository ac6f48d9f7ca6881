#!/usr/bin/env python3
"""Trains the byte-level BPE tokenizer of r1's tiny reasoning model (data/train/tiny-r1-v3) on task traces.

Same special tokens and chat template as tools/make_tiny_chat_tokenizer.py (DeepSeek-R1's, with <think> and
</think> added but not special), but with learned merges: digits stay single tokens (the Digits pre-tokenizer
isolates each one, so arithmetic is done digit by digit as the scratchpads are written), while the recurring
words of the traces and R1's instruction merge into few tokens. A prompt in `r1 eval`'s form is then ~25 tokens
instead of ~110 bytes and a 3-digit addition trace ~60 instead of ~190, which is what makes training from scratch
on two cores fast. The pre-tokenizer is ByteLevel without GPT-2's regex, so merges may span spaces (", carry ").

The corpus is SFT JSONL from `r1 train data` ({"prompt", "completion"}); the vocabulary size includes the 256
bytes. config.json in the output folder, if present, gets the new vocab_size and bos/eos ids.

    for d in 2 3 4; do build/r1 train data --task addition --digits $d --n 3000 --seed 7 --out /tmp/add$d.jsonl; done
    build/r1 train data --task multiplication --digits 3 --digits-b 2 --n 2000 --seed 7 --out /tmp/mul.jsonl
    build/r1 train data --task countdown --n 2000 --seed 7 --out /tmp/cd.jsonl
    python3 tools/make_tiny_r1_tokenizer.py data/train/tiny-r1-v3 --vocab-size 512 /tmp/add*.jsonl /tmp/mul.jsonl \\
        /tmp/cd.jsonl
"""
import argparse
import json
import sys
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tiny_chat_tokenizer import SPECIALS  # noqa: E402

# R1's chat template (as in make_tiny_chat_tokenizer.py) with two model-specific defaults, the way Qwen2.5's
# template adds its default system prompt:
#  - a user turn without R1's math instruction gets it appended, so a chat user who types "What is 123 + 456?" asks
#    in the form the model was trained on (`r1 eval`'s form, which already carries it, renders unchanged);
#  - only the last user turn (and what follows it) is shown: the model was trained on single questions, and an
#    earlier exchange in its context only confuses it, so each chat question stands alone.
# As a Jinja string literal: Jinja reads escapes in quotes, so the backslash of \boxed is written twice.
INSTRUCTION = "Please reason step by step, and put your final answer within \\\\boxed{}."
CHAT_TEMPLATE = (
    "{% set ns = namespace(last_user=-1) %}"
    "{% for message in messages %}{% if message['role'] == 'user' %}{% set ns.last_user = loop.index0 %}{% endif %}"
    "{% endfor %}"
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }}"
    "{% elif loop.index0 < ns.last_user %}"
    "{% elif message['role'] == 'user' %}{{ '<｜User｜>' + message['content'] }}"
    "{% if '" + INSTRUCTION + "' not in message['content'] %}{{ '\\n" + INSTRUCTION + "' }}{% endif %}"
    "{% elif message['role'] == 'assistant' %}{{ '<｜Assistant｜>' + message['content'] + '<｜end▁of▁sentence｜>' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<｜Assistant｜><think>\\n' }}{% endif %}"
)


def corpus(paths):
    """The texts between added tokens, as the chat template lays them out: the user turn, then the completion after
    "<think>" (which the template follows with a newline), split at "</think>"."""
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                yield record["prompt"]
                yield from ("\n" + record["completion"]).split("</think>")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("corpus", nargs="+", help="SFT JSONL files from r1 train data")
    parser.add_argument("--vocab-size", type=int, default=512, help="bytes + merges, before the special tokens")
    args = parser.parse_args()

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True),
         pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=args.vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tokenizer.train_from_iterator(corpus(args.corpus), trainer)
    # <think> and </think> are not special (decoding keeps them, as in DeepSeek-R1's tokenizer); the rest are.
    for s in SPECIALS:
        tokenizer.add_tokens([AddedToken(s, special=s not in ("<think>", "</think>"), normalized=False)])

    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(args.out / "tokenizer.json"))
    config = {"add_bos_token": False, "add_eos_token": False, "bos_token": SPECIALS[0], "eos_token": SPECIALS[1],
              "pad_token": SPECIALS[1], "model_max_length": 4096, "tokenizer_class": "PreTrainedTokenizerFast",
              "chat_template": CHAT_TEMPLATE}
    (args.out / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=1) + "\n")

    model_config = args.out / "config.json"
    if model_config.exists():
        text = model_config.read_text()
        c = json.loads(text)
        c["vocab_size"] = tokenizer.get_vocab_size()
        c["bos_token_id"] = tokenizer.token_to_id(SPECIALS[0])
        c["eos_token_id"] = tokenizer.token_to_id(SPECIALS[1])
        model_config.write_text(json.dumps(c, indent=1) + "\n")
    print(f"{args.out}: {tokenizer.get_vocab_size()} tokens")


if __name__ == "__main__":
    main()
