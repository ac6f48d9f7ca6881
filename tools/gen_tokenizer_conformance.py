#!/usr/bin/env python3
"""Conformance data for r1's tokenizer: token ids from the Hugging Face `tokenizers` package (the reference)
on seeded generated strings, one JSON Lines file per vocabulary in tests/fixtures/tokenizers/conformance/.

Each line is {"text": s, "ids": [...]} (ids of tokenizer.encode(s, add_special_tokens=False)), plus
"decoded": decode(ids) when that differs from s (only where a normalizer changes the text, e.g. Qwen2's NFC on
decomposed input). tests/tokenizer/tokenizer_conformance_test.cc requires r1 to give the same ids and the same
decoded text for every line.

Vocabularies (the HF tokenizer is built exactly as tests/fixtures/tokenizers/vectors/make_hf_vectors.py does):
  deepseek-v3               deepseek-v3/tokenizer.json (128k BPE + 818 added tokens)
  deepseek-r1-distill-qwen  Qwen2 vocab.json + merges.txt + the R1 added tokens, NFC, Qwen2 split regex
  stories260k               stories260k/tokenizer.json (SentencePiece BPE with byte fallback)

The strings mix scripts (Latin with diacritics, Greek, Cyrillic, Arabic, Hebrew, Devanagari, Thai, CJK, kana,
Hangul), emoji (ZWJ families, skin tones, flags, keycaps, variation selectors), combining marks, NFC/NFD/NFKC
variants, digit runs in several number systems, whitespace runs (space, tab, CR/LF, NBSP, ideographic space,
other Unicode spaces, zero-width characters), code, LaTeX, JSON, URLs, English with contractions, and the
vocabulary's special tokens (whole, partial and adjacent). Python strings cannot hold invalid UTF-8, so that
case is generated and checked inside the C++ test instead.

Usage: pip install tokenizers==0.23.3; python3 tools/gen_tokenizer_conformance.py [--count 5000] [--seed 7]
"""
import argparse
import importlib.util
import json
import os
import random
import unicodedata

import tokenizers
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures", "tokenizers")
OUT = os.path.join(FIX, "conformance")

# ---- building blocks ----
SCRIPTS = {
    "latin": "the quick brown fox jumps over lazy dog Straße café naïve résumé Ångström façade œuvre Dvořák Łódź "
             "İstanbul ÇĞŞ ñandú São Paulo Việt Nam tiếng",
    "greek": "Καλημέρα κόσμε αβγδε ΩΣΦ ϐϑϕ ἀρχή",
    "cyrillic": "Привет мир Съешь же ещё этих мягких французских булок ЁЖЗ ўі ґє",
    "arabic": "مرحبا بالعالم اللغة العربية كِتَابٌ ﷺ ١٢٣ ؟،",
    "hebrew": "שלום עולם עִבְרִית ״גרשיים״",
    "devanagari": "नमस्ते दुनिया हिन्दी क्षत्रिय श्रीमान् ॐ १२३",
    "thai": "สวัสดีชาวโลก ภาษาไทย กรุงเทพมหานคร ๑๒๓",
    "chinese": "你好世界 毕老师 中文测试 龥一丁 繁體中文 。，！？「」【】",
    "japanese": "こんにちは世界 ひらがな カタカナ ー ゟ゠ヿ 漢字かな交じり ｶﾀｶﾅ",
    "korean": "안녕하세요 세계 한국어 가힣 ㄱㄴㄷ",
    "symbols": "€£¥₹ ©®™ ±×÷ ≤≥≠ √∞∑∫ →⇒↔ ★☆ ♠♥ ✓✗ … — – • ° ‰ § ¶",
}
EMOJI = ["😀", "🚀", "👍", "👍🏽", "👋🏿", "❤️", "❤️‍🔥", "👨‍👩‍👧‍👦", "🧑🏿‍💻", "🏳️‍🌈", "🇺🇸", "🇯🇵", "1️⃣",
         "#️⃣", "🤷‍♀️", "👩🏻‍🦰", "🫠", "🦀", "☺︎", "✌🏼"]
COMBINING = [chr(c) for c in list(range(0x300, 0x370)) + [0x483, 0x591, 0x5B0, 0x64B, 0x93C, 0x94D, 0xE31,
                                                          0x1AB0, 0x1DC0, 0x20D0, 0x20E3, 0xFE0F, 0x302A]]
SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2009", "\u2002",
          "\u200b", "\u200d", "\ufeff", "\x0b", "\x0c", "\x85", "\u2028", "\u202f", "\u1680", "\u205f"]
