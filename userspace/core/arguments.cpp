// SPDX-License-Identifier: MIT
#include "core/arguments.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#include "core/json_text.h"

namespace pytrace {
namespace {

constexpr size_t kMaxChars = 100;  // the original tool's limit for strings and reprs

void append_quoted(std::string& out, std::string_view text) {
  append_json_string(out, text);
}

// Python's repr of bytes, if the whole value was read and fits the limit.
void append_bytes(std::string& out, const ArgValue& a) {
  if (a.size > a.text.size()) return append_quoted(out, "bytes object");
  bool single = a.text.find('\'') == std::string::npos || a.text.find('"') != std::string::npos;
  char quote = single ? '\'' : '"';
  std::string repr = "b";
  repr += quote;
  for (unsigned char c : a.text) {
    if (c == quote || c == '\\') {
      repr += '\\';
      repr += static_cast<char>(c);
    } else if (c == '\t') {
      repr += "\\t";
    } else if (c == '\n') {
      repr += "\\n";
    } else if (c == '\r') {
      repr += "\\r";
    } else if (c < 0x20 || c >= 0x7f) {
      constexpr char hex[] = "0123456789abcdef";
      repr += "\\x";
      repr += hex[c >> 4];
      repr += hex[c & 15];
    } else {
      repr += static_cast<char>(c);
    }
  }
  repr += quote;
  append_quoted(out, repr.size() <= kMaxChars ? repr : "bytes object");
}

// An int from its 30-bit digits, least significant first.
void append_int(std::string& out, const ArgValue& a) {
  size_t count = a.text.size() / 4;
  if (a.size > count) {
    append_quoted(out, "<int with more than " + std::to_string(count * 30) + " bits>");
    return;
  }
  std::vector<uint32_t> digits(count);
  std::memcpy(digits.data(), a.text.data(), count * 4);
  while (!digits.empty() && digits.back() == 0) digits.pop_back();
  if (digits.empty()) {
    out += '0';
    return;
  }
  // Repeated division by 10^9 gives the decimal chunks, lowest first.
  std::vector<uint32_t> chunks;
  while (!digits.empty()) {
    uint64_t rest = 0;
    for (size_t i = digits.size(); i-- > 0;) {
      uint64_t current = (rest << 30) | digits[i];
      digits[i] = static_cast<uint32_t>(current / 1000000000);
      rest = current % 1000000000;
    }
    chunks.push_back(static_cast<uint32_t>(rest));
    while (!digits.empty() && digits.back() == 0) digits.pop_back();
  }
  if (a.value == 2) out += '-';
  out += std::to_string(chunks.back());
  for (size_t i = chunks.size() - 1; i-- > 0;) {
    std::string part = std::to_string(chunks[i]);
    out.append(9 - part.size(), '0');
    out += part;
  }
}

// A float as Python's repr writes it: the shortest digits that round-trip,
// positional from 1e-4 up to 1e16 (with ".0" on whole numbers), else with
// an exponent of at least two digits. JSON has no NaN or infinities, so
// those are strings.
void append_float(std::string& out, uint64_t bits) {
  double d = std::bit_cast<double>(bits);
  if (std::isnan(d)) return append_quoted(out, "nan");
  if (std::isinf(d)) return append_quoted(out, d > 0 ? "inf" : "-inf");
  char text[40];
  auto end = std::to_chars(text, text + sizeof text, d, std::chars_format::scientific).ptr;
  std::string_view sci(text, static_cast<size_t>(end - text));  // -1.2345e+02
  size_t e = sci.find('e');
  int exponent = std::stoi(std::string(sci.substr(e + 1)));
  bool negative = sci[0] == '-';
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c >= '0' && c <= '9') digits += c;
  }
  if (negative) out += '-';
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0.";
      out.append(static_cast<size_t>(-exponent - 1), '0');
      out += digits;
    } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
      out += digits;
      out.append(static_cast<size_t>(exponent) + 1 - digits.size(), '0');
      out += ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(exponent) + 1);
      out += '.';
      out += digits.substr(static_cast<size_t>(exponent) + 1);
    }
    return;
  }
  out += digits[0];
  if (digits.size() > 1) {
    out += '.';
    out += digits.substr(1);
  }
  out += exponent < 0 ? "e-" : "e+";
  std::string power = std::to_string(std::abs(exponent));
  if (power.size() < 2) out += '0';
  out += power;
}

std::string counted(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// An empty list, tuple or dict as its JSON literal; any other by its size.
void append_container(std::string& out, uint64_t size, const char* empty, const char* kind, const char* one,
                      const char* many) {
  if (size == 0) {
    out += empty;
  } else {
    append_quoted(out, kind + counted(size, one, many));
  }
}

}  // namespace

