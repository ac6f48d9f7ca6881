// One pass through the layers over several sequences: their rows lie one after another in the activations
// [rows, C], each sequence's at the positions after those its cache holds.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/kv_cache.h"

namespace r1 {

struct SeqRows {
  int64_t row0;    // first row of this sequence in the pass
  int64_t T;       // its rows
  int64_t start;   // position of its first row (the cache's size before the pass)
  KvCache* cache;  // where its K/V go and are read from
};

struct Batch {
  std::vector<SeqRows> seqs;
  std::vector<int64_t> positions;  // [rows] each row's position, for RoPE
  int64_t rows = 0;

  void clear() { seqs.clear(), positions.clear(), rows = 0; }
  void add(KvCache& cache, int64_t start, int64_t T) {
    seqs.push_back({.row0 = rows, .T = T, .start = start, .cache = &cache});
    for (int64_t t = 0; t < T; ++t) positions.push_back(start + t);
    rows += T;
  }
};

}  // namespace r1
