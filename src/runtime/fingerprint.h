// A stable identity of a model's weights, for keying the disk tier of the prefix cache (runtime/disk_cache.h).
#pragma once

#include <string>

#include "core/status.h"

namespace r1 {

// Hashes config.json and, for every weight file (*.safetensors in a folder, or the .gguf file itself), its name,
// size and first and last MiB, plus `extra` (the caller passes the --quant recipe and the KV store's layout()).
// Reading only the ends keeps this fast for a 700 GB checkpoint; a re-saved or re-quantised model changes its
// header (first MiB) or size. Moving the folder does not change it (file names only, not paths).
// Returns 32 hex digits; errors name the path that is missing or unreadable.
Result<std::string> model_fingerprint(const std::string& path, const std::string& extra);

}  // namespace r1
