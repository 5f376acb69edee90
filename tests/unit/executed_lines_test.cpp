// SPDX-License-Identifier: MIT
// --track-executed-lines in the pure pipeline: calls of the line script's
// callback -> executed lines of the frame below -> executed_line entries.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/classify.h"
#include "core/json_writer.h"
#include "core/test_runs.h"
#include "pipeline.h"

namespace pytrace::testing {
namespace {

constexpr const char* kScript = "/tmp/pytrace-lines-x/lines.py";

// The script's code objects, and a program in /p whose functions' lines
// are one instruction each.
struct LinesProgram {
  RecordStream s;
  uint64_t main_code = s.code("/p/main.py", "<module>", 1, kClassBody, "", linetable_of(1, {1, 2, 3, 4, 5}));
  uint64_t work = s.code("/p/main.py", "work", 10, kFunction, "", linetable_of(10, {10, 11, 12, 13}));
  uint64_t library = s.code("/usr/lib/python3.15/json/__init__.py", "dumps", 183, kFunction, "",
                            linetable_of(183, {183, 184}));
  uint64_t callback = s.code(kScript, "__pytrace_line__", 20);
  uint64_t starter = s.code("<string>", "<module>", 1, kClassBody);
  uint64_t script = s.code(kScript, "<module>", 1, kClassBody);

  // The frame on top runs instruction `instr`: the script's callback is called.
  LinesProgram& line(uint32_t instr) {
    s.enter(callback, 20).at_instruction(instr).leave();
    return *this;
  }

