// SPDX-License-Identifier: MIT
#include "core/call_filter.h"

#include <gtest/gtest.h>

#include "pipeline.h"

namespace pytrace {
namespace {

using testing::kClassBody;
using testing::kFunction;
using testing::kGenerator;
using testing::outline;
using testing::Pipeline;
using testing::RecordStream;
using testing::with_main;
using Lines = std::vector<std::string>;

// A program in /p calling into a library in /lib, which calls back into /p.
struct Program {
  RecordStream s;
  uint64_t module = s.code("/p/main.py", "<module>", 1, kClassBody);
  uint64_t main = s.code("/p/main.py", "main", 3);
  uint64_t helper = s.code("/p/main.py", "helper", 8);
  uint64_t repr = s.code("/p/main.py", "__repr__", 12, kFunction, "C.__repr__");
  uint64_t dumps = s.code("/lib/json.py", "dumps", 20);
  uint64_t encode = s.code("/lib/json.py", "encode", 30);
  uint64_t callback = s.code("/p/main.py", "default", 15);

  // main -> helper, main -> dumps -> encode -> default (callback), main -> __repr__ -> dumps
  RecordStream& build() {
    s.enter(module, 0).enter(main, 3).enter(helper, 8).leave();
    s.enter(dumps, 20).enter(encode, 30).enter(callback, 15).leave().leave().leave();
    s.enter(repr, 12).enter(dumps, 20).leave().leave();
    return s.leave().leave();
  }
};

TEST(CallFilter, ExternalCallsAreLoggedOnceAndCallbacksAreSiblings) {
  Program p;
  auto model = Pipeline("/p", with_main()).run(p.build());
  ASSERT_EQ(model->threads.size(), 1u);
  const auto& entries = model->threads[0].entries;
  // __repr__ is transparent, yet the call it makes out of scope is logged.
  EXPECT_EQ(outline(model->threads[0]),
            (Lines{"<module>", "  main", "    helper", "    dumps [ext]", "    default", "    dumps [ext]"}));
  EXPECT_EQ(entries[3].call_type, CallType::kExternalCall);
  EXPECT_EQ(entries[4].parent, 1);      // the callback's parent is main, its nearest logged in-scope ancestor
  EXPECT_EQ(caller_of(entries, 4), 3);  // its caller is the library call it came through
  EXPECT_EQ(caller_of(entries, 3), 1);
  EXPECT_EQ(caller_of(entries, 0), -1);
  EXPECT_EQ(entries[4].parent_site->code->name, "encode");  // called from the library
  EXPECT_EQ(entries[0].call_type, CallType::kModuleExecution);
  EXPECT_EQ(entries[0].parent, -1);
}

TEST(CallFilter, NoExternalCallsPointsParentsAtTheInScopeAncestor) {
  Program p;
  FilterOptions options = with_main();
  options.external_calls = false;
  auto model = Pipeline("/p", options).run(p.build());
  const auto& entries = model->threads[0].entries;
  EXPECT_EQ(outline(model->threads[0]), (Lines{"<module>", "  main", "    helper", "    default"}));
  // The callback's parent location is main's call into the library.
  EXPECT_EQ(entries[3].parent_site->code->name, "main");
}

TEST(CallFilter, ShowDundersLogsTransparentFrames) {
  Program p;
  FilterOptions options = with_main();
  options.show_dunders = true;
  auto model = Pipeline("/p", options).run(p.build());
  EXPECT_EQ(outline(model->threads[0]), (Lines{"<module>", "  main", "    helper", "    dumps [ext]",
                                               "    default", "    __repr__", "      dumps [ext]"}));
  EXPECT_EQ(model->threads[0].entries[5].call_type, CallType::kSpecialMethod);
}

TEST(CallFilter, ImportsAreMarkedAndNoImportsDropsThem) {
  RecordStream s;
  auto module = s.code("/p/main.py", "<module>", 1, kClassBody);
  auto find = s.code("<frozen importlib._bootstrap>", "_find_and_load", 1302);
  auto call = s.code("<frozen importlib._bootstrap>", "_call_with_frames_removed", 480);
  auto helpers = s.code("/p/helpers.py", "<module>", 1, kClassBody);
  auto klass = s.code("/p/helpers.py", "Shape", 4, kClassBody);
  auto main = s.code("/p/main.py", "main", 3);
  s.enter(module, 0).import("helpers", false).enter(find, 1302).enter(call, 480).enter(helpers, 0);
  s.enter(klass, 4).leave().leave().leave().leave().import("helpers", true).enter(main, 3).leave().leave();

  auto model = Pipeline("/p", with_main()).run(s);
  const auto& entries = model->threads[0].entries;
  EXPECT_EQ(outline(model->threads[0]),
            (Lines{"<module>", "  _find_and_load [ext]", "  <module>", "    Shape", "  main"}));
  EXPECT_EQ(entries[1].call_type, CallType::kImport);
  EXPECT_EQ(entries[2].call_type, CallType::kImport);
  EXPECT_EQ(entries[3].call_type, CallType::kClassDeclaration);
  ASSERT_GE(entries[3].importing, 0);
  EXPECT_EQ(model->modules[entries[3].importing], "helpers");
  EXPECT_EQ(entries[4].importing, -1);

  FilterOptions no_imports = with_main();
  no_imports.imports = false;
  auto dropped = Pipeline("/p", no_imports).run(s);
  // Module bodies still run their class bodies, one level shallower.
  EXPECT_EQ(outline(dropped->threads[0]), (Lines{"<module>", "  Shape", "  main"}));
}

TEST(CallFilter, DepthAndCountsArePerThreadAndPerFunction) {
  RecordStream s;
  auto worker = s.code("/p/w.py", "worker", 1);
  auto work = s.code("/p/w.py", "work", 5);
  s.on_thread(1).enter(worker, 1);
  s.on_thread(2).enter(worker, 1);
  s.on_thread(1).enter(work, 5).leave();
  s.on_thread(2).enter(work, 5).leave().leave();
  s.on_thread(1).leave();
  auto model = Pipeline("/p").run(s);
  ASSERT_EQ(model->threads.size(), 2u);
  for (const auto& thread : model->threads) EXPECT_EQ(outline(thread), (Lines{"worker", "  work"}));
  EXPECT_EQ(model->threads[0].entries[1].number_of_calls, 1u);
  EXPECT_EQ(model->threads[1].entries[1].number_of_calls, 2u);  // counted across threads, as the seed
  EXPECT_EQ(model->threads[0].entries[0].number_of_calls, 1u);
}

TEST(CallFilter, TimesAreRelativeAndUnreturnedCallsHaveNoDuration) {
  RecordStream s;
  auto f = s.code("/p/a.py", "f", 1);
  auto g = s.code("/p/a.py", "g", 4);
  s.enter(f, 1).enter(g, 4).leave();
  auto model = Pipeline("/p").run(s);
  const auto& entries = model->threads[0].entries;
  EXPECT_EQ(entries[0].start_ns, 30u);  // three records of 10 ns after the origin
  EXPECT_FALSE(entries[0].duration_ns);
  EXPECT_EQ(entries[1].start_ns, 40u);
  EXPECT_EQ(entries[1].duration_ns, 10u);
  EXPECT_EQ(model->stack_stats.open_at_end, 1u);
}

TEST(CallFilter, NothingInScopeMeansNoThreads) {
  RecordStream s;
  auto lib = s.code("/lib/x.py", "x", 1);
  s.enter(lib, 1).leave();
  EXPECT_TRUE(Pipeline("/p").run(s)->threads.empty());
}

}  // namespace
}  // namespace pytrace
