// SPDX-License-Identifier: MIT
#include "core/arguments.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>

namespace pytrace {
namespace {

using namespace std::string_literals;

std::string text_of(const ArgValue& value) {
  std::string out;
  append_argument_value(out, value);
  return out;
}

ArgValue integer(std::vector<uint32_t> digits, bool negative = false) {
  ArgValue v{ArgKind::kInt, 0, negative ? 2u : (digits.empty() ? 1u : 0u), digits.size(), {}};
  v.text.resize(digits.size() * 4);
  std::memcpy(v.text.data(), digits.data(), v.text.size());
  return v;
}

ArgValue real(double d) {
  return ArgValue{ArgKind::kFloat, 0, std::bit_cast<uint64_t>(d), 0, {}};
}

// A str of `size` characters, of which `chars` were read, `width` bytes each.
ArgValue str(std::u32string chars, uint8_t width, uint64_t size) {
  ArgValue v{ArgKind::kStr, width, 0, size, {}};
  for (char32_t c : chars) {
    uint32_t code = c;
    v.text.append(reinterpret_cast<const char*>(&code), width);
  }
  return v;
}

ArgValue bytes(std::string data, uint64_t size) {
  return ArgValue{ArgKind::kBytes, 0, 0, size, std::move(data)};
}

TEST(ArgumentValues, SimpleValues) {
  EXPECT_EQ(text_of({ArgKind::kNone, 0, 0, 0, {}}), "null");
  EXPECT_EQ(text_of({ArgKind::kBool, 0, 1, 0, {}}), "true");
  EXPECT_EQ(text_of({ArgKind::kBool, 0, 0, 0, {}}), "false");
  EXPECT_EQ(text_of({ArgKind::kEmpty, 0, 0, 0, {}}), "\"<unbound>\"");
  EXPECT_EQ(text_of({ArgKind::kUnread, 0, 0, 0, {}}), "\"<unavailable>\"");
}

TEST(ArgumentValues, IntegersFromTheirDigits) {
  EXPECT_EQ(text_of(integer({})), "0");
  EXPECT_EQ(text_of(integer({42})), "42");
  EXPECT_EQ(text_of(integer({7}, true)), "-7");
  // 2**30 + 5: two digits.
  EXPECT_EQ(text_of(integer({5, 1})), "1073741829");
  // 2**100 = digits 0, 0, 0, 1 << 10.
  EXPECT_EQ(text_of(integer({0, 0, 0, 1u << 10})), "1267650600228229401496703205376");
  EXPECT_EQ(text_of(integer({0, 0, 0, 1u << 10}, true)), "-1267650600228229401496703205376");
  // 10**18 needs chunks padded with zeros.
  EXPECT_EQ(
      text_of(integer({1000000000000000000ULL & 0x3fffffff, (1000000000000000000ULL >> 30) & 0x3fffffff})),
      "1000000000000000000");
  ArgValue huge = integer(std::vector<uint32_t>(26, 1));
  huge.size = 40;  // more digits than were read
  EXPECT_EQ(text_of(huge), "\"<int with more than 780 bits>\"");
}

TEST(ArgumentValues, FloatsAsPythonWritesThem) {
  EXPECT_EQ(text_of(real(3.14159)), "3.14159");
  EXPECT_EQ(text_of(real(100.0)), "100.0");
  EXPECT_EQ(text_of(real(0.0001)), "0.0001");
  EXPECT_EQ(text_of(real(1e-7)), "1e-07");
  EXPECT_EQ(text_of(real(1e16)), "1e+16");
  EXPECT_EQ(text_of(real(123456789012345.0)), "123456789012345.0");
  EXPECT_EQ(text_of(real(1.5e300)), "1.5e+300");
  EXPECT_EQ(text_of(real(-0.0)), "-0.0");
  EXPECT_EQ(text_of(real(-2.5)), "-2.5");
  EXPECT_EQ(text_of(real(std::nan(""))), "\"nan\"");
  EXPECT_EQ(text_of(real(-INFINITY)), "\"-inf\"");
}

TEST(ArgumentValues, StringsCutLikeTheOriginalTool) {
  EXPECT_EQ(text_of(str(U"hello", 1, 5)), "\"hello\"");
  EXPECT_EQ(text_of(str(U"", 1, 0)), "\"\"");
  EXPECT_EQ(text_of(str(U"h\u00e9llo", 1, 5)), "\"h\u00e9llo\"");  // Latin-1, one byte each
  std::u32string long_text(104, U'x');
  EXPECT_EQ(text_of(str(long_text, 1, 150)), "\"" + std::string(100, 'x') + "...\"");
  EXPECT_EQ(text_of(str(std::u32string(100, U'y'), 1, 100)), "\"" + std::string(100, 'y') + "\"");
  // Two bytes a character: 52 of them were read.
  EXPECT_EQ(
      text_of(str(std::u32string(52, U'\u03c0'), 2, 60)), "\"" + [] {
        std::string s;
        for (int i = 0; i < 52; ++i) s += "\u03c0";
        return s;
      }() + "...\"");
  EXPECT_EQ(text_of(str(U"\U0001F40D!", 4, 2)), "\"\U0001F40D!\"");
  EXPECT_EQ(text_of(str(U"a\xd800", 2, 2)), "\"a\ufffd\"");  // a lone surrogate
  EXPECT_EQ(text_of(str(U"q\"\\", 1, 3)), "\"q\\\"\\\\\"");  // JSON escapes
}

TEST(ArgumentValues, BytesByTheirRepr) {
  EXPECT_EQ(text_of(bytes("by\0tes'\n"s, 8)), R"("b\"by\\x00tes'\\n\"")");
  EXPECT_EQ(text_of(bytes("say \"hi\"", 8)), R"("b'say \"hi\"'")");
  EXPECT_EQ(text_of(bytes("both'\"", 6)), R"("b'both\\'\"'")");
  EXPECT_EQ(text_of(bytes("", 0)), R"("b''")");
  EXPECT_EQ(text_of(bytes(std::string(104, 'z'), 200)), R"("bytes object")");
  EXPECT_EQ(text_of(bytes(std::string(98, 'z'), 98)), R"("bytes object")");  // its repr is 101 long
}

TEST(ArgumentValues, ContainersBySize) {
  EXPECT_EQ(text_of({ArgKind::kList, 0, 0, 0, {}}), "[]");
  EXPECT_EQ(text_of({ArgKind::kList, 0, 0, 1, {}}), "\"list with 1 item\"");
  EXPECT_EQ(text_of({ArgKind::kTuple, 0, 0, 0, {}}), "[]");
  EXPECT_EQ(text_of({ArgKind::kTuple, 0, 0, 3, {}}), "\"tuple with 3 items\"");
  EXPECT_EQ(text_of({ArgKind::kDict, 0, 0, 0, {}}), "{}");
  EXPECT_EQ(text_of({ArgKind::kDict, 0, 0, 1, {}}), "\"dict with 1 key\"");
  EXPECT_EQ(text_of({ArgKind::kSet, 0, 0, 0, {}}), "\"set()\"");
  EXPECT_EQ(text_of({ArgKind::kSet, 0, 0, 7, {}}), "\"set with 7 items\"");
}

TEST(ArgumentValues, ObjectsAndClasses) {
  EXPECT_EQ(text_of({ArgKind::kObject, 0, 0x7f12ab, 0, "Point"}), "\"<Point object at 0x7f12ab>\"");
  EXPECT_EQ(text_of({ArgKind::kClass, 0, 0x1000, 0, "Point"}), "\"<class 'Point'>\"");
}

TEST(Arguments, NamesInSignatureOrder) {
  ArgNames params{5, {"a", "key", "rest", "options", "x"}, true, true};
  params.names.resize(4);
  params.count = 4;
  std::vector<ArgValue> values = {integer({1}),
                                  {ArgKind::kNone, 0, 0, 0, {}},
                                  {ArgKind::kTuple, 0, 0, 2, {}},
                                  {ArgKind::kDict, 0, 0, 0, {}}};
  EXPECT_EQ(format_arguments(params, values),
            R"({"a":1,"key":null,"*rest":"tuple with 2 items","**options":{}})");
  params.varkeywords = false;
  params.count = 3;
  values.pop_back();
  EXPECT_EQ(format_arguments(params, values), R"({"a":1,"key":null,"*rest":"tuple with 2 items"})");
}

TEST(Arguments, MoreThanWereRecorded) {
  ArgNames params{10, {"a", "b", "c", "d", "e", "f", "g", "h"}, false, false};
  std::vector<ArgValue> values(8, integer({1}));
  EXPECT_EQ(format_arguments(params, values),
            R"({"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"...":"2 more not recorded"})");
}

TEST(Arguments, NoneOrUnnamed) {
  EXPECT_EQ(format_arguments({}, {}), "{}");
  EXPECT_EQ(format_arguments({2, {}, false, false}, {}), "{}");  // values not read
  EXPECT_EQ(format_arguments({1, {""}, false, false}, {integer({3})}), R"({"arg0":3})");
}

TEST(ArgumentTable, KeepsEachTextOnce) {
  ArgumentTable table;
  EXPECT_EQ(table.intern("{}"), 0u);
  EXPECT_EQ(table.intern(R"({"n":1})"), 1u);
  EXPECT_EQ(table.intern(R"({"n":2})"), 2u);
  EXPECT_EQ(table.intern(R"({"n":1})"), 1u);
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table[0], "{}");
  EXPECT_EQ(table[1], R"({"n":1})");
  EXPECT_EQ(table[2], R"({"n":2})");
}

TEST(ArgumentTable, KeepsMillionsOfTextsAcrossChunks) {
  ArgumentTable table;
  std::vector<uint32_t> indexes;
  for (int i = 0; i < 300000; ++i) indexes.push_back(table.intern(R"({"n":)" + std::to_string(i) + "}"));
  for (int i = 0; i < 300000; i += 7) EXPECT_EQ(table[indexes[i]], R"({"n":)" + std::to_string(i) + "}");
  EXPECT_EQ(table.intern(R"({"n":299999})"), indexes.back());  // recent: kept once
}

}  // namespace
}  // namespace pytrace
