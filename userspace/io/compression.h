// SPDX-License-Identifier: MIT
// Compressed trace files: written when -o ends in .gz or .zst, read back by
// the viewer whatever their name (by their first bytes).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

namespace pytrace {

enum class Compression { kNone, kGzip, kZstd };

// By the file name's suffix: ".gz" gzip, ".zst" Zstandard.
Compression compression_for_name(std::string_view path);
// By the data's first bytes (their magic numbers).
Compression compression_of(std::span<const char> head);
const char* compression_name(Compression compression);

// An output buffer that compresses what is written through it into `sink`.
// finish() ends the compressed stream; what is written after is lost.
// A failure of the sink or of the compressor makes sync() and finish() fail.
class CompressingBuffer : public std::streambuf {
 public:
  CompressingBuffer(Compression compression, std::streambuf& sink);
  ~CompressingBuffer() override;
  CompressingBuffer(const CompressingBuffer&) = delete;
  CompressingBuffer& operator=(const CompressingBuffer&) = delete;

  bool finish();

 protected:
  int_type overflow(int_type c) override;
  int sync() override;

 private:
  struct Codec;
  bool compress(bool end);

  std::unique_ptr<Codec> codec_;
  std::streambuf& sink_;
  std::vector<char> input_;
  std::vector<char> output_;
  bool failed_ = false;
  bool finished_ = false;
};

// Decompresses `data` whole, handing what comes out to `sink` piece by
// piece. Throws Error for data that is not a whole stream of that kind;
// what `sink` throws passes through.
void decompress(Compression compression, std::span<const char> data,
                const std::function<void(std::span<const char>)>& sink);

}  // namespace pytrace
