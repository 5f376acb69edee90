// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "pipeline.h"

namespace pytrace::testing {
namespace {

constexpr const char* kThreading = "/usr/lib/python3.15/threading.py";

ArgValue object(uint64_t address) {
  return {ArgKind::kObject, 0, address, 0, "Thread"};
}
ArgValue str(const std::string& text) {
  return {ArgKind::kStr, 1, 0, text.size(), text};
}
ArgValue none() {
  return {ArgKind::kNone, 0, 0, 0, ""};
}

// A program that makes Thread objects and runs them, as threading.py does.
struct ThreadingProgram {
  RecordStream s;
  uint64_t main_code = s.code("/p/main.py", "<module>", 1, kClassBody);
  uint64_t init = describe("__init__", "Thread.__init__",
                           {"self", "group", "target", "name", "args", "kwargs", "daemon", "context"});
  uint64_t name_setter = describe("name", "Thread.name", {"self", "name"});
  uint64_t bootstrap_inner = describe("_bootstrap_inner", "Thread._bootstrap_inner", {"self"});
  uint64_t run = describe("run", "Thread.run", {"self"});
  uint64_t process_items = s.code("/p/main.py", "process_items", 3);
  uint64_t wrapper = s.code("/p/main.py", "wrapper", 8);

  ThreadingProgram() { s.on_thread(100).enter(main_code, 1); }

  uint64_t describe(const std::string& name, const std::string& qualname, std::vector<std::string> params) {
    uint64_t code = s.code(kThreading, name, 900, kFunction, qualname);
    s.params(std::move(params));
    return code;
  }

  // Thread(name=...) or Thread(target=...) on the main thread.
  void construct(uint64_t self, ArgValue name) {
    s.on_thread(100)
        .enter(init, 20)
        .with_args({object(self), none(), object(0x9000), std::move(name), none(), none(), none(), none()})
        .leave();
  }

  void rename(uint64_t self, const std::string& name) {
    s.enter(name_setter, 30).with_args({object(self), str(name)}).leave();
  }

  // Thread `tid` runs the Thread object at `self` and its target, then ends.
  void start(uint32_t tid, uint64_t self, uint64_t target, const std::string& kernel_name) {
    s.on_thread(tid).enter(bootstrap_inner, 1040).with_args({object(self)});
    s.enter(run, 1000).with_args({object(self)}).enter(target, 4).leave().leave().leave();
    s.thread_exit(kernel_name).on_thread(100);
  }

