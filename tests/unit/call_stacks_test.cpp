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
  void on_thread_end(const ThreadEnd& e) override { log.push_back(std::to_string(e.tid) + "end:" + e.name); }
  std::vector<std::string> log;
};

struct StackRun {
  CodeTable codes;
  LogSink sink;
  StackStats stats;
  size_t threads_held = 0;
  size_t processes_held = 0;
};

StackRun run(const RecordStream& stream) {
  StackRun result;
  CallStackBuilder builder(result.codes, result.sink);
  for (const auto& record : stream.records) builder.add(record);
  result.threads_held = builder.threads_held();
  result.processes_held = builder.processes_held();
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

// ---- several processes: forks, exits in any order, reused ids ----

TEST(CallStacks, AForkedChildUsesItsParentsCodeObjects) {
  RecordStream s(100);
  auto mod = s.code("/p/a.py", "<module>", 1, kClassBody);
  auto work = s.code("/p/a.py", "work", 3);
  auto square = s.code("/p/a.py", "square", 7);
  s.enter(mod, 0).enter(work, 3).fork(200);
  // The child goes on in the frames it was forked in, and calls code its
  // parent described: no code record comes for it.
  s.on_process(200).running({mod, work}).enter(square, 7).leave().leave().leave().thread_exit("child", true);
  s.on_process(100).enter(square, 7).leave().leave().leave();
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log, (Log{"100+<module>:1", "100+work:3@<module>", "200+<module>:1", "200+work:3@<module>",
                             "200+square:7@work", "200-", "200-", "200-", "200end:child", "100+square:7@work",
                             "100-", "100-", "100-"}));
  EXPECT_EQ(r.stats.unknown_code, 0u);
  EXPECT_EQ(r.stats.unmatched_returns, 0u);
}

// After a fork the child's allocator may put other code at an address its
// parent describes. The BPF program keeps one description per address and
// sends another whenever a process's code there has other names, so each
// call goes with the description sent last before it.
TEST(CallStacks, AnAddressDescribedAgainGoesWithTheLatestDescription) {
  RecordStream s(100);
  auto f = s.code("/p/a.py", "parent_f", 3);
  auto describe = [&](uint32_t pid, uint64_t seq, const char* file, const char* name, int line) {
    CodeRecord again;
    again.header = RecordHeader{pid, pid, seq, 5000 + seq};
    again.code = f;
    again.first_lineno = line;
    again.flags = kFunction;
    again.filename = file;
    again.name = name;
    again.qualname = name;
    s.records.push_back(again);
  };
  s.enter(f, 3).fork(200).leave();
  s.on_process(200);
  describe(200, 1, "/p/b.py", "child_g", 9);
  s.lose(1).enter(f, 9).leave();
  s.on_process(100);
  describe(100, 5, "/p/a.py", "parent_f", 3);
  s.lose(1).enter(f, 3).leave();
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log, (Log{"100+parent_f:3", "100-", "200+child_g:9", "200-", "100+parent_f:3", "100-"}));
  EXPECT_EQ(r.stats.lost_records, 0u);
}

TEST(CallStacks, ExitsInAnyOrderReleaseWhatTheyHeld) {
  RecordStream s(100);
  auto mod = s.code("/p/a.py", "<module>", 1, kClassBody);
  auto f = s.code("/p/a.py", "f", 3);
  s.enter(mod, 0);
  for (uint32_t child = 1000; child < 1600; ++child) {
    s.fork(child);
    s.on_process(child).running({mod}).enter(f, 3).leave();
    if (child % 2) {  // half end with a call still open: the process died in it
      s.enter(f, 3);
    } else {
      s.leave();
    }
    s.on_thread(child + 100000).enter(f, 3).leave().thread_exit("worker");  // a second thread ends first
    s.on_thread(child).thread_exit("main", true);
    s.on_process(100);
  }
  s.leave().thread_exit("main", true);
  StackRun r = run(s);
  EXPECT_EQ(r.threads_held, 0u);
  EXPECT_EQ(r.processes_held, 0u);
  EXPECT_EQ(r.stats.open_at_end, 600u);  // <module> and f in each of the 300 that died in f
  EXPECT_EQ(r.stats.unknown_code + r.stats.unmatched_returns + r.stats.lost_records, 0u);
}

TEST(CallStacks, AReusedPidOrTidStartsAfresh) {
  RecordStream s(100);
  auto f = s.code("/p/a.py", "f", 3);
  s.enter(f, 3).fork(200).leave();
  s.on_process(200).enter(f, 3).thread_exit("first", true);  // dies inside f
  // Pid 200 again, forked by another process that has other code at f's address.
  s.on_process(300);
  s.records.push_back([&] {
    CodeRecord other;
    other.header = RecordHeader{300, 300, 1, 9000};
    other.code = f;
    other.first_lineno = 1;
    other.flags = kFunction;
    other.filename = "/p/c.py";
    other.name = "other";
    other.qualname = "other";
    return other;
  }());
  s.lose(1).fork(200);
  s.on_process(200).enter(f, 1).leave().thread_exit("second", true);
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log, (Log{"100+f:3", "100-", "200+f:3", "200-!", "200end:first", "200+other:1", "200-",
                             "200end:second"}));
}

TEST(CallStacks, ANewThreadWhoseTidEndedUnseenStartsAfresh) {
  RecordStream s(100);
  auto f = s.code("/p/a.py", "f", 3);
  auto g = s.code("/p/a.py", "g", 5);
  s.on_thread(101).enter(f, 3);
  // The thread's end record was lost; a new thread got its tid and numbers
  // its records from 1 again.
  s.records.push_back(
      FrameRecord{RecordHeader{100, 101, 1, 9999}, false, FrameNote::kNone, false, g, 0x123, 0, 0, 0, 5, {}});
  StackRun r = run(s);
  EXPECT_EQ(r.sink.log, (Log{"101+f:3", "101-!", "101end:", "101+g:5", "101-!"}));
  EXPECT_EQ(r.stats.open_at_end, 2u);  // f, when its thread ended, and g at the end
}

}  // namespace
}  // namespace pytrace