WORDS = ("I you we they it's don't can't won't I'm we've you'll she'd DON'T WE'LL it'S the of and to in is that "
         "for on with as was be at by this have from or one had not but what all were when there can an your "
         "which their said if do will each about how up out them then many some so these would other into has "
         "more her two like him see time could no make than first been its who now people my made over did "
         "down only way find use may water long little very after words called just where most know").split()
NUMBERS = ["0", "7", "42", "123", "1234", "12345", "123456789", "3.14159", "1,234,567.89", "-17", "+3e-10",
           "0x1F", "2025-01-20", "12:30:59", "50%", "$9.99", "٣٤٥", "१२३", "１２３", "²³", "½", "Ⅻ", "①②",
           "๔๕", "10^6", "1e9"]
URLS = ["https://example.com/path?q=1&x=%20y#frag", "http://localhost:8080/api/v1/users/42",
        "https://ja.wikipedia.org/wiki/日本", "ftp://files.example.org/pub/file.tar.gz",
        "mailto:someone@example.com", "www.deepseek.com", "git@github.com:org/repo.git",
        "https://xn--bcher-kva.example/straße?ä=ö"]
LATEX = [r"\frac{a}{b}", r"$\sum_{i=1}^{n} x_i^2$", r"\boxed{42}", r"\int_0^\infty e^{-x^2}\,dx = \frac{\sqrt{\pi}}{2}",
         r"\begin{align} a &= b \\ c &= d \end{align}", r"$\alpha + \beta = \gamma$", r"\mathbb{R}^{n \times m}",
         r"\left( \frac{1}{2} \right)^{3}", r"x_{i,j}^{(k)}", r"\text{if } n \geq 2", r"\sqrt[3]{27} = 3",
         r"\binom{n}{k}", r"$$E = mc^2$$", r"\lim_{x \to 0} \frac{\sin x}{x} = 1"]
CODE = [
    "def {f}({a}, {b}):\n    return {a} + {b}\n",
    "for (int {a} = 0; {a} < n; ++{a}) {{\n\t{b}[{a}] = {a} * {a};\n}}\n",
    "const {f} = ({a}) => {{ console.log(`value: ${{{a}}}`); }};",
    "fn {f}(&self, {a}: usize) -> Option<String> {{ None }}",
    "if {a} == {b}:\n        raise ValueError(f\"bad {{{a}!r}}\")\n",
    "SELECT {a}, COUNT(*) FROM {b} WHERE id >= 10 GROUP BY {a};",
    "#include <vector>\nint main() {{ std::vector<int> {a}{{1, 2, 3}}; return {a}.size(); }}",
    "    # comment: {f}\n    {a} = {{'key': [1, 2.5, None]}}\n",
    "<div class=\"{a}\">{b} &amp; <br/></div>",
    "$ ./{f} --{a}={b} 2>&1 | grep -v '^#'",
]
IDENTS = ["x", "i", "foo", "bar_baz", "camelCase", "snake_case_name", "_private", "CONST_VALUE", "πr2", "变量", "données"]


def pick(rng, s):
    words = s.split(" ")
    k = rng.randint(1, min(4, len(words)))
    start = rng.randrange(len(words) - k + 1)
    return " ".join(words[start:start + k])


def gen_script(rng, specials):
    return pick(rng, SCRIPTS[rng.choice(list(SCRIPTS))])


def gen_mixed_scripts(rng, specials):
    return rng.choice(["", " ", "\n"]).join(gen_script(rng, specials) for _ in range(rng.randint(2, 4)))


def gen_emoji(rng, specials):
    parts = [rng.choice(EMOJI) for _ in range(rng.randint(1, 4))]
    return rng.choice(["", " ", "x"]).join(parts) + rng.choice(["", " ok", "!", "\n"])


def gen_combining(rng, specials):
    out = []
    for _ in range(rng.randint(1, 5)):
        out.append(rng.choice("aeiouAEOnczs가ㄱअ" + "ا" + "ש"))
        out.extend(rng.choice(COMBINING) for _ in range(rng.randint(0, 3)))
    return "".join(out)


def gen_normal_forms(rng, specials):
    s = pick(rng, SCRIPTS[rng.choice(["latin", "greek", "korean", "cyrillic", "japanese", "arabic"])])
    s += rng.choice(["", " ﬁ ﬃ", " Å Ω K", " ①", " ｶ", " ẛ̣", " ḱṷṓn"])
    return unicodedata.normalize(rng.choice(["NFC", "NFD", "NFKC", "NFKD"]), s)


def gen_digits(rng, specials):
    if rng.random() < 0.5:
        return "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30)))
    return rng.choice(["", " "]).join(rng.choice(NUMBERS) for _ in range(rng.randint(1, 4)))


