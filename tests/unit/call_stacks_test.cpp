// SPDX-License-Identifier: MIT
#include "core/call_stacks.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "record_stream.h"

namespace pytrace {
namespace {

using testing::kClassBody;
using testing::kFunction;
using testing::kGenerator;
using testing::RecordStream;

// Writes the frame stream as text: "+name:line" for an enter (with "@site"
// when the call site is known), "-" for a return, "-!" for a frame closed
// without one.
class LogSink : public FrameSink {
 public:
  void on_enter(const FrameEnter& e) override {
    std::string entry = "+" + e.code->name + ":" + std::to_string(e.line);
    if (e.call_site) entry += "@" + e.call_site->code->name;
    log.push_back(std::to_string(e.tid) + entry);
  }
  void on_exit(const FrameExit& e) override {
    log.push_back(std::to_string(e.tid) + (e.returned ? "-" : "-!"));
  }
  void on_import(const ImportEvent& e) override {
    log.push_back(std::to_string(e.tid) + (e.done ? "]" : "[") + e.module);
  }
  std::vector<std::string> log;
};

struct StackRun {
  CodeTable codes;
  LogSink sink;
  StackStats stats;
};

StackRun run(const RecordStream& stream) {
  StackRun result;
  CallStackBuilder builder(result.codes, result.sink);
  for (const auto& record : stream.records) builder.add(record);
  builder.finish();
  result.stats = builder.stats();
  return result;
}

using Log = std::vector<std::string>;

TEST(CallStacks, NestedCallsBalance) {
  RecordStream s;
  auto mod = s.code("/p/a.py", "<module>", 1, kClassBody);
  auto f = s.code("/p/a.py", "f", 3);
  auto g = s.code("/p/a.py", "g", 6);
  s.enter(mod, 0).enter(f, 3).enter(g, 6).leave().leave().enter(g, 6).leave().leave();
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log, (Log{"100+<module>:1", "100+f:3@<module>", "100+g:6@f", "100-", "100-",
                             "100+g:6@<module>", "100-", "100-"}));
  EXPECT_EQ(r.stats.unmatched_returns, 0u);
  EXPECT_EQ(r.stats.open_at_end, 0u);
}

TEST(CallStacks, MissingProbeLineFallsBackToFirstLine) {
  RecordStream s;
  auto closure = s.code("/p/a.py", "inner", 12);
  s.enter(closure, -1).leave();
  EXPECT_EQ(run(s).sink.log[0], "100+inner:12");
}

TEST(CallStacks, GeneratorCreationIsNotACall) {
  RecordStream s;
  auto main = s.code("/p/a.py", "main", 1);
  auto gen = s.code("/p/a.py", "gen", 5, kGenerator);
  auto other = s.code("/p/a.py", "other", 9);
  s.enter(main, 1).enter(gen, 5, FrameNote::kGeneratorCreation).enter(other, 9).leave();
  s.enter(gen, 5).leave(6).leave();
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log, (Log{"100+main:1", "100+other:9@main", "100-", "100+gen:5@main", "100-", "100-"}));
  EXPECT_EQ(r.stats.generator_creations, 1u);
  EXPECT_EQ(r.stats.closed_without_return, 0u);
}

TEST(CallStacks, EachGeneratorResumeIsACallAtItsResumeLine) {
  RecordStream s;
  auto main = s.code("/p/a.py", "main", 1);
  auto gen = s.code("/p/a.py", "gen", 5, kGenerator);
  s.enter(main, 1).enter(gen, 5, FrameNote::kGeneratorCreation).enter(gen, 5).leave(6);
  uint64_t frame = s.last_frame();
  s.resume(gen, frame, 6).leave(7).resume(gen, frame, 7).leave(7).leave();
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log, (Log{"100+main:1", "100+gen:5@main", "100-", "100+gen:6@main", "100-",
                             "100+gen:7@main", "100-", "100-"}));
  EXPECT_EQ(r.stats.restored_resumes, 0u);
}

TEST(CallStacks, InitShimReturnsAreIgnored) {
  RecordStream s;
  auto main = s.code("/p/a.py", "main", 1);
  auto shim = s.code("__init__", "__init__", -1, kClassBody);
  s.enter(main, 1).stray_return(shim, 0xdead0, FrameNote::kInitShim).leave();
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log, (Log{"100+main:1", "100-"}));
  EXPECT_EQ(r.stats.shim_returns, 1u);
  EXPECT_EQ(r.stats.unmatched_returns, 0u);
}

TEST(CallStacks, ExceptionUnwindsEveryFrame) {
  RecordStream s;
  auto a = s.code("/p/a.py", "a", 1);
  auto b = s.code("/p/a.py", "b", 4);
  s.enter(a, 1).enter(b, 4).enter(b, 4).enter(b, 4).leave(5).leave(5).leave(5).leave(2);
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log.size(), 8u);
  EXPECT_EQ(r.stats.closed_without_return, 0u);
  EXPECT_EQ(r.stats.unmatched_returns, 0u);
}

TEST(CallStacks, ReturnOfAnUnknownFrameIsCountedNotGuessed) {
  RecordStream s;
  auto a = s.code("/p/a.py", "a", 1);
  s.enter(a, 1).stray_return(a, 0x1234).leave();
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log, (Log{"100+a:1", "100-"}));
  EXPECT_EQ(r.stats.unmatched_returns, 1u);
}

