// Readers for the Hugging Face tokenizer files. This is the only place in src/tokenizer/ that knows JSON keys
// and type strings; it turns them into the typed TokenizerSpec. Every error names the file and the key at
// fault. Internal to src/tokenizer/.
#pragma once

#include <string>

#include "core/status.h"
#include "tokenizer/tokenizer_spec.h"

namespace r1::tok {

// tokenizer.json: normalizer, pre_tokenizer, model (BPE), decoder, post_processor and added_tokens.
Status read_tokenizer_json(const std::string& path, TokenizerSpec& spec);

// vocab.json ({"token": id}) and merges.txt ("a b" per line, optional "#version" first line) into spec.model.
Status read_vocab_and_merges(const std::string& vocab_path, const std::string& merges_path, BpeSpec& model);

// The optional side files of a folder: tokenizer_config.json, special_tokens_map.json, added_tokens.json and
// chat_template.jinja. Added tokens already present (same id) keep the tokenizer.json definition.
Status read_side_files(const std::string& dir, TokenizerSpec& spec);

bool file_exists(const std::string& path);

}  // namespace r1::tok