  std::string name_of(const TraceModel& model, uint32_t tid) {
    for (const auto& thread : model.threads)
      if (thread.tid == tid) return thread.name;
    return "(no thread " + std::to_string(tid) + ")";
  }
};

TEST(ThreadNames, AGivenNameIsShownWholeWhereTheKernelCutIt) {
  ThreadingProgram p;
  p.construct(0xA000, str("worker-pool-connection-1"));
  p.start(101, 0xA000, p.process_items, "worker-pool-con");
  Pipeline pipeline;
  auto model = pipeline.run(p.s);
  EXPECT_EQ(p.name_of(*model, 101), "worker-pool-connection-1");
}

TEST(ThreadNames, ADefaultNameIsCompletedWithItsTargetsName) {
  ThreadingProgram p;
  p.construct(0xB000, none());
  p.start(102, 0xB000, p.process_items, "Thread-2 (proce");
  Pipeline pipeline;
  auto model = pipeline.run(p.s);
  EXPECT_EQ(p.name_of(*model, 102), "Thread-2 (process_items)");
}

TEST(ThreadNames, ATargetWhoseCodeHasAnotherNameLeavesTheKernelsName) {
  // A decorated target runs `wrapper`, while its __name__ (in the name) is
  // the function's: "wrapper" does not continue "proce", so nothing is made up.
  ThreadingProgram p;
  p.construct(0xB000, none());
  p.start(103, 0xB000, p.wrapper, "Thread-3 (proce");
  Pipeline pipeline;
  auto model = pipeline.run(p.s);
  EXPECT_EQ(p.name_of(*model, 103), "Thread-3 (proce");
}

TEST(ThreadNames, ANameSetLaterWins) {
  ThreadingProgram p;
  p.construct(0xA000, str("first"));
  p.s.on_thread(101).enter(p.bootstrap_inner, 1040).with_args({object(0xA000)});
  p.s.enter(p.run, 1000).with_args({object(0xA000)}).enter(p.process_items, 4);
  p.s.on_thread(100);
  p.rename(0xA000, "a name set while it runs, longer than fifteen bytes");
  p.s.on_thread(101).leave().leave().leave().thread_exit("first");
  Pipeline pipeline;
  auto model = pipeline.run(p.s);
  EXPECT_EQ(p.name_of(*model, 101), "a name set while it runs, longer than fifteen bytes");
}

TEST(ThreadNames, AReusedAddressDoesNotInheritTheNameOfTheObjectBefore) {
  ThreadingProgram p;
  p.construct(0xA000, str("old-thread-with-a-long-name"));
  p.construct(0xA000, none());  // a new Thread object where the old one was
  p.start(104, 0xA000, p.process_items, "Thread-4 (proce");
  Pipeline pipeline;
  auto model = pipeline.run(p.s);
  EXPECT_EQ(p.name_of(*model, 104), "Thread-4 (process_items)");
}

TEST(ThreadNames, AThreadStillRunningAtTheEndGetsItsFullNameToo) {
  ThreadingProgram p;
  p.construct(0xC000, str("still-running-at-the-end"));
  p.s.on_thread(105).enter(p.bootstrap_inner, 1040).with_args({object(0xC000)});
  p.s.enter(p.run, 1000).with_args({object(0xC000)}).enter(p.process_items, 4);
  Pipeline pipeline;
  for (const auto& record : p.s.records) pipeline.builder->add(record);
  pipeline.builder->set_thread_name(105, "still-running-a");
  auto model = pipeline.builder->finish();
  EXPECT_EQ(p.name_of(*model, 105), "still-running-at-the-end");
}

TEST(ThreadNames, AForkedProcessHasTheThreadObjectsOfItsParent) {
  ThreadingProgram p;
  p.construct(0xA000, str("made-in-the-parent-started-in-the-child"));
  p.s.fork(200).on_process(200);
  p.s.running({p.main_code});
  p.start(201, 0xA000, p.process_items, "made-in-the-par");
  Pipeline pipeline;
  auto model = pipeline.run(p.s);
  EXPECT_EQ(p.name_of(*model, 201), "made-in-the-parent-started-in-the-child");
}

TEST(ThreadNames, AThreadThatForksGoesOnUnderItsNameInTheChild) {
  ThreadingProgram p;
  p.construct(0xA000, str("forking-worker-thread-long"));
  p.s.on_thread(101).enter(p.bootstrap_inner, 1040).with_args({object(0xA000)});
  p.s.enter(p.run, 1000).with_args({object(0xA000)}).enter(p.process_items, 4);
  p.s.fork(200).on_process(200);
  p.s.running({p.main_code, p.bootstrap_inner, p.run, p.process_items});
  p.s.thread_exit("forking-worker-", true);
  Pipeline pipeline;
  auto model = pipeline.run(p.s);
  std::string name;
  for (const auto& thread : model->threads)
    if (thread.pid == 200) name = thread.name;
  EXPECT_EQ(name, "forking-worker-thread-long");
}

TEST(ThreadNames, AKernelNameCutInsideACharacterLosesThePiece) {
  ThreadingProgram p;
  p.s.on_thread(101).enter(p.process_items, 4).leave().thread_exit("upload-worker-\xe2\x82");
  Pipeline pipeline;
  auto model = pipeline.run(p.s);
  EXPECT_EQ(p.name_of(*model, 101), "upload-worker-");
}

TEST(ThreadNames, AnotherProcessDoesNotGetANameGivenAtTheSameAddress) {
  ThreadingProgram p;
  p.construct(0xA000, str("a-worker-of-process-100"));
  p.s.on_process(300).enter(p.main_code, 1);  // not forked from 100
  p.start(301, 0xA000, p.process_items, "Thread-1 (proce");
  Pipeline pipeline;
  auto model = pipeline.run(p.s);
  EXPECT_EQ(p.name_of(*model, 301), "Thread-1 (process_items)");
}

TEST(ThreadNames, AnEmptyNameIsTheDefaultOne) {
  ThreadingProgram p;
  p.construct(0xA000, str("old-thread-with-a-long-name"));
  p.construct(0xA000, str(""));  // CPython: a false name means "Thread-N (target)"
  p.start(101, 0xA000, p.process_items, "Thread-2 (proce");
  Pipeline pipeline;
  auto model = pipeline.run(p.s);
  EXPECT_EQ(p.name_of(*model, 101), "Thread-2 (process_items)");
}

TEST(ThreadNames, ANameNotReadWholeLeavesTheKernelsName) {
  ThreadingProgram p;
  p.construct(0xA000, str(std::string(130, 'L')));  // cut at 100 characters in the trace
  ArgValue wide = str("db-pool-connection-worker");
  wide.width = 4;
  wide.text.resize(104);  // what fits of 25 four-byte characters
  p.construct(0xB000, wide);
  p.start(101, 0xA000, p.process_items, std::string(15, 'L'));
  p.start(102, 0xB000, p.process_items, "db-pool-connect");
  Pipeline pipeline;
  auto model = pipeline.run(p.s);
  EXPECT_EQ(p.name_of(*model, 101), std::string(15, 'L'));
  EXPECT_EQ(p.name_of(*model, 102), "db-pool-connect");
}

TEST(ThreadNames, ANameSetToAnythingButAStrLeavesTheKernelsName) {
  ThreadingProgram p;
  p.construct(0xA000, str("initial-long-name-here"));
  p.s.enter(p.name_setter, 30)
      .with_args({object(0xA000), {ArgKind::kInt, 0, 0, 1, std::string("\x2a\0\0\0", 4)}});
  p.s.leave();
  p.start(101, 0xA000, p.process_items, "42");
  Pipeline pipeline;
  auto model = pipeline.run(p.s);
  EXPECT_EQ(p.name_of(*model, 101), "42");
}

TEST(ThreadNames, OnlyRunsOwnFirstCallIsTheTarget) {
  ThreadingProgram p;
  uint64_t rows = p.s.code("/p/main.py", "load_rows", 20, kGenerator);
  uint64_t load_records = p.s.code("/p/main.py", "load_records", 24);
  p.construct(0xA000, none());
  // Thread(target=load_records, args=load_rows()): run resumes the
  // generator to unpack the arguments, then calls the target, which runs
  // another Thread's run() itself.
  p.s.on_thread(101).enter(p.bootstrap_inner, 1040).with_args({object(0xA000)});
  p.s.enter(p.run, 1000).with_args({object(0xA000)});
  p.s.enter(rows, 21).leave();
  p.s.enter(load_records, 25).enter(p.run, 1000).with_args({object(0xB000)});
  p.s.enter(p.process_items, 4).leave().leave().leave().leave().leave();
  p.s.thread_exit("Thread-1 (load_").on_thread(100);
  Pipeline pipeline;
  auto model = pipeline.run(p.s);
  EXPECT_EQ(p.name_of(*model, 101), "Thread-1 (load_records)");
}

TEST(ThreadNames, AKernelNameShowingTooLittleOfTheTargetStays) {
  // "Thread-10000 (" leaves one byte of the target: "w" is no evidence.
  ThreadingProgram p;
  p.construct(0xA000, none());
  p.start(101, 0xA000, p.wrapper, "Thread-10000 (w");
  Pipeline pipeline;
  auto model = pipeline.run(p.s);
  EXPECT_EQ(p.name_of(*model, 101), "Thread-10000 (w");
}

}  // namespace
}  // namespace pytrace::testing
