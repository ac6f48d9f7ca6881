// KvStore block I/O (read_block/write_block/copy_block against the documented layout) and KvCache's block
// table arithmetic.
#include "runtime/kv_cache.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "test_util.h"

namespace r1 {
namespace {

std::vector<std::byte> bytes_of(const std::vector<float>& v) {
  std::vector<std::byte> b(v.size() * sizeof(float));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

TEST(KvStore, GeometryIsChecked) {
  EXPECT_TRUE(KvStore::check_geometry(10, 16).is_ok());
  EXPECT_TRUE(KvStore::check_geometry(0, 1).is_ok());
  EXPECT_FALSE(KvStore::check_geometry(10, 12).is_ok());
  EXPECT_FALSE(KvStore::check_geometry(10, 0).is_ok());
  EXPECT_FALSE(KvStore::check_geometry(-1, 16).is_ok());
}

TEST(KvStore, GqaBlockRoundTripAndLayout) {
  const int64_t L = 2, n_blocks = 5, B = 4, Hkv = 2, Dh = 3, row = Hkv * Dh;
  GqaKvStore store(L, n_blocks, B, Hkv, Dh);
  EXPECT_EQ(store.bytes_per_token(), size_t(2 * L * row) * sizeof(float));
  EXPECT_EQ(store.block_bytes(), store.bytes_per_token() * size_t(B));
  EXPECT_EQ(store.layout(), "gqa f32 layers=2 kv_heads=2 head_dim=3 block=4");
  const auto data = test::random_floats(store.block_bytes() / sizeof(float), 1);
  store.write_block(3, bytes_of(data));
  // Per layer: K's B rows then V's B rows.
  for (int64_t l = 0; l < L; ++l)
    for (int64_t i = 0; i < B * row; ++i) {
      EXPECT_EQ(store.k(l)[3 * B * row + i], data[size_t((2 * l) * B * row + i)]);
      EXPECT_EQ(store.v(l)[3 * B * row + i], data[size_t((2 * l + 1) * B * row + i)]);
    }
  std::vector<std::byte> out(store.block_bytes());
  store.read_block(3, out);
  EXPECT_EQ(out, bytes_of(data));
  store.copy_block(3, 0);
  std::vector<std::byte> copied(store.block_bytes());
  store.read_block(0, copied);
  EXPECT_EQ(copied, bytes_of(data));
}

TEST(KvStore, MlaBlockRoundTripAndLayout) {
  const int64_t L = 3, n_blocks = 4, B = 2, R = 5, Dr = 2;
  MlaKvStore store(L, n_blocks, B, R, Dr);
  EXPECT_EQ(store.bytes_per_token(), size_t(L * (R + Dr)) * sizeof(float));
  const auto data = test::random_floats(store.block_bytes() / sizeof(float), 2);
  store.write_block(1, bytes_of(data));
  // Per layer: c_kv's B rows then k_pe's B rows.
  for (int64_t l = 0; l < L; ++l) {
    const int64_t base = l * B * (R + Dr);
    for (int64_t i = 0; i < B * R; ++i) EXPECT_EQ(store.c_kv(l)[B * R + i], data[size_t(base + i)]);
    for (int64_t i = 0; i < B * Dr; ++i) EXPECT_EQ(store.k_pe(l)[B * Dr + i], data[size_t(base + B * R + i)]);
  }
  store.copy_block(1, 2);
  std::vector<std::byte> out(store.block_bytes());
  store.read_block(2, out);
  EXPECT_EQ(out, bytes_of(data));
}

TEST(KvCache, OwnedCapacityAndSlots) {
  KvCache owned(std::make_unique<GqaKvStore>(1, 3, 16, 1, 2), 37);
  EXPECT_EQ(owned.capacity(), 37);
  EXPECT_EQ(owned.blocks(), (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(owned.slot(20), 20);

  GqaKvStore shared(1, 8, 4, 1, 2);
  KvCache c(shared);
  EXPECT_EQ(c.capacity(), 0);
  c.blocks() = {5, 2, 7};
  EXPECT_EQ(c.capacity(), 12);
  EXPECT_EQ(c.slot(0), 20);
  EXPECT_EQ(c.slot(6), 2 * 4 + 2);
  EXPECT_EQ(c.slot(11), 7 * 4 + 3);
  c.set_size(9);
  EXPECT_EQ(c.size(), 9);
  c.set_size(50);  // clamped to what the table covers
  EXPECT_EQ(c.size(), 12);
  c.truncate(5);
  EXPECT_EQ(c.size(), 5);
  c.advance(2);
  EXPECT_EQ(c.size(), 7);
}

}  // namespace
}  // namespace r1