// A str: its first characters (1, 2 or 4 bytes each), cut like the
// original tool's (100 characters and "..."), or earlier if fewer were read.
std::string str_text(const ArgValue& a) {
  size_t width = a.width == 2 || a.width == 4 ? a.width : 1;
  size_t read = a.text.size() / width;
  size_t keep = std::min<size_t>({read, kMaxChars, static_cast<size_t>(a.size)});
  std::string text;
  for (size_t i = 0; i < keep; ++i) {
    uint32_t c = 0;
    std::memcpy(&c, a.text.data() + i * width, width);  // little-endian, as the target wrote it
    // Lone surrogates cannot be UTF-8; JSON text gets U+FFFD for them.
    append_utf8(text, c >= 0xd800 && c < 0xe000 ? 0xfffd : c);
  }
  if (a.size > keep) text += "...";
  return text;
}

bool is_whole_str(const ArgValue& a) {
  size_t width = a.width == 2 || a.width == 4 ? a.width : 1;
  return a.kind == ArgKind::kStr && a.size <= kMaxChars && a.text.size() == a.size * width;
}

void append_argument_value(std::string& out, const ArgValue& a) {
  switch (a.kind) {
    case ArgKind::kNone:
      out += "null";
      return;
    case ArgKind::kBool:
      out += a.value ? "true" : "false";
      return;
    case ArgKind::kInt:
      return append_int(out, a);
    case ArgKind::kFloat:
      return append_float(out, a.value);
    case ArgKind::kStr:
      return append_quoted(out, str_text(a));
    case ArgKind::kBytes:
      return append_bytes(out, a);
    case ArgKind::kList:
      return append_container(out, a.size, "[]", "list with ", "item", "items");
    case ArgKind::kTuple:
      return append_container(out, a.size, "[]", "tuple with ", "item", "items");
    case ArgKind::kDict:
      return append_container(out, a.size, "{}", "dict with ", "key", "keys");
    case ArgKind::kSet:
      return append_quoted(
          out, a.size == 0 ? std::string("set()") : "set with " + counted(a.size, "item", "items"));
    case ArgKind::kObject: {
      char address[24];
      auto end = std::to_chars(address, address + sizeof address, a.value, 16).ptr;
      return append_quoted(out, "<" + a.text + " object at 0x" + std::string(address, end) + ">");
    }
    case ArgKind::kClass:
      return append_quoted(out, "<class '" + a.text + "'>");
    case ArgKind::kEmpty:
      return append_quoted(out, "<unbound>");
    case ArgKind::kUnread:
      break;
  }
  append_quoted(out, "<unavailable>");
}

std::string format_arguments(const ArgNames& params, const std::vector<ArgValue>& values) {
  size_t shown = std::min<size_t>(params.count, values.size());
  if (shown == 0) return "{}";
  std::string out = "{";
  for (size_t i = 0; i < shown; ++i) {
    if (i) out += ',';
    std::string name =
        i < params.names.size() && !params.names[i].empty() ? params.names[i] : "arg" + std::to_string(i);
    if (params.varkeywords && i + 1 == params.count) {
      name = "**" + name;
    } else if (params.varargs && i + 1 + (params.varkeywords ? 1 : 0) == params.count) {
      name = "*" + name;
    }
    append_json_string(out, name);
    out += ':';
    append_argument_value(out, values[i]);
  }
  if (params.count > shown) {
    out += ",\"...\":";
    append_json_string(out, std::to_string(params.count - shown) + " more not recorded");
  }
  out += '}';
  return out;
}

ArgumentTable::ArgumentTable() : recent_(kRecentSlots, 0) {
  intern("{}");
}

ArgumentTable::~ArgumentTable() {
  for (char* chunk : chunks_) SpillFile::release(chunk, kChunkBytes);
}

std::string_view ArgumentTable::operator[](uint32_t index) const {
  const Text& text = texts_[index];
  return {chunks_[text.chunk] + text.offset, text.size};
}

uint32_t ArgumentTable::intern(std::string_view text) {
  uint32_t& slot = recent_[std::hash<std::string_view>{}(text) & (kRecentSlots - 1)];
  if (texts_.size() > 0 && (*this)[slot] == text) return slot;
  // A text longer than a chunk (it cannot be: a call has at most 8 values
  // of at most a few hundred bytes each) is cut rather than lost.
  text = text.substr(0, kChunkBytes);
  if (kChunkBytes - chunk_used_ < text.size()) {
    chunks_.push_back(static_cast<char*>(SpillFile::allocate(kChunkBytes)));
    chunk_used_ = 0;
  }
  std::copy(text.begin(), text.end(), chunks_.back() + chunk_used_);
  texts_.push_back({static_cast<uint32_t>(chunks_.size() - 1), static_cast<uint32_t>(chunk_used_),
                    static_cast<uint32_t>(text.size())});
  chunk_used_ += text.size();
  slot = static_cast<uint32_t>(texts_.size() - 1);
  return slot;
}

}  // namespace pytrace
