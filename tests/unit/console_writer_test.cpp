// SPDX-License-Identifier: MIT
#include "core/console_writer.h"

#include <gtest/gtest.h>

#include <sstream>

#include "pipeline.h"

namespace pytrace {
namespace {

using testing::kClassBody;
using testing::Pipeline;
using testing::RecordStream;

std::string render(Pipeline& pipeline, const TraceModel& model) {
  std::ostringstream out;
  write_console_tree(model, pipeline.scope, out);
  return out.str();
}

TEST(ConsoleWriter, DrawsTheTreeWithGuides) {
  RecordStream s;
  auto main = s.code("/p/a.py", "main", 1);
  auto a = s.code("/p/a.py", "a", 5);
  auto b = s.code("/p/a.py", "b", 9);
  auto lib = s.code("/lib/x.py", "x", 2);
  s.enter(main, 1).enter(a, 5).enter(b, 9).leave().enter(lib, 2).leave().leave().enter(b, 9).leave().leave();
  Pipeline pipeline;
  auto model = pipeline.run(s);
  EXPECT_EQ(render(pipeline, *model),
            "main  a.py:1  (90 ns)\n"
            "├── a  a.py:5  (50 ns)\n"
            "│   ├── b  a.py:9  (10 ns)\n"
            "│   └── x  /lib/x.py:2  (10 ns)  [external_call]\n"
            "└── b  a.py:9  (10 ns)\n");
}

TEST(ConsoleWriter, SaysWhenACallDidNotReturnAndHeadsThreads) {
  RecordStream s(7);
  auto f = s.code("/p/a.py", "f", 1);
  s.on_thread(7).enter(f, 1);
  s.on_thread(8).enter(f, 1).leave();
  Pipeline pipeline;
  auto model = pipeline.run(s);
  EXPECT_EQ(render(pipeline, *model),
            "── thread 7 (main) ──\n"
            "f  a.py:1  (did not return)\n"
            "\n── thread 8 ──\n"
            "f  a.py:1  (10 ns)\n");
}

// The seed's README example: 6x [attention, get, 2x [forward, layer_name]].
TEST(ConsoleWriter, PatternGroupsAsTheSeedDrewThem) {
  RecordStream s;
  auto train = s.code("/p/a.py", "train", 1);
  auto sdpa = s.code("/p/a.py", "scaled_dot_product_attention", 10);
  auto get = s.code("/p/a.py", "get", 20);
  auto forward = s.code("/p/a.py", "forward", 30);
  auto layer_name = s.code("/p/a.py", "layer_name", 40);
  auto leaf = s.code("/p/a.py", "leaf", 50);
  s.enter(train, 1);
  for (int step = 0; step < 6; ++step) {
    s.enter(sdpa, 10).leave().enter(get, 20).leave();
    for (int layer = 0; layer < 2; ++layer) s.enter(forward, 30).leave().enter(layer_name, 40).leave();
  }
  for (int i = 0; i < 3; ++i) s.enter(leaf, 50).leave();
  s.leave();
  Pipeline pipeline;
  auto model = pipeline.run(s);
  model->find_patterns(PatternOptions{});
  std::ostringstream out;
  write_console_tree(*model, pipeline.scope, out);
  EXPECT_EQ(out.str(),
            "train  a.py:1  (790 ns)\n"
            "├── 🔄 Repeating Pattern: 6x repetitions of 6 calls (calls #1-#36, total: 36 calls)\n"
            "│   📋 Pattern template (repeated 6 times):\n"
            "│   ├── scaled_dot_product_attention  a.py:10  (10 ns)\n"
            "│   ├── get  a.py:20  (10 ns)\n"
            "│   └── 🔄 Nested Pattern: 2x repetitions of 2 calls\n"
            "│       ├── forward  a.py:30  (10 ns)\n"
            "│       └── layer_name  a.py:40  (10 ns)\n"
            "└── leaf  a.py:50  (10 ns)  × 3 (calls #37-#39)\n");
}

TEST(ConsoleWriter, EmptyTraceSaysSo) {
  Pipeline pipeline;
  auto model = pipeline.run(RecordStream{});
  EXPECT_EQ(render(pipeline, *model), "(no calls in scope /p)\n");
}

TEST(ConsoleWriter, ACallbackNestsInsideTheLibraryCallItCameThrough) {
  RecordStream s;
  auto main = s.code("/p/a.py", "main", 1);
  auto run = s.code("/lib/asyncio.py", "run", 10);
  auto step = s.code("/p/a.py", "step", 5);
  s.enter(main, 1).enter(run, 10).enter(step, 5).leave().enter(step, 5).leave().leave().leave();
  Pipeline pipeline;
  auto model = pipeline.run(s);
  // Time and tree agree: the steps ran inside run(). (In the JSON their
  // depth is the seed's, counting in-scope calls: run's, with caller_id.)
  EXPECT_EQ(render(pipeline, *model),
            "main  a.py:1  (70 ns)\n"
            "└── run  /lib/asyncio.py:10  (50 ns)  [external_call]\n"
            "    ├── step  a.py:5  (10 ns)\n"
            "    └── step  a.py:5  (10 ns)\n");
}

TEST(ConsoleWriter, ImportsNameTheirModule) {
  RecordStream s;
  auto module = s.code("/p/main.py", "<module>", 1, kClassBody);
  auto find = s.code("<frozen importlib._bootstrap>", "_find_and_load", 1302);
  auto helpers = s.code("/p/helpers.py", "<module>", 1, kClassBody);
  s.enter(module, 0).import("helpers", false).enter(find, 1302).enter(helpers, 0).leave().leave();
  s.import("helpers", true).leave();
  Pipeline pipeline("/p", testing::with_main());
  auto model = pipeline.run(s);
  EXPECT_EQ(render(pipeline, *model),
            "<module>  main.py  (70 ns)  [module_execution]\n"
            "└── _find_and_load  <frozen importlib._bootstrap>:1302  (30 ns)  [import helpers]\n"
            "    └── <module>  helpers.py  (10 ns)  [import helpers]\n");
}

// Imports of two modules are not "the same call twice", and a frame of the
// import machinery other than _find_and_load runs within some import, not
// necessarily of the module `importing` names: it is not labelled with it.
TEST(ConsoleWriter, ImportsOfDifferentModulesAreNotFolded) {
  RecordStream s;
  auto module = s.code("/p/main.py", "<module>", 1, kClassBody);
  auto find = s.code("<frozen importlib._bootstrap>", "_find_and_load", 1302);
  auto callback = s.code("<frozen importlib._bootstrap>", "cb", 448);
  s.enter(module, 0);
  for (const char* name : {"attr", "idna"}) {
    s.import(name, false).enter(find, 1302).leave().enter(callback, 448).leave().import(name, true);
  }
  s.leave();
  Pipeline pipeline("/p", testing::with_main());
  auto model = pipeline.run(s);
  model->find_patterns(PatternOptions{});
  std::string tree = render(pipeline, *model);
  EXPECT_EQ(tree.find("Repeating Pattern"), std::string::npos) << tree;
  EXPECT_NE(tree.find("_find_and_load  <frozen importlib._bootstrap>:1302  (10 ns)  [import attr]"),
            std::string::npos)
      << tree;
  EXPECT_NE(tree.find("[import idna]"), std::string::npos) << tree;
  EXPECT_NE(tree.find("cb  <frozen importlib._bootstrap>:448  (10 ns)  [import]\n"), std::string::npos)
      << tree;
}

TEST(ConsoleWriter, NamesCannotDriveTheTerminal) {
  RecordStream s;
  // A function named with a screen-clearing escape sequence and a newline,
  // in a file whose name is not UTF-8.
  auto evil = s.code("/p/bad\xff.py", "f\x1b[2J\nfake line", 1);
  s.enter(evil, 1).leave();
  Pipeline pipeline;
  auto model = pipeline.run(s);
  EXPECT_EQ(render(pipeline, *model), "f\\x1b[2J\\x0afake line  bad\\xff.py:1  (10 ns)\n");
}

TEST(ConsoleWriter, PrintableKeepsTextAndEscapesControls) {
  EXPECT_EQ(printable("plain ascii"), "plain ascii");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x94\x84"),
            "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x94\x84");
  EXPECT_EQ(printable("tab\there\x7f"), "tab\\x09here\\x7f");
  EXPECT_EQ(printable("\xc2\x9b"
                      "31m"),
            "\\xc2\\x9b"
            "31m");                                         // C1 CSI, as UTF-8
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");           // an overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(printable("cut \xe2\x86"), "cut \\xe2\\x86");   // cut short
}

TEST(ConsoleWriter, Durations) {
  EXPECT_EQ(format_duration(999), "999 ns");
  EXPECT_EQ(format_duration(1500), "1.5 us");
  EXPECT_EQ(format_duration(2500000), "2.5 ms");
  EXPECT_EQ(format_duration(3210000000ULL), "3.21 s");
}

}  // namespace
}  // namespace pytrace
