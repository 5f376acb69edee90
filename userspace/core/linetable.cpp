// SPDX-License-Identifier: MIT
#include "core/linetable.h"

namespace pytrace {
namespace {

// Entry codes, from the high nibble of an entry's first byte.
constexpr int kShortFormLast = 9;
constexpr int kOneLine0 = 10;
constexpr int kOneLine2 = 12;
constexpr int kNoColumns = 13;
constexpr int kLongForm = 14;
constexpr int kNoLocation = 15;

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  bool done() const { return pos_ >= bytes_.size(); }
  bool ok() const { return ok_; }
  uint8_t byte() {
    if (pos_ >= bytes_.size()) {
      ok_ = false;
      return 0;
    }
    return bytes_[pos_++];
  }
  // 6-bit groups, least significant first; bit 6 says another group follows.
  uint32_t varint() {
    uint8_t b = byte();
    uint32_t value = b & 63;
    for (unsigned shift = 6; ok_ && (b & 64) && shift < 32; shift += 6) {
      b = byte();
      value |= static_cast<uint32_t>(b & 63) << shift;
    }
    return value;
  }
  int svarint() {
    uint32_t u = varint();
    return (u & 1) ? -static_cast<int>(u >> 1) : static_cast<int>(u >> 1);
  }
  void skip(size_t n) {
    for (size_t i = 0; i < n; ++i) byte();
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

std::optional<SourceSpan> line_for_instruction(std::span<const uint8_t> linetable, int first_lineno,
                                               uint32_t instr) {
  Reader in(linetable);
  int line = first_lineno;
  uint32_t start = 0;
  while (!in.done()) {
    uint8_t first = in.byte();
    if (!(first & 0x80)) return std::nullopt;  // not at an entry boundary: corrupt
    int code = (first >> 3) & 15;
    uint32_t length = (first & 7) + 1;
    int end_line_delta = 0;
    bool has_location = true;
    if (code == kNoLocation) {
      has_location = false;
    } else if (code == kLongForm) {
      line += in.svarint();
      end_line_delta = static_cast<int>(in.varint());
      in.varint();  // start column + 1
      in.varint();  // end column + 1
    } else if (code == kNoColumns) {
      line += in.svarint();
    } else if (code >= kOneLine0 && code <= kOneLine2) {
      line += code - kOneLine0;
      in.skip(2);  // start and end column
    } else if (code <= kShortFormLast) {
      in.skip(1);  // column information
    }
    if (!in.ok()) return std::nullopt;
    if (instr < start + length) {
      if (!has_location || line < 0) return std::nullopt;
      return SourceSpan{line, line + end_line_delta};
    }
    start += length;
  }
  return std::nullopt;
}

}  // namespace pytrace
