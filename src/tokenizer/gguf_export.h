// A tokenizer's vocabulary written as GGUF tokenizer.ggml.* metadata, the inverse of tokenizer/gguf_vocab.h,
// so that `r1 quantize` produces a self-contained .gguf that r1 and llama.cpp can tokenize with:
//  * byte-level BPE (Qwen2, DeepSeek-V3/R1, DeepSeek-LLM/Coder, Llama 3, GPT-2) -> model "gpt2" with the
//  merge
//    list and tokenizer.ggml.pre naming the pre-tokenizer preset its regexes match;
//  * SentencePiece-style BPE with byte fallback (Llama 2 / stories260K tokenizer.json) -> model "llama" with
//    per-token scores from which the merge order is re-derived.
// Anything else (a pre-tokenizer that matches no preset, a normalizer GGUF cannot express) is an error.
#pragma once

#include "core/status.h"
#include "io/gguf_writer.h"
#include "tokenizer/tokenizer.h"

namespace r1 {

// `model_vocab_size` > the tokenizer's size pads the token list with "[PAD<id>]" placeholders (type unused) up to
// the model's embedding rows, as llama.cpp's converter does: llama.cpp requires the two to agree.
Status write_gguf_tokenizer(const Tokenizer& tokenizer, GgufWriter& out, int64_t model_vocab_size = 0);

}  // namespace r1
