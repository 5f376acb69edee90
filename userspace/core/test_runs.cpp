// SPDX-License-Identifier: MIT
#include "core/test_runs.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>
#include <type_traits>
#include <unordered_map>

#include "core/json_text.h"

namespace pytrace {

namespace {

// A field of an event, when it is there and of the type asked for: the
// events come from inside the traced program, which can write anything.
template <typename T>
T field_or(const nlohmann::json& event, const char* key, T fallback) {
  auto it = event.find(key);
  if (it == event.end()) return fallback;
  if constexpr (std::is_same_v<T, std::string>) {
    return it->is_string() ? it->template get<std::string>() : fallback;
  } else {
    if (!it->is_number_integer()) return fallback;
    int64_t value = it->template get<int64_t>();
    if (value < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
        static_cast<uint64_t>(value) > static_cast<uint64_t>(std::numeric_limits<T>::max()))
      return fallback;
    return static_cast<T>(value);
  }
}

constexpr size_t kMaxEventBytes = 64 << 10;
constexpr size_t kMaxEventDepth = 8;

}  // namespace

std::vector<TestRun> parse_test_events(std::istream& in, size_t& malformed) {
  std::vector<TestRun> runs;
  std::map<std::string, size_t> open;  // nodeid -> index of its run in progress
  malformed = 0;
  for (std::string line; std::getline(in, line);) {
    // The plugin writes a few hundred bytes a line, four levels deep at most.
    if (line.size() > kMaxEventBytes || json_depth(line) > kMaxEventDepth) {
      ++malformed;
      continue;
    }
    nlohmann::json event = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!event.is_object() || !event.contains("nodeid") || !event["nodeid"].is_string() ||
        !event.contains("event") || !event["event"].is_string() || !event.contains("ns") ||
        !event["ns"].is_number_unsigned()) {
      ++malformed;
      continue;
    }
    std::string kind = event["event"];
    std::string nodeid = event["nodeid"];
    uint64_t ns = event["ns"];
    if (kind == "start") {
      TestRun run;
      run.nodeid = nodeid;
      run.file = field_or<std::string>(event, "file", "");
      run.line = field_or<int>(event, "line", 0);
      run.tid = field_or<uint32_t>(event, "tid", 0);
      run.start_ns = run.end_ns = ns;
      open[nodeid] = runs.size();
      runs.push_back(run);
      continue;
    }
    auto it = open.find(nodeid);
    if (it == open.end()) {
      ++malformed;
      continue;
    }
    TestRun& run = runs[it->second];
    if (kind == "end") {
      if (ns < run.start_ns) {  // an end before its start is not one
        ++malformed;
        continue;
      }
      run.end_ns = ns;
      open.erase(it);
    } else if (kind == "report") {
      std::string outcome = field_or<std::string>(event, "outcome", "");
      if (outcome == "failed" || (outcome == "skipped" && run.outcome == "passed")) run.outcome = outcome;
    }
  }
  // A run that never ended (pytest was killed) lasts to the end of the trace.
  for (auto& [nodeid, index] : open) runs[index].end_ns = UINT64_MAX;
  return runs;
}

namespace {

TraceEntry test_entry(int test, const TestRun& run, uint64_t origin_ns) {
  TraceEntry entry;
  entry.test = test;
  entry.start_ns = run.start_ns > origin_ns ? run.start_ns - origin_ns : 0;
  if (run.end_ns != UINT64_MAX) entry.duration_ns = run.end_ns - run.start_ns;
  return entry;
}

// Rebuilds one thread's entries with each run's calls under its test entry.
void group_thread(ThreadTrace& thread, std::vector<std::pair<const TestRun*, int>> runs, uint64_t origin_ns) {
  std::sort(runs.begin(), runs.end(), [](auto& a, auto& b) { return a.first->start_ns < b.first->start_ns; });
  EntryStore grouped;
  std::vector<int64_t> new_index(thread.entries.size());
  size_t next_run = 0;
  int64_t open_test = -1;  // index in `grouped` of the test whose run is going on
  uint64_t open_end = 0;
  int64_t group = -1;  // the test the current top-level call belongs to
  auto add_test = [&](size_t r) {
    const TestRun& run = *runs[r].first;
    open_test = static_cast<int64_t>(grouped.size());
    open_end = run.end_ns;
    grouped.push_back(test_entry(runs[r].second, run, origin_ns));
  };

  for (size_t i = 0; i < thread.entries.size(); ++i) {
    TraceEntry entry = thread.entries[i];
    if (entry.parent < 0) {
      uint64_t start = entry.start_ns + origin_ns;
      while (next_run < runs.size() && runs[next_run].first->start_ns <= start) add_test(next_run++);
      if (open_test >= 0 && start >= open_end) open_test = -1;
      group = open_test;
    }
    if (group >= 0) ++entry.depth;
    entry.parent = entry.parent >= 0 ? new_index[entry.parent] : group;
    int64_t caller = caller_of(thread.entries, i);
    caller = caller >= 0 ? new_index[caller] : group;
    entry.caller_back = caller >= 0 ? static_cast<uint32_t>(grouped.size() - caller) : 0;
    new_index[i] = static_cast<int64_t>(grouped.size());
    grouped.push_back(entry);
    SpillFile::trim_now_and_then(i);
  }
  // A line stays just after the call it came after, ahead of a test that
  // starts there: it ran in an in-scope frame, logged when it started.
  for (ExecutedLine& line : thread.executed_lines) {
    line.before = line.before ? static_cast<uint32_t>(new_index[line.before - 1] + 1) : 0;
    if (line.call >= 0) line.call = new_index[line.call];
  }
  while (next_run < runs.size()) add_test(next_run++);
  thread.entries = std::move(grouped);
}

}  // namespace

void group_calls_by_test(TraceModel& model, const std::vector<TestRun>& runs, uint64_t origin_ns) {
  std::map<uint32_t, std::vector<std::pair<const TestRun*, int>>> by_thread;
  for (const TestRun& run : runs) {
    int index = static_cast<int>(model.tests.size());
    model.tests.push_back(TestInfo{run.nodeid, run.file, run.line, run.outcome});
    by_thread[run.tid].emplace_back(&run, index);
  }
  std::unordered_map<uint32_t, size_t> thread_of;  // tid -> index in model.threads
  for (size_t i = 0; i < model.threads.size(); ++i) thread_of.emplace(model.threads[i].tid, i);
  for (auto& [tid, thread_runs] : by_thread) {
    auto [it, added] = thread_of.emplace(tid, model.threads.size());
    if (added) {  // a test that made no logged call on a thread that made none either
      uint32_t pid = model.threads.empty() ? model.session.pid : model.threads.front().pid;
      ThreadTrace& trace = model.threads.emplace_back();
      trace.pid = pid;
      trace.tid = tid;
    }
    group_thread(model.threads[it->second], thread_runs, origin_ns);
  }
}

}  // namespace pytrace
