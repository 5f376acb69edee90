// SPDX-License-Identifier: MIT
#include "core/classify.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace pytrace {
namespace {

CodeInfo code(std::string file, std::string name, std::string qualname = "",
              CodeFlags flags = {.function = true}, int first_lineno = 1) {
  CodeInfo info;
  info.filename = std::move(file);
  info.name = name;
  info.qualname = qualname.empty() ? name : qualname;
  info.flags = flags;
  info.flags_known = true;
  info.first_lineno = first_lineno;
  return info;
}

CallType classify(const CodeInfo& c, bool external = false, std::string_view caller = "/p/main.py",
                  bool main_module = false) {
  SourceCache sources;
  return classify_call(CallFacts{c, external, caller, main_module}, sources);
}

TEST(Classify, TransparentNames) {
  EXPECT_TRUE(is_hidden_dunder("__repr__"));
  EXPECT_TRUE(is_hidden_dunder("__enter__"));
  EXPECT_FALSE(is_hidden_dunder("__init__"));
  EXPECT_FALSE(is_hidden_dunder("__call__"));
  EXPECT_FALSE(is_hidden_dunder("__"));
  EXPECT_FALSE(is_hidden_dunder("_private"));
  EXPECT_TRUE(is_comprehension("<genexpr>"));
  EXPECT_FALSE(is_comprehension("<lambda>"));
}

TEST(Classify, ModulesAndImportMachinery) {
  EXPECT_EQ(classify(code("/p/main.py", "<module>", "", CodeFlags{}), false, "", true),
            CallType::kModuleExecution);
  EXPECT_EQ(classify(code("/p/helpers.py", "<module>", "", CodeFlags{})), CallType::kImport);
  EXPECT_EQ(classify(code("<frozen importlib._bootstrap>", "_find_and_load"), true), CallType::kImport);
  EXPECT_EQ(classify(code("/usr/lib/python3.15/importlib/__init__.py", "import_module"), true),
            CallType::kImport);
  EXPECT_EQ(classify(code("/p/finder.py", "find_spec"), false, "<frozen importlib._bootstrap_external>"),
            CallType::kImport);
  EXPECT_EQ(classify(code("/p/importlib_tools.py", "f")), CallType::kFunctionCall);
}

TEST(Classify, ClassesAndDunders) {
  EXPECT_EQ(classify(code("/p/a.py", "Shape", "Shape", CodeFlags{})), CallType::kClassDeclaration);
  EXPECT_EQ(classify(code("/p/a.py", "__init__", "Shape.__init__")), CallType::kClassInstantiation);
  EXPECT_EQ(classify(code("/usr/lib/c.py", "__init__", "Counter.__init__"), true),
            CallType::kClassInstantiation);
  EXPECT_EQ(classify(code("/p/a.py", "__call__", "C.__call__")), CallType::kCallableObject);
  EXPECT_EQ(classify(code("/p/a.py", "__repr__", "C.__repr__")), CallType::kSpecialMethod);
  EXPECT_EQ(classify(code("/p/a.py", "<lambda>", "f.<locals>.<lambda>")), CallType::kLambdaFunction);
  EXPECT_EQ(classify(code("/p/a.py", "<genexpr>", "f.<locals>.<genexpr>")), CallType::kComprehension);
  // A class body's flags say so even before its source is read.
  CodeInfo unknown_flags = code("/p/a.py", "Shape", "Shape", CodeFlags{});
  unknown_flags.flags_known = false;
  EXPECT_EQ(classify(unknown_flags), CallType::kFunctionCall);
}

TEST(Classify, ExternalBeforeMethods) {
  EXPECT_EQ(classify(code("/usr/lib/json/__init__.py", "dumps"), true), CallType::kExternalCall);
  EXPECT_EQ(classify(code("/usr/lib/c.py", "most_common", "Counter.most_common"), true),
            CallType::kExternalCall);
}

TEST(Classify, MethodsByQualifiedNameAndDecorators) {
  auto dir = std::filesystem::temp_directory_path() / "pytrace_classify_test";
  std::filesystem::create_directories(dir);
  std::string file = (dir / "shapes.py").string();
  std::ofstream(file) << "class Shape:\n"          // 1
                         "    def area(self):\n"   // 2
                         "        return 0\n"      // 3
                         "    @classmethod\n"      // 4
                         "    def make(cls):\n"    // 5
                         "        return cls()\n"  // 6
                         "    @staticmethod\n"     // 7
                         "    # a comment\n"       // 8
                         "    def unit():\n"       // 9
                         "        return 1\n"      // 10
                         "    @property\n"         // 11
                         "    def label(self):\n"  // 12
                         "        return ''\n";    // 13
  EXPECT_EQ(classify(code(file, "area", "Shape.area", CodeFlags{.function = true}, 2)), CallType::kMethod);
  EXPECT_EQ(classify(code(file, "make", "Shape.make", CodeFlags{.function = true}, 4)),
            CallType::kClassMethod);
  EXPECT_EQ(classify(code(file, "unit", "Shape.unit", CodeFlags{.function = true}, 7)),
            CallType::kFunctionCall);
  EXPECT_EQ(classify(code(file, "label", "Shape.label", CodeFlags{.function = true}, 11)), CallType::kMethod);
  EXPECT_EQ(classify(code(file, "helper", "make.<locals>.helper")), CallType::kFunctionCall);
  EXPECT_EQ(classify(code(file, "ping", "f.<locals>.Local.ping")), CallType::kMethod);
  std::filesystem::remove_all(dir);
}

TEST(Classify, CallCountsFollowTheSeedList) {
  EXPECT_TRUE(counts_calls(CallType::kFunctionCall));
  EXPECT_TRUE(counts_calls(CallType::kExternalCall));
  EXPECT_TRUE(counts_calls(CallType::kMethod));
  EXPECT_FALSE(counts_calls(CallType::kImport));
  EXPECT_FALSE(counts_calls(CallType::kClassDeclaration));
  EXPECT_FALSE(counts_calls(CallType::kModuleExecution));
}

}  // namespace
}  // namespace pytrace
