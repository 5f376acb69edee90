// SPDX-License-Identifier: MIT
// The tests of a pytest run, as trace_pytest's plugin reports them, and
// grouping each test's calls into a subtree of its own.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "core/trace_model.h"

namespace pytrace {

struct TestRun {
  std::string nodeid;
  std::string file;  // absolute
  int line = 0;      // the test function's line, 0 if unknown
  uint32_t tid = 0;
  uint64_t start_ns = 0;  // CLOCK_MONOTONIC
  uint64_t end_ns = 0;
  std::string outcome = "passed";  // "failed" if a phase failed, else "skipped" if one was skipped
};

// Parses the plugin's JSON lines; `malformed` counts the lines skipped.
std::vector<TestRun> parse_test_events(std::istream& in, size_t& malformed);

// Puts the calls each test's run made on its thread (those that started
// between the run's start and end) under a new entry for the test, one
// level deeper. Tests without calls get an entry too. `origin_ns` is the
// time the entries' start_ns count from.
void group_calls_by_test(TraceModel& model, const std::vector<TestRun>& runs, uint64_t origin_ns);

}  // namespace pytrace
