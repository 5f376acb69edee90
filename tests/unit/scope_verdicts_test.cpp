// SPDX-License-Identifier: MIT
// Filtering in the kernel: the calls left out cannot change the trace.
#include "core/scope_verdicts.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/json_writer.h"
#include "pipeline.h"

namespace pytrace {
namespace {

using testing::kClassBody;
using testing::kFunction;
using testing::kGenerator;
using testing::Pipeline;
using testing::RecordStream;
using testing::with_main;

CodeInfo code_in(const std::string& file, CodeFlags flags = kFunction) {
  CodeInfo code;
  code.filename = file;
  code.flags = flags;
  return code;
}

TEST(ScopeVerdicts, SendsTheScopeAndWhatTheToolReads) {
  Scope scope("/p", {"/usr/lib/python3.15"});
  ScopeVerdicts verdicts(scope, "/tmp/pytrace-lines-1-x/lines.py");
  EXPECT_EQ(verdicts.verdict(code_in("/p/main.py")), ScopeVerdict::kSend);
  EXPECT_EQ(verdicts.verdict(code_in("/usr/lib/python3.15/json/encoder.py")), ScopeVerdict::kOut);
  EXPECT_EQ(verdicts.verdict(code_in("/p/.venv/lib/site-packages/lib.py")), ScopeVerdict::kOut);
  EXPECT_EQ(verdicts.verdict(code_in("<frozen importlib._bootstrap>")), ScopeVerdict::kOut);
  // Thread names are read from threading's calls; the line script's calls are the lines.
  EXPECT_EQ(verdicts.verdict(code_in("/usr/lib/python3.15/threading.py")), ScopeVerdict::kSend);
  EXPECT_EQ(verdicts.verdict(code_in("/tmp/pytrace-lines-1-x/lines.py")), ScopeVerdict::kSend);
}

TEST(ScopeVerdicts, LeavesOutCallsOutOfTheScopeFromOutOfIt) {
  CodeInfo in = code_in("/p/a.py"), out = code_in("/lib/b.py"), gen = code_in("/lib/b.py", kGenerator);
  in.scope = ScopeVerdict::kSend;
  out.scope = gen.scope = ScopeVerdict::kOut;
  EXPECT_TRUE(left_out(out, &out));
  EXPECT_FALSE(left_out(out, &in));      // an external call
  EXPECT_FALSE(left_out(in, &out));      // a callback into the scope
  EXPECT_FALSE(left_out(out, nullptr));  // no Python caller: a process's main module
  EXPECT_FALSE(left_out(gen, &out));     // generators' runs are always kept
  CodeInfo unjudged = code_in("/lib/b.py");
  EXPECT_FALSE(left_out(unjudged, &unjudged));  // no filtering
}

// A program in /p and a library in /lib that calls itself, calls back into
// /p, and runs generators of both; a second thread already running in the
// library when first seen (attaching).
RecordStream boundary_program() {
  RecordStream s;
  uint64_t module = s.code("/p/main.py", "<module>", 1, kClassBody);
  uint64_t main = s.code("/p/main.py", "main", 3);
  uint64_t callback = s.code("/p/main.py", "callback", 10);
  uint64_t eq = s.code("/p/main.py", "__eq__", 14, kFunction, "Key.__eq__");
  uint64_t numbers = s.code("/p/main.py", "numbers", 18, kGenerator);
  uint64_t apply = s.code("/lib/lib.py", "apply", 1);
  uint64_t step = s.code("/lib/lib.py", "step", 5);
  uint64_t deep = s.code("/lib/lib.py", "deep", 9);
  uint64_t pairs = s.code("/lib/lib.py", "pairs", 13, kGenerator);
  uint64_t run = s.code("/usr/lib/python3.15/threading.py", "run", 990, kFunction, "Thread.run");

  s.enter(module, 0).enter(main, 3);
  // main -> apply -> step -> deep -> callback -> __eq__, and deep -> step again
  s.enter(apply, 1).enter(step, 5).enter(deep, 9).enter(callback, 10).enter(eq, 14).leave().leave();
  s.enter(step, 5).leave().leave().leave().leave();
  // a library generator, resumed from the scope and from the library
  s.enter(pairs, 13, FrameNote::kGeneratorCreation);
  s.resume(pairs, 0x900000, 13).enter(step, 5).enter(callback, 10).leave().leave().leave(14);
  s.enter(apply, 1).resume(pairs, 0x900000, 14).enter(callback, 10).leave().leave(15).leave();
  // a generator of the scope driven by the library
  s.enter(apply, 1).enter(step, 5).resume(numbers, 0x910000, 18).enter(deep, 9).leave().leave(19);
  s.leave().leave();

  // a library generator resumed by throw() from the scope (no entry probe):
  // it is restored from its first call, which goes through the library
  uint64_t guarded = s.code("/lib/lib.py", "guarded", 20, kGenerator);
  s.enter(guarded, 20, FrameNote::kGeneratorCreation);
  s.resume(guarded, 0x920000, 20).leave(21);
  s.run_without_entry(guarded, 0x920000).enter(step, 5).enter(callback, 10).leave().leave().leave(22);
  s.leave().leave();

  s.on_thread(101).running({run, step, deep}).enter(callback, 10).leave();
  s.leave().enter(deep, 9).leave().leave().leave();
  return s;
}

// What the BPF programs send once they know every verdict: the calls
// left_out() names are not there, and the others are numbered without gaps.
RecordStream as_the_kernel_sends(const RecordStream& full, const Scope& scope) {
  ScopeVerdicts verdicts(scope, "");
  std::map<uint64_t, CodeInfo> codes;
  std::map<uint32_t, uint64_t> seq;
  RecordStream sent;
  for (Record record : full.records) {
    if (auto* code = std::get_if<CodeRecord>(&record)) {
      CodeInfo info = code_in(code->filename, code->flags);
      info.scope = verdicts.verdict(info);
      codes[code->code] = info;
    }
    if (auto* frame = std::get_if<FrameRecord>(&record)) {
      auto caller = codes.find(frame->caller_code);
      if (frame->note == FrameNote::kNone &&
          left_out(codes.at(frame->code), caller == codes.end() ? nullptr : &caller->second))
        continue;
    }
    std::visit([&](auto& r) { r.header.seq = ++seq[r.header.tid]; }, record);
    sent.records.push_back(std::move(record));
  }
  return sent;
}

nlohmann::json trace_data(const RecordStream& stream, FilterOptions options, bool filter,
                          uint64_t* left_out_count = nullptr) {
  Pipeline pipeline("/p", with_main(options));
  if (filter) pipeline.builder->filter_by_scope(nullptr);
  auto model = pipeline.run(stream);
  if (left_out_count) *left_out_count = model->stack_stats.left_out;
  EXPECT_EQ(model->stack_stats.lost_records, 0u);
  EXPECT_EQ(model->stack_stats.unmatched_returns, 0u);
  EXPECT_EQ(model->stack_stats.closed_without_return, 0u);
  std::ostringstream out;
  write_json(*model, pipeline.scope, pipeline.sources, out);
  return nlohmann::json::parse(out.str())["trace_data"];
}

TEST(ScopeVerdicts, TheCallsLeftOutDoNotChangeTheTraceWithAnyFilterOption) {
  RecordStream full = boundary_program();
  RecordStream sent = as_the_kernel_sends(full, Scope("/p"));
  ASSERT_LT(sent.records.size() + 8, full.records.size());  // something was left out
  std::vector<FilterOptions> variants(4);
  variants[1].external_calls = false;
  variants[2].imports = false;
  variants[3].show_dunders = true;
  for (const FilterOptions& options : variants) {
    nlohmann::json unfiltered = trace_data(full, options, false);
    uint64_t dropped = 0;
    // Sent before the verdicts were known: the reader drops them.
    EXPECT_EQ(trace_data(full, options, true, &dropped), unfiltered);
    EXPECT_EQ(dropped, full.records.size() - sent.records.size());
    // Left out by the kernel.
    EXPECT_EQ(trace_data(sent, options, true, &dropped), unfiltered);
    EXPECT_EQ(dropped, 0u);
    EXPECT_GE(unfiltered.size(), 7u);
  }
}

}  // namespace
}  // namespace pytrace
