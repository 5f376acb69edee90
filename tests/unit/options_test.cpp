// SPDX-License-Identifier: MIT
#include "options.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <unistd.h>

#include "status_line.h"

namespace pytrace {
namespace {

using Args = std::vector<std::string>;

TEST(ProgramOptions, OptionsBeforeAndAfterTheScript) {
  auto o = parse_program_options({"--scope", "/s", "my_script.py", "--arg1", "value1", "-o", "trace.json"});
  EXPECT_EQ(o.script, "my_script.py");
  EXPECT_EQ(o.script_args, (Args{"--arg1", "value1"}));
  EXPECT_EQ(o.output, "trace.json");
  EXPECT_EQ(o.scopes, (Args{"/s"}));
}

TEST(ProgramOptions, ScriptArgumentsKeepTheirOrder) {
  auto o = parse_program_options({"a.py", "x", "--flag", "y", "-x", "1", "pos"});
  EXPECT_EQ(o.script_args, (Args{"x", "--flag", "y", "-x", "1", "pos"}));
}

TEST(ProgramOptions, DoubleDashEndsTracerOptions) {
  auto o = parse_program_options({"a.py", "x", "--", "-o", "foo", "--help"});
  EXPECT_EQ(o.script_args, (Args{"x", "-o", "foo", "--help"}));
  EXPECT_FALSE(o.output);
  EXPECT_FALSE(o.help);
  auto first = parse_program_options({"--no-imports", "--", "-weird.py", "-o"});
  EXPECT_EQ(first.script, "-weird.py");
  EXPECT_EQ(first.script_args, (Args{"-o"}));
}

TEST(ProgramOptions, NoAbbreviations) {
  auto o = parse_program_options({"a.py", "--out", "q", "--no-imp", "--sc"});
  EXPECT_EQ(o.script_args, (Args{"--out", "q", "--no-imp", "--sc"}));
  EXPECT_FALSE(o.output);
  EXPECT_TRUE(o.imports);
}

TEST(ProgramOptions, FlagsAndValues) {
  auto o =
      parse_program_options({"--no-external-calls", "--no-imports", "--show-dunders", "--python=/py",
                             "--output=t.json", "--ring-buffer-mb", "8", "-v", "--no-arg-values", "a.py"});
  EXPECT_FALSE(o.external_calls);
  EXPECT_FALSE(o.imports);
  EXPECT_TRUE(o.show_dunders);
  EXPECT_TRUE(o.verbose);
  EXPECT_EQ(o.python, "/py");
  EXPECT_EQ(o.output, "t.json");
  EXPECT_EQ(o.ring_buffer_mb, 8u);
  EXPECT_FALSE(o.wait_for_children);
  // --scope as often as given; -m runs a module, whose arguments follow it
  // (tracer options still may, as after a script).
  o = parse_program_options({"--scope", "/a", "--scope=/b", "-m", "http.server", "--bind", "::1", "-o", "x"});
  EXPECT_EQ(o.scopes, (Args{"/a", "/b"}));
  EXPECT_EQ(o.module, "http.server");
  EXPECT_EQ(o.script_args, (Args{"--bind", "::1"}));
  EXPECT_EQ(o.output, "x");
  EXPECT_THROW(parse_program_options({"-m"}), UsageError);
  EXPECT_THROW(parse_program_options({"-m", "--help"}), UsageError);
  EXPECT_THROW(parse_program_options({"--pid", "7", "-m", "x"}), UsageError);
  EXPECT_TRUE(parse_program_options({"a.py", "--wait-for-children"}).wait_for_children);
  EXPECT_THROW(parse_program_options({"--pid", "7", "--wait-for-children"}), UsageError);
}

TEST(ProgramOptions, OutputFormAndPatterns) {
  auto o = parse_program_options({"a.py", "--no-patterns", "--format", "text", "--no-color"});
  EXPECT_FALSE(o.patterns);
  EXPECT_TRUE(o.text_format);
  EXPECT_FALSE(o.color);
  EXPECT_FALSE(parse_program_options({"a.py", "--format=json"}).text_format);
  EXPECT_THROW(parse_program_options({"a.py", "--format", "yaml"}), UsageError);
  // Other tools' formats: only into a file.
  auto exported = parse_program_options({"a.py", "--format", "speedscope", "-o", "t.speedscope.json"});
  EXPECT_EQ(exported.export_format, "speedscope");
  EXPECT_FALSE(exported.text_format);
  EXPECT_EQ(parse_program_options({"a.py", "--format", "text", "-o", "t"}).export_format, "");
  EXPECT_THROW(parse_program_options({"a.py", "--format", "chrome"}), UsageError);
  EXPECT_THROW(parse_program_options({"a.py", "--format", "chrome", "-o", "t", "--track-executed-lines"}),
               UsageError);
}

TEST(ProgramOptions, HelpAndVersionNeedNoScript) {
  EXPECT_TRUE(parse_program_options({"-h"}).help);
  EXPECT_TRUE(parse_program_options({"a.py", "--help"}).help);
  EXPECT_TRUE(parse_program_options({"--version"}).version);
}

TEST(ProgramOptions, CheckTakesNoProgram) {
  auto o = parse_program_options({"--check", "--python", "/p/python3.15"});
  EXPECT_TRUE(o.check);
  EXPECT_EQ(o.python, "/p/python3.15");
  EXPECT_THROW(parse_program_options({"--check", "a.py"}), UsageError);
  EXPECT_THROW(parse_program_options({"--check", "--pid", "4"}), UsageError);
  // After the script, --check is the script's.
  EXPECT_EQ(parse_program_options({"a.py", "--check"}).script_args, (Args{"--check"}));
  EXPECT_EQ(parse_options({"--check"}, Front::kPytest).script_args, (Args{"--check"}));  // pytest's
}

TEST(ProgramOptions, AttachToAProcess) {
  auto o = parse_program_options({"--pid", "1234", "--duration", "2.5", "-o", "t.json"});
  EXPECT_EQ(o.pid, 1234);
  EXPECT_EQ(o.duration, 2.5);
  EXPECT_EQ(parse_program_options({"-p", "7"}).pid, 7);
  EXPECT_THROW(parse_program_options({"--pid", "7", "a.py"}), UsageError);
  EXPECT_THROW(parse_program_options({"a.py", "--duration", "3"}), UsageError);
  EXPECT_THROW(parse_program_options({"--pid", "7", "--python", "/py"}), UsageError);
  EXPECT_THROW(parse_program_options({"--pid", "7", "--duration", "-1"}), UsageError);
}

TEST(ProgramOptions, PytestKeepsItsOwnOptions) {
  auto o = parse_options(
      {"tests", "-v", "-p", "no:cacheprovider", "-o", "t.json", "-k", "add", "--no-imports"}, Front::kPytest);
  EXPECT_EQ(o.script_args, (Args{"tests", "-v", "-p", "no:cacheprovider", "-k", "add"}));
  EXPECT_EQ(o.output, "t.json");
  EXPECT_FALSE(o.imports);
  EXPECT_FALSE(o.verbose);
  EXPECT_FALSE(o.pid);
  auto after = parse_options({"-x", "--", "-o", "ini=1"}, Front::kPytest);
  EXPECT_EQ(after.script_args, (Args{"-x", "-o", "ini=1"}));
  EXPECT_TRUE(parse_options({}, Front::kPytest).script_args.empty());
}

TEST(ProgramOptions, UsageErrors) {
  EXPECT_THROW(parse_program_options({}), UsageError);
  EXPECT_THROW(parse_program_options({"-o"}), UsageError);
  EXPECT_THROW(parse_program_options({"--bogus", "a.py"}), UsageError);
  EXPECT_THROW(parse_program_options({"a.py", "--ring-buffer-mb", "0"}), UsageError);
  EXPECT_THROW(parse_program_options({"a.py", "--ring-buffer-mb", "x"}), UsageError);
  EXPECT_THROW(parse_program_options({"a.py", "--no-imports=1"}), UsageError);
  EXPECT_TRUE(parse_program_options({"a.py", "--track-executed-lines", "-o", "t.json"}).track_executed_lines);
  EXPECT_TRUE(
      parse_program_options({"--pid", "1", "--track-executed-lines", "-o", "t.json"}).track_executed_lines);
  EXPECT_THROW(parse_program_options({"a.py", "--track-executed-lines"}),
               UsageError);  // the tree has no lines
  EXPECT_THROW(parse_program_options({"a.py", "--track-executed-lines", "-o", "t", "--format", "text"}),
               UsageError);
}

// Progress lines are for terminals: a log file gets neither them nor \r and
// escape sequences.
TEST(StatusLine, NothingWhenStderrIsNotATerminal) {
  FILE* log = tmpfile();
  ASSERT_NE(log, nullptr);
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  dup2(fileno(log), STDERR_FILENO);
  {
    StatusLine status;
    status.show("trace_program: grouping the repeated calls of 10,000,000 calls");
    status.clear();
  }
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  EXPECT_EQ(ftell(log), 0);
  fclose(log);
}

}  // namespace
}  // namespace pytrace
