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

TEST(Compression, WritesWhatReadsBack) {
  std::string text = sample();
  for (Compression compression : {Compression::kGzip, Compression::kZstd}) {
    std::string data = compressed(compression, text);
    EXPECT_LT(data.size() * 5, text.size()) << compression_name(compression);
    EXPECT_EQ(compression_of(data), compression);
    std::string back;
    decompress(compression, data, back, text.size());
    EXPECT_EQ(back, text) << compression_name(compression);
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
    std::string out;
    EXPECT_THROW(decompress(compression, std::string_view(data).substr(0, data.size() / 2), out, 1ull << 32),
                 Error)
        << compression_name(compression) << ": cut";
    std::string damaged = data;
    for (size_t i = 20; i < damaged.size(); i += 97) damaged[i] ^= 0x5a;
    out.clear();
    EXPECT_THROW(decompress(compression, damaged, out, 1ull << 32), Error) << compression_name(compression);
    out.clear();
    EXPECT_THROW(decompress(compression, data, out, text.size() - 1), Error) << "a bomb is stopped";
  }
}

}  // namespace
}  // namespace pytrace
