// SPDX-License-Identifier: MIT
#include "core/spill.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace pytrace {
namespace {

struct Value {
  uint64_t a = 0;
  uint32_t b = 0;
  uint32_t c = 0;
};

// Across chunk boundaries, whether the chunks come from the spill file or not.
void fill_and_check(ChunkedStore<Value>& store, size_t n) {
  for (size_t i = 0; i < n; ++i) store.push_back({i, static_cast<uint32_t>(i * 3), 7});
  ASSERT_EQ(store.size(), n);
  Value* first = &store[0];
  store[n - 1].c = 9;  // written in place
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(store[i].a, i);
    ASSERT_EQ(store[i].b, static_cast<uint32_t>(i * 3));
  }
  EXPECT_EQ(store.back().c, 9u);
  store.pop_back();
  EXPECT_EQ(store.back().a, n - 2);
  store.push_back({42, 0, 0});
  EXPECT_EQ(store.back().a, 42u);
  EXPECT_EQ(first, &store[0]) << "appending never moves what is stored";
  size_t seen = 0;
  for (const Value& v : store) seen += v.c == 7;
  EXPECT_EQ(seen, n - 1);
}

TEST(Spill, ChunksFromTheHeap) {
  ChunkedStore<Value> store;
  fill_and_check(store, 3 * ChunkedStore<Value>::kChunkSize + 5);
  ChunkedStore<Value> moved = std::move(store);
  EXPECT_EQ(moved.size(), 3 * ChunkedStore<Value>::kChunkSize + 5);
  EXPECT_TRUE(store.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
}

TEST(Spill, ChunksFromAnUnnamedFile) {
  EXPECT_NE(SpillFile::open("/no/such/directory"), "");
  ASSERT_EQ(SpillFile::open(::testing::TempDir()), "");
  uint64_t before = SpillFile::spilled_bytes();
  ChunkedStore<Value> store;
  fill_and_check(store, 2 * ChunkedStore<Value>::kChunkSize + 1);
  // The first chunk is the process's own memory, the next two are the file's.
  EXPECT_EQ(SpillFile::spilled_bytes() - before, 2 * ChunkedStore<Value>::kChunkSize * sizeof(Value));

  // Trimming unmaps the file's pages, not what they hold: the first chunk
  // (the process's own memory, which MADV_DONTNEED would zero) and the
  // file's chunks read back the same.
  SpillFile::trim();
  for (size_t i = 0; i + 1 < store.size(); ++i) ASSERT_EQ(store[i].a, i) << i;
  EXPECT_EQ(store.back().a, 42u);
  store[5].a = 99;
  store[store.size() - 1].a = 98;
  SpillFile::trim();
  EXPECT_EQ(store[5].a, 99u);
  EXPECT_EQ(store[store.size() - 1].a, 98u);
}

}  // namespace
}  // namespace pytrace