TEST(CallStacks, LostReturnClosesTheFramesAboveAnOuterReturn) {
  RecordStream s;
  auto a = s.code("/p/a.py", "a", 1);
  auto b = s.code("/p/a.py", "b", 4);
  s.enter(a, 1).enter(b, 4).lose_return().leave();
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log, (Log{"100+a:1", "100+b:4@a", "100-!", "100-"}));
  EXPECT_EQ(r.stats.closed_without_return, 1u);
  EXPECT_EQ(r.stats.lost_records, 1u);
}

TEST(CallStacks, CallUnderAnOuterFrameClosesTheFramesAbove) {
  RecordStream s;
  auto a = s.code("/p/a.py", "a", 1);
  auto b = s.code("/p/a.py", "b", 4);
  auto c = s.code("/p/a.py", "c", 7);
  s.enter(a, 1).enter(b, 4).lose_return().enter(c, 7).leave().leave();
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log, (Log{"100+a:1", "100+b:4@a", "100-!", "100+c:7@a", "100-", "100-"}));
}

TEST(CallStacks, ThrowIntoSuspendedGeneratorIsRestoredUnderItsCaller) {
  RecordStream s;
  auto main = s.code("/p/a.py", "main", 1);
  auto gen = s.code("/p/a.py", "gen", 10, kGenerator);
  auto tidy = s.code("/p/a.py", "tidy", 20);
  s.enter(main, 1).enter(gen, 10).leave(12);  // first next(): yields at 12
  uint64_t gen_frame = s.last_frame();
  // gen.close(): no entry probe; its finally block calls tidy, then it returns.
  s.run_without_entry(gen, gen_frame).enter(tidy, 20).leave().leave(14).leave();
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log, (Log{"100+main:1", "100+gen:10@main", "100-", "100+gen:12@main", "100+tidy:20@gen",
                             "100-", "100-", "100-"}));
  EXPECT_EQ(r.stats.restored_resumes, 1u);
  EXPECT_EQ(r.stats.unmatched_returns, 0u);
}

TEST(CallStacks, ThrowThatOnlyYieldsIsRestoredFromItsReturn) {
  RecordStream s;
  auto main = s.code("/p/a.py", "main", 1);
  auto gen = s.code("/p/a.py", "gen", 10, kGenerator);
  s.enter(main, 1).enter(gen, 10).leave(12);
  uint64_t gen_frame = s.last_frame();
  s.stray_return(gen, gen_frame).leave();  // gen.throw() caught it and yielded again
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log, (Log{"100+main:1", "100+gen:10@main", "100-", "100+gen:12@main", "100-", "100-"}));
}

TEST(CallStacks, ACallerThatIsNeitherOpenNorSuspendedIsNotInvented) {
  RecordStream s;
  auto main = s.code("/p/a.py", "main", 1);
  auto f = s.code("/p/a.py", "f", 5);
  s.enter(main, 1).run_without_entry(main, 0xbad0).enter(f, 5).leave().forget_frame().leave();
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log, (Log{"100+main:1", "100+f:5@main", "100-", "100-"}));
  EXPECT_EQ(r.stats.restored_resumes, 0u);
}

TEST(CallStacks, FramesRunningBeforeTheTraceOpenTheStack) {
  RecordStream s;
  auto module = s.code("/p/a.py", "<module>", 1, kClassBody);
  auto main = s.code("/p/a.py", "main", 4);
  auto step = s.code("/p/a.py", "step", 9);
  s.running({module, main}).enter(step, 9).leave().leave().leave();
  StackRun r = run(s);
  // main was called from the module body: its call site is the module's line.
  EXPECT_EQ(r.sink.log,
            (Log{"100+<module>:1", "100+main:4@<module>", "100+step:9@main", "100-", "100-", "100-"}));
  EXPECT_EQ(r.stats.running_frames, 2u);
  EXPECT_EQ(r.stats.unmatched_returns, 0u);
}

TEST(CallStacks, ThreadsKeepTheirOwnStacks) {
  RecordStream s;
  auto f = s.code("/p/a.py", "f", 1);
  auto g = s.code("/p/a.py", "g", 5);
  s.on_thread(1).enter(f, 1);
  s.on_thread(2).enter(g, 5);
  s.on_thread(1).enter(g, 5).leave();
  s.on_thread(2).leave();
  s.on_thread(1).leave();
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log, (Log{"1+f:1", "2+g:5", "1+g:5@f", "1-", "2-", "1-"}));
}

TEST(CallStacks, FramesOpenAtTheEndAreClosedAsNotReturned) {
  RecordStream s;
  auto f = s.code("/p/a.py", "f", 1);
  s.enter(f, 1).enter(f, 1);
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log, (Log{"100+f:1", "100+f:1@f", "100-!", "100-!"}));
  EXPECT_EQ(r.stats.open_at_end, 2u);
}

TEST(CallStacks, CallWhoseCodeWasNeverDescribedIsCounted) {
  RecordStream s;
  s.enter(0xabc0, 3).leave();
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log[0], "100+<unknown>:3");
  EXPECT_EQ(r.stats.unknown_code, 1u);
}

TEST(CallStacks, ImportEventsPassThroughInOrder) {
  RecordStream s;
  auto mod = s.code("/p/m.py", "<module>", 1, kClassBody);
  s.import("m", false).enter(mod, 0).leave().import("m", true);
  EXPECT_EQ(run(s).sink.log, (Log{"100[m", "100+<module>:1", "100-", "100]m"}));
}

}  // namespace
}  // namespace pytrace
