// SPDX-License-Identifier: MIT
#include "core/call_text.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace pytrace {
namespace {

class CallText : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / "pytrace_call_text_test";
    std::filesystem::create_directories(dir_);
    code_.filename = (dir_ / "a.py").string();
    std::ofstream(code_.filename) << "result = compute(\n"        // 1
                                     "    1,\n"                   // 2
                                     "    2)\n"                   // 3
                                     "class Square(\n"            // 4
                                     "        Shape):\n"          // 5
                                     "    side = f(1)\n"          // 6
                                     "print(\"(\", g(2))  # (\n"  // 7
                                     "x = h(" +
                                         std::string(200, 'y') + ")\n";  // 8
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string text(int line, int end_line) {
    return call_source_text(CallSite{&code_, line, end_line}, sources_);
  }

  std::filesystem::path dir_;
  CodeInfo code_;
  SourceCache sources_;
};

TEST_F(CallText, JoinsAMultiLineCall) {
  EXPECT_EQ(text(1, 3), "result = compute( 1, 2)");
}

TEST_F(CallText, StopsAtTheEndOfAClassHeader) {
  EXPECT_EQ(text(4, 6), "class Square( Shape):");
}

TEST_F(CallText, IgnoresBracketsInStringsAndComments) {
  EXPECT_EQ(text(7, 7), "print(\"(\", g(2))  # (");
}

TEST_F(CallText, CutsLongLinesTo150Characters) {
  std::string t = text(8, 8);
  EXPECT_EQ(t.size(), 150u);
  EXPECT_EQ(t.substr(147), "...");
}

TEST_F(CallText, PlaceholdersForCodeWithoutSource) {
  CodeInfo frozen;
  frozen.filename = "<frozen importlib._bootstrap>";
  EXPECT_EQ(call_source_text(CallSite{&frozen, 10, 10}, sources_), "<frozen module call>");
  CodeInfo generated;
  generated.filename = "<string>";
  EXPECT_EQ(call_source_text(CallSite{&generated, 1, 1}, sources_), "<built-in or generated code>");
  CodeInfo missing;
  missing.filename = "/nonexistent/dir/gone.py";
  EXPECT_EQ(call_source_text(CallSite{&missing, 4, 4}, sources_), "<source unavailable: gone.py:4>");
}

}  // namespace
}  // namespace pytrace