  std::unique_ptr<TraceModel> run(FilterOptions options = {}) {
    options.line_script = kScript;
    Pipeline pipeline("/p", with_main(options));
    return pipeline.run(s);
  }
};

std::vector<std::string> lines_of(const ThreadTrace& thread) {
  std::vector<std::string> out;
  for (const ExecutedLine& line : thread.executed_lines)
    out.push_back(line.code->name + ":" + std::to_string(line.line) + " before " +
                  std::to_string(line.before));
  return out;
}

TEST(ExecutedLines, TheCallbacksCallsAreLinesOfTheFrameBelowAndNotCalls) {
  LinesProgram p;
  p.s.enter(p.main_code, 1);
  p.line(0).line(1);
  p.s.enter(p.work, 10).at_instruction(1);
  p.line(1).line(2);
  p.s.enter(p.library, 183).at_instruction(2);
  p.line(1);  // a library line: not in the scope
  p.s.leave().leave();
  p.line(2);
  p.s.leave();
  auto model = p.run();
  ASSERT_EQ(model->threads.size(), 1u);
  EXPECT_EQ(outline(model->threads[0]), (std::vector<std::string>{"<module>", "  work", "    dumps [ext]"}));
  EXPECT_EQ(lines_of(model->threads[0]),
            (std::vector<std::string>{"<module>:1 before 1", "<module>:2 before 1", "work:11 before 2",
                                      "work:12 before 2", "<module>:3 before 3"}));
}

TEST(ExecutedLines, TheStarterModuleIsNotACallOfTheProgram) {
  // The interpreter runs the starter as "<string>" where the program was;
  // it runs the script, whose own module body installs the callbacks.
  LinesProgram p;
  p.s.enter(p.main_code, 1);
  p.s.enter(p.starter, 1).enter(p.script, 1).leave().leave();
  p.line(0);
  p.s.enter(p.work, 10).leave().leave();
  auto model = p.run();
  EXPECT_EQ(outline(model->threads[0]), (std::vector<std::string>{"<module>", "  work"}));
  EXPECT_TRUE(model->line_script_ran);
  EXPECT_EQ(lines_of(model->threads[0]), (std::vector<std::string>{"<module>:1 before 1"}));
  EXPECT_EQ(model->stack_stats.unmatched_returns, 0u);
}

TEST(ExecutedLines, AnotherStringModuleStaysACall) {
  LinesProgram p;
  p.s.enter(p.main_code, 1).enter(p.starter, 1).leave().leave();
  auto model = p.run();
  EXPECT_EQ(outline(model->threads[0]), (std::vector<std::string>{"<module>", "  <module> [ext]"}));
  EXPECT_FALSE(model->line_script_ran);
}

TEST(ExecutedLines, WithoutTheOptionTheScriptIsNotKnown) {
  LinesProgram p;
  p.s.enter(p.main_code, 1);
  p.line(0);
  p.s.leave();
  Pipeline pipeline("/p", with_main());
  auto model = pipeline.run(p.s);
  EXPECT_TRUE(model->threads[0].executed_lines.empty());
}

TEST(ExecutedLines, LineContexts) {
  auto make = [](std::string name, bool function) {
    CodeInfo code;
    code.filename = "/p/m.py";
    code.name = std::move(name);
    code.flags.function = function;
    code.flags_known = true;
    return code;
  };
  CodeInfo module = make("<module>", false), function = make("f", true), class_body = make("C", false);
  EXPECT_EQ(line_context(module, "  # note"), "comment");
  EXPECT_EQ(line_context(function, "rb'''doc'''"), "comment");
  EXPECT_EQ(line_context(module, "\"\"\"Docstring.\"\"\""), "comment");
  EXPECT_EQ(line_context(module, "def f(x):"), "definition");
  EXPECT_EQ(line_context(module, "async def g():"), "definition");
  EXPECT_EQ(line_context(module, "@cache"), "definition");
  EXPECT_EQ(line_context(module, "class C:"), "definition");
  EXPECT_EQ(line_context(module, "from a import b"), "import");
  EXPECT_EQ(line_context(module, "import os"), "import");
  EXPECT_EQ(line_context(module, "try:"), "control");
  EXPECT_EQ(line_context(module, "except ValueError as e:"), "control");
  EXPECT_EQ(line_context(module, "finally:"), "control");
  EXPECT_EQ(line_context(module, "x = f(1)"), "module_runtime");
  EXPECT_EQ(line_context(module, "importer = 1"), "module_runtime");
  EXPECT_EQ(line_context(function, "return x"), "function_runtime");
  EXPECT_EQ(line_context(class_body, "x = 1"), "class_body");
}

nlohmann::json written(const TraceModel& model) {
  Scope scope("/p");
  SourceCache sources;
  std::ostringstream out;
  write_json(model, scope, sources, out);
  return nlohmann::json::parse(out.str());
}

TEST(ExecutedLines, EntriesGroupLinesUntilACallAndIdsStayPositions) {
  LinesProgram p;
  p.s.enter(p.main_code, 1);
  p.line(0).line(1);
  p.s.enter(p.work, 10).at_instruction(1);
  p.line(1).line(2).line(1);
  p.s.leave();
  p.line(2).line(3);
  p.s.leave();
  auto model = p.run();
  model->session.executed_lines = true;
  nlohmann::json doc = written(*model);
  std::vector<std::string> shape;
  for (size_t i = 0; i < doc["trace_data"].size(); ++i) {
    const auto& e = doc["trace_data"][i];
    if (e["event"] == "executed_line") {
      shape.push_back("lines " + e["function"].get<std::string>() + " " + e["lines"].dump() + " " +
                      e["context"].get<std::string>() + " " + e["file"].get<std::string>() + " call " +
                      e["call_id"].dump());
    } else {
      EXPECT_EQ(e["id"], i) << "ids are positions in trace_data";
      shape.push_back("call " + e["name"].get<std::string>() + " parent " + e["parent_id"].dump());
    }
  }
  EXPECT_EQ(shape, (std::vector<std::string>{
                       "call <module> parent null", "lines <module> [1,2] module_runtime main.py call 0",
                       "call work parent 0", "lines work [11,12,11] function_runtime main.py call 2",
                       "lines <module> [3,4] module_runtime main.py call 0"}));
  EXPECT_EQ(doc["metadata"]["executed_lines_count"], 3);  // entries, as the seed counted
  EXPECT_EQ(doc["metadata"]["total_frames"], doc["trace_data"].size());
  EXPECT_EQ(doc["metadata"]["options"]["track_executed_lines"], true);
}

TEST(ExecutedLines, ATestEntryGoesAfterTheLinesOfTheCallBeforeIt) {
  LinesProgram p;
  p.s.enter(p.work, 10);
  p.line(1);
  p.s.leave();
  p.s.enter(p.work, 10);
  p.line(2);
  p.s.leave();
  auto model = p.run();
  const uint64_t second_call = RecordStream::kOrigin + model->threads[0].entries[1].start_ns;
  std::vector<TestRun> runs{{"t.py::test_b", "/p/t.py", 3, 100, second_call - 1, UINT64_MAX, "passed"}};
  group_calls_by_test(*model, runs, RecordStream::kOrigin);
  ASSERT_EQ(model->threads[0].entries.size(), 3u);
  EXPECT_EQ(model->threads[0].entries[1].test, 0);
  EXPECT_EQ(lines_of(model->threads[0]), (std::vector<std::string>{"work:11 before 1", "work:12 before 3"}));
}

}  // namespace
}  // namespace pytrace::testing
