// SPDX-License-Identifier: MIT
#include "core/linetable.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pytrace {
namespace {

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) bytes.push_back(std::stoi(hex.substr(i, 2), nullptr, 16));
  return bytes;
}

// Real line tables from CPython 3.15, with the lines CPython's own
// co_positions() gives every instruction (data/make_linetables.py).
TEST(LineTable, AgreesWithCPythonOnEveryInstruction) {
  std::ifstream in(std::string(PYTRACE_TEST_DATA) + "/linetables.json");
  ASSERT_TRUE(in) << "missing test data";
  nlohmann::json fixture = nlohmann::json::parse(in);
  size_t checked = 0;
  for (const auto& c : fixture["cases"]) {
    auto table = from_hex(c["linetable"]);
    int first = c["first_lineno"];
    for (const auto& p : c["positions"]) {
      uint32_t instr = p[0];
      int line = p[1], end_line = p[2];
      auto span = line_for_instruction(table, first, instr);
      ASSERT_TRUE(span) << c["name"] << " instruction " << instr;
      EXPECT_EQ(span->line, line) << c["name"] << " instruction " << instr;
      EXPECT_EQ(span->end_line, end_line) << c["name"] << " instruction " << instr;
      ++checked;
    }
  }
  EXPECT_GT(checked, 500u);
}

TEST(LineTable, InstructionPastTheTableHasNoLine) {
  // One short-form entry covering 2 code units on the first line.
  std::vector<uint8_t> table{0x80 | (0 << 3) | 1, 0x00};
  EXPECT_EQ(line_for_instruction(table, 7, 1)->line, 7);
  EXPECT_FALSE(line_for_instruction(table, 7, 2));
}

TEST(LineTable, NoLocationEntriesAndCorruptTablesGiveNothing) {
  std::vector<uint8_t> no_location{0x80 | (15 << 3) | 0};
  EXPECT_FALSE(line_for_instruction(no_location, 7, 0));
  std::vector<uint8_t> truncated{0x80 | (14 << 3) | 0};  // long form without its varints
  EXPECT_FALSE(line_for_instruction(truncated, 7, 0));
  std::vector<uint8_t> not_an_entry{0x01};
  EXPECT_FALSE(line_for_instruction(not_an_entry, 7, 0));
  EXPECT_FALSE(line_for_instruction({}, 7, 0));
}

}  // namespace
}  // namespace pytrace
