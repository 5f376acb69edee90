// SPDX-License-Identifier: MIT
#include "core/test_runs.h"

#include <gtest/gtest.h>

#include <sstream>

#include "pipeline.h"

namespace pytrace {
namespace {

using testing::Pipeline;
using testing::RecordStream;

TEST(TestRuns, ParsesRunsAndTheirOutcomes) {
  std::istringstream events(
      R"({"event":"start","nodeid":"t.py::a","file":"/p/t.py","line":3,"tid":7,"ns":100}
{"event":"report","nodeid":"t.py::a","when":"call","outcome":"passed","tid":7,"ns":150}
{"event":"end","nodeid":"t.py::a","tid":7,"ns":200}
not json
{"event":"start","nodeid":"t.py::b","file":"/p/t.py","line":9,"tid":7,"ns":300}
{"event":"report","nodeid":"t.py::b","when":"setup","outcome":"skipped","tid":7,"ns":310}
{"event":"report","nodeid":"t.py::b","when":"teardown","outcome":"failed","tid":7,"ns":320}
{"event":"end","nodeid":"t.py::b","tid":7,"ns":330}
{"event":"start","nodeid":"t.py::c","file":"/p/t.py","line":12,"tid":7,"ns":400}
{"event":"end","nodeid":"t.py::unknown","tid":7,"ns":410}
)");
  size_t malformed = 0;
  std::vector<TestRun> runs = parse_test_events(events, malformed);
  EXPECT_EQ(malformed, 2u);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].nodeid, "t.py::a");
  EXPECT_EQ(runs[0].file, "/p/t.py");
  EXPECT_EQ(runs[0].line, 3);
  EXPECT_EQ(runs[0].tid, 7u);
  EXPECT_EQ(runs[0].start_ns, 100u);
  EXPECT_EQ(runs[0].end_ns, 200u);
  EXPECT_EQ(runs[0].outcome, "passed");
  EXPECT_EQ(runs[1].outcome, "failed");   // a failed phase wins over a skipped one
  EXPECT_EQ(runs[2].end_ns, UINT64_MAX);  // never ended: pytest was stopped
}

// The events come from inside the traced program: whatever it appends to
// them is counted as unreadable, never trusted and never fatal.
TEST(TestRuns, EventsOfTheWrongShapeAreCountedNotTrusted) {
  std::istringstream events(
      R"({"event":"start","nodeid":"t.py::a","file":7,"line":"seven","tid":-1,"ns":100}
{"event":"end","nodeid":"t.py::a","ns":50}
{"event":"end","nodeid":"t.py::a","ns":150}
{"event":"end","nodeid":"t.py::b","ns":10}
{"event":"start","nodeid":"t.py::b","line":99999999999,"ns":200}
{"event":"report","nodeid":"t.py::b","outcome":["failed"],"ns":210}
{"event":"end","nodeid":"t.py::b","ns":300}
{"event":7,"nodeid":"t.py::c","ns":1}
{"event":"start","nodeid":"t.py::c","ns":-5}
[1, 2, 3]
)");
  size_t malformed = 0;
  std::vector<TestRun> runs = parse_test_events(events, malformed);
  // the end before its start, the end of a test not started, the event
  // that is not a word, the negative time, the list
  EXPECT_EQ(malformed, 5u);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].file, "");  // a number where a path belongs
  EXPECT_EQ(runs[0].line, 0);   // a word where a line belongs
  EXPECT_EQ(runs[0].tid, 0u);   // out of range
  EXPECT_EQ(runs[0].end_ns, 150u);
  EXPECT_EQ(runs[1].line, 0);  // too large for a line
  EXPECT_EQ(runs[1].outcome, "passed");
  EXPECT_EQ(runs[1].end_ns, 300u);
}

TEST(TestRuns, EachTestsCallsGoUnderItsEntry) {
  RecordStream s(7);
  auto collect = s.code("/p/tests/test_x.py", "<module>", 1, testing::kClassBody);
  auto test_a = s.code("/p/tests/test_x.py", "test_a", 3);
  auto helper = s.code("/p/lib.py", "helper", 1);
  s.on_thread(7).enter(collect, 0).leave();             // ts 1040-1050: collection, before any test
  s.enter(test_a, 3).enter(helper, 1).leave().leave();  // ts 1060-1090: inside test a
  s.enter(helper, 1).leave();                           // ts 1100-1110: after it
  Pipeline pipeline;
  auto model = pipeline.run(s);

  TestRun a{"tests/test_x.py::test_a", "/p/tests/test_x.py", 3, 7, 1055, 1095, "passed"};
  TestRun b{"tests/test_x.py::test_b", "/p/tests/test_x.py", 9, 7, 1200, 1300, "skipped"};
  group_calls_by_test(*model, {a, b}, RecordStream::kOrigin);

  ASSERT_EQ(model->tests.size(), 2u);
  const auto& entries = model->threads[0].entries;
  ASSERT_EQ(entries.size(), 6u);
  auto name = [&](size_t i) {
    return entries[i].test >= 0 ? model->tests[entries[i].test].nodeid : entries[i].code->name;
  };
  EXPECT_EQ(name(0), "<module>");
  EXPECT_EQ(entries[0].depth, 0);
  EXPECT_EQ(name(1), "tests/test_x.py::test_a");
  EXPECT_EQ(entries[1].start_ns, 55u);
  EXPECT_EQ(entries[1].duration_ns, 40u);
  EXPECT_EQ(name(2), "test_a");
  EXPECT_EQ(entries[2].parent, 1);
  EXPECT_EQ(entries[2].depth, 1);
  EXPECT_EQ(name(3), "helper");
  EXPECT_EQ(entries[3].parent, 2);
  EXPECT_EQ(entries[3].depth, 2);
  EXPECT_EQ(name(4), "helper");  // after the test: stays at the top
  EXPECT_EQ(entries[4].parent, -1);
  EXPECT_EQ(entries[4].depth, 0);
  EXPECT_EQ(name(5), "tests/test_x.py::test_b");  // a test without calls still has its entry
}

}  // namespace
}  // namespace pytrace
