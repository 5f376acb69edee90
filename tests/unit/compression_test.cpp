// SPDX-License-Identifier: MIT
#include "io/compression.h"

#include <gtest/gtest.h>

#include <ostream>
#include <sstream>

#include "core/error.h"

namespace pytrace {
namespace {

// Several chunks' worth of text that compresses, written a piece at a time.
std::string sample() {
  std::string text;
  for (int i = 0; text.size() < (3u << 20); ++i)
    text += "{\"event\": \"function_call\", \"id\": " + std::to_string(i) + ", \"name\": \"step\"}\n";
  return text;
}

std::string compressed(Compression compression, const std::string& text) {
  std::stringbuf sink;
  CompressingBuffer buffer(compression, sink);
  std::ostream out(&buffer);
  for (size_t at = 0; at < text.size(); at += 1000) out << text.substr(at, 1000);
  out.flush();
  EXPECT_TRUE(buffer.finish());
  return sink.str();
}

// Decompressed whole through the sink, refused past `limit` bytes as the
// viewer refuses what its disk cannot take.
std::string decompressed(Compression compression, std::string_view data, size_t limit) {
  std::string out;
  decompress(compression, data, [&](std::span<const char> piece) {
    if (out.size() + piece.size() > limit) throw Error("past the limit");
    out.append(piece.data(), piece.size());
  });
  return out;
}

TEST(Compression, WritesWhatReadsBack) {
  std::string text = sample();
  for (Compression compression : {Compression::kGzip, Compression::kZstd}) {
    std::string data = compressed(compression, text);
    EXPECT_LT(data.size() * 5, text.size()) << compression_name(compression);
    EXPECT_EQ(compression_of(data), compression);
    EXPECT_EQ(decompressed(compression, data, text.size()), text) << compression_name(compression);
  }
}

TEST(Compression, KnowsFilesByNameAndByTheirFirstBytes) {
  EXPECT_EQ(compression_for_name("t.json.gz"), Compression::kGzip);
  EXPECT_EQ(compression_for_name("/a/t.zst"), Compression::kZstd);
  EXPECT_EQ(compression_for_name("t.json"), Compression::kNone);
  EXPECT_EQ(compression_for_name("gz"), Compression::kNone);
  EXPECT_EQ(compression_of(std::string("{\"metadata\"")), Compression::kNone);
  EXPECT_EQ(compression_of(std::string("\x1f")), Compression::kNone);
}

TEST(Compression, RefusesCutDamagedAndTooLargeData) {
  std::string text = sample();
  for (Compression compression : {Compression::kGzip, Compression::kZstd}) {
    std::string data = compressed(compression, text);
    EXPECT_THROW(decompressed(compression, std::string_view(data).substr(0, data.size() / 2), 1ull << 32),
                 Error)
        << compression_name(compression) << ": cut";
    std::string damaged = data;
    for (size_t i = 20; i < damaged.size(); i += 97) damaged[i] ^= 0x5a;
    EXPECT_THROW(decompressed(compression, damaged, 1ull << 32), Error) << compression_name(compression);
    EXPECT_THROW(decompressed(compression, data, text.size() - 1), Error) << "a bomb is stopped";
  }
}

}  // namespace
}  // namespace pytrace
