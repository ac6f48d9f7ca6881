// The tokenizer.ggml.* metadata of a GGUF file -> TokenizerSpec, the GGUF counterpart of hf_files.h. Key
// strings come from io/gguf_keys.h; every error names the file and the key at fault. Internal to
// src/tokenizer/.
#pragma once

#include <optional>

#include "core/status.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_spec.h"

namespace r1::tok {

// `pre_override` replaces tokenizer.ggml.pre (gpt2 models only).
Status read_gguf_vocab(const GgufFile& file, std::optional<PreTokenizerKind> pre_override,
                       TokenizerSpec& spec);

}  // namespace r1::tok