def gen_whitespace(rng, specials):
    out = []
    for _ in range(rng.randint(1, 6)):
        out.append("".join(rng.choice(SPACES) for _ in range(rng.randint(1, 4))))
        if rng.random() < 0.6:
            out.append(rng.choice(WORDS + NUMBERS[:5] + ["你好", "é", "!"]))
    return "".join(out)


def gen_code(rng, specials):
    a, b, f = (rng.choice(IDENTS) for _ in range(3))
    return rng.choice(CODE).format(a=a, b=b, f=f)


def gen_latex(rng, specials):
    return " ".join(rng.choice(LATEX) for _ in range(rng.randint(1, 2)))


def random_json(rng, depth=0):
    r = rng.random()
    if depth > 2 or r < 0.3:
        return rng.choice([rng.randint(-1000, 10**9), round(rng.uniform(-1e3, 1e3), 3), True, None,
                           gen_script(rng, []), rng.choice(WORDS), ""])
    if r < 0.65:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(IDENTS + WORDS): random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def gen_json(rng, specials):
    return json.dumps(random_json(rng), ensure_ascii=rng.random() < 0.3, indent=rng.choice([None, None, 2]))


def gen_url(rng, specials):
    return rng.choice(["", "See ", "(", "<"]) + rng.choice(URLS) + rng.choice(["", ".", ")", ">", " and more"])


def gen_english(rng, specials):
    words = [rng.choice(WORDS) for _ in range(rng.randint(2, 12))]
    s = " ".join(words)
    if rng.random() < 0.3:
        s = s.upper() if rng.random() < 0.5 else s.capitalize()
    return s + rng.choice([".", "!", "?", "", "...", ":", "\n"])


def gen_specials(rng, specials):
    out = []
    for _ in range(rng.randint(1, 4)):
        tok = rng.choice(specials)
        r = rng.random()
        if r < 0.15:
            tok = tok[:rng.randint(1, max(1, len(tok) - 1))]  # a partial token: plain text
        elif r < 0.25:
            tok = tok + tok
        out.append(tok)
        if rng.random() < 0.7:
            out.append(rng.choice([gen_english, gen_script, gen_whitespace, gen_digits])(rng, specials))
    return "".join(out)


GENERATORS = [(gen_script, 8), (gen_mixed_scripts, 8), (gen_emoji, 6), (gen_combining, 5),
              (gen_normal_forms, 6), (gen_digits, 7), (gen_whitespace, 8), (gen_code, 8), (gen_latex, 6),
              (gen_json, 6), (gen_url, 4), (gen_english, 10), (gen_specials, 8)]


def gen_text(rng, specials):
    fns, weights = zip(*GENERATORS)
    parts = [rng.choices(fns, weights)[0](rng, specials) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    s = rng.choice(["", "", " ", "\n"]).join(parts)
    return s[:240]


# ---- the reference tokenizers ----
def load_make_hf_vectors():
    path = os.path.join(FIX, "vectors", "make_hf_vectors.py")
    spec = importlib.util.spec_from_file_location("make_hf_vectors", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def vocabularies():
    hf = load_make_hf_vectors()
    v3 = Tokenizer.from_file(os.path.join(FIX, "deepseek-v3", "tokenizer.json"))
    v3_specials = [t.content for _, t in sorted(v3.get_added_tokens_decoder().items())]
    v3_specials = [t for t in v3_specials if "place▁holder" not in t] + ["<｜place▁holder▁no▁7｜>"]
    r1_config = os.path.join(FIX, "deepseek-r1-distill-qwen", "tokenizer_config.json")
    r1 = hf.qwen2_with_added(r1_config)
    r1_specials = [v["content"] for v in json.load(open(r1_config, encoding="utf-8"))["added_tokens_decoder"].values()]
    sp = Tokenizer.from_file(os.path.join(FIX, "stories260k", "tokenizer.json"))
    return [("deepseek-v3", v3, v3_specials), ("deepseek-r1-distill-qwen", r1, r1_specials),
            ("stories260k", sp, ["<s>", "</s>", "<unk>"])]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=5000, help="strings per vocabulary")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    for i, (name, tok, specials) in enumerate(vocabularies()):
        rng = random.Random(args.seed * 1000 + i)
        path = os.path.join(OUT, name + ".jsonl")
        n_decoded = 0
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            for _ in range(args.count):
                text = gen_text(rng, specials)
                ids = tok.encode(text, add_special_tokens=False).ids
                row = {"text": text, "ids": ids}
                decoded = tok.decode(ids, skip_special_tokens=False)
                if decoded != text:
                    row["decoded"] = decoded
                    n_decoded += 1
                f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
        print(f"{path}: {args.count} strings, {n_decoded} decode to a normalized text, "
              f"{os.path.getsize(path)} bytes (tokenizers {tokenizers.__version__})")


if __name__ == "__main__":
    main()
