// SPDX-License-Identifier: MIT
#include "core/json_writer.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <span>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "core/call_text.h"
#include "core/classify.h"
#include "core/json_text.h"
#include "core/spill.h"
#include "version.h"

namespace pytrace {
namespace {

using Json = nlohmann::ordered_json;
using namespace std::literals;

// Probe strings can be cut inside a UTF-8 sequence: replace, never throw.
// Appends a number without a temporary string.
template <typename T>
void append_number(std::string& out, T value) {
  char text[24];
  auto end = std::to_chars(text, text + sizeof text, value).ptr;
  out.append(text, end);
}

std::string dump(const Json& value, int indent = -1) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

constexpr int kJoinedLinesMax = 100;  // call_source_text stops sooner

// Consecutive executed lines of a thread that make one executed_line entry:
// the same file, function and context, with no call in between (the seed's
// grouping), and the same call running them (a return from a recursive
// call ends a group that the seed went on with).
struct LineGroup {
  uint32_t first = 0;  // index in ThreadTrace::executed_lines
  uint32_t end = 0;
  uint32_t before = 0;  // the entry it comes before
  std::string_view context;
};

std::vector<LineGroup> group_lines(const ThreadTrace& thread, SourceCache& sources) {
  std::vector<LineGroup> groups;
  std::map<std::pair<const CodeInfo*, int>, std::string_view> contexts;  // each line's once
  for (uint32_t i = 0; i < thread.executed_lines.size(); ++i) {
    const ExecutedLine& line = thread.executed_lines[i];
    auto [known, inserted] = contexts.try_emplace({line.code, line.line});
    if (inserted)
      known->second = line_context(*line.code, sources.line(line.code->filename, line.line).value_or(""));
    std::string_view context = known->second;
    if (!groups.empty()) {
      LineGroup& open = groups.back();
      const ExecutedLine& head = thread.executed_lines[open.first];
      if (open.before == line.before && open.context == context && head.call == line.call &&
          head.code->filename == line.code->filename && head.code->name == line.code->name) {
        open.end = i + 1;
        continue;
      }
    }
    groups.push_back({i, i + 1, line.before, context});
  }
  return groups;
}

// Entry ids are positions in trace_data: a thread's calls, after those of
// the threads before it, with its executed_line entries among them.
class EntryIds {
 public:
  EntryIds(const TraceModel& model, const std::vector<std::vector<LineGroup>>& groups) {
    size_t next = 0;
    for (size_t t = 0; t < model.threads.size(); ++t) {
      first_.push_back(next);
      auto& before = group_before_.emplace_back();
      for (const LineGroup& g : groups[t]) before.push_back(g.before);
      next += model.threads[t].entries.size() + before.size();
      line_entries_ += before.size();
    }
    total_ = next;
  }

  size_t total() const { return total_; }                // the length of trace_data
  size_t line_entries() const { return line_entries_; }  // executed_line entries among them

  size_t of(size_t thread, size_t entry) const {
    const auto& before = group_before_[thread];
    return first_[thread] + entry +
           static_cast<size_t>(std::upper_bound(before.begin(), before.end(), entry) - before.begin());
  }

 private:
  std::vector<size_t> first_;
  std::vector<std::vector<uint32_t>> group_before_;
  size_t total_ = 0;
  size_t line_entries_ = 0;
};

// Calls covered by groups, and the largest outermost groups.
Json pattern_stats(const TraceModel& model, const EntryIds& ids) {
  struct Largest {
    uint64_t total;
    size_t first_id;
    const PatternGroup* group;
  };
  std::vector<Largest> outermost;
  size_t groups = 0;
  uint64_t covered = 0;
  for (size_t t = 0; t < model.threads.size(); ++t) {
    const ThreadTrace& thread = model.threads[t];
    groups += thread.patterns.size();
    covered += calls_in_groups(thread.patterns);
    for (const auto& g : thread.patterns) {
      if (g.outer < 0) outermost.push_back({g.total_calls, ids.of(t, g.first), &g});
    }
  }
  std::stable_sort(outermost.begin(), outermost.end(), [](auto& a, auto& b) { return a.total > b.total; });
  Json largest = Json::array();
  for (size_t i = 0; i < outermost.size() && i < 5; ++i) {
    largest.push_back({{"first_id", outermost[i].first_id},
                       {"period", outermost[i].group->period},
                       {"repetitions", outermost[i].group->repetitions},
                       {"total_calls", outermost[i].total}});
  }
  return {{"groups", groups}, {"calls_in_groups", covered}, {"largest", largest}};
}

Json metadata_json(const TraceModel& model, const EntryIds& ids) {
  const SessionInfo& s = model.session;
  Json meta;
  // The seed's keys, in the seed's order.
  meta["original_command"] = s.original_command;
  meta["scope_path"] = s.scope_path;
  meta["timestamp"] = s.end_time;
  if (!s.main_file.empty()) meta["main_file"] = s.main_file;
  meta["total_frames"] = ids.total();
  // Additive keys.
  meta["schema_version"] = kSchemaVersion;
  meta["tool"] = {{"name", "pytrace"}, {"version", PYTRACE_VERSION}};
  meta["scope_paths"] = s.scope_paths.empty() ? Json::array({s.scope_path}) : Json(s.scope_paths);
  meta["python"] = {{"executable", s.python_executable}, {"version", s.python_version}};
  meta["pid"] = s.pid;
  meta["start_time"] = s.start_time;
  meta["duration_ns"] = s.duration_ns;
  meta["exit_code"] = s.exit_code ? Json(*s.exit_code) : Json(nullptr);
  meta["signal"] = s.signal.empty() ? Json(nullptr) : Json(s.signal);
  meta["interrupted"] = s.interrupted;
  meta["attached"] = s.attached;
  if (s.attached) meta["end_reason"] = s.end_reason;
  meta["options"] = {{"external_calls", s.external_calls},
                     {"imports", s.imports},
                     {"show_dunders", s.show_dunders},
                     {"arg_values", s.arg_values},
                     {"track_executed_lines", s.executed_lines}};
  Json threads = Json::array();
  for (const auto& thread : model.threads) {
    threads.push_back({{"thread_id", thread.tid},
                       {"pid", thread.pid},
                       {"name", thread.name.empty() ? Json(nullptr) : Json(thread.name)},
                       {"calls", thread.entries.size()}});
  }
  meta["threads"] = threads;
  Json processes = Json::array();
  for (const auto& process : model.processes) {
    processes.push_back({{"pid", process.pid},
                         {"parent_pid", process.parent_pid ? Json(process.parent_pid) : Json(nullptr)},
                         {"running_at_end", !process.ended}});
  }
  meta["processes"] = processes;
  const StackStats& st = model.stack_stats;
  const ProbeStats& ps = model.probe_stats;
  meta["loss"] = {{"ring_buffer_drops", ps.ringbuf_drops},
                  {"lost_records", st.lost_records},
                  {"malformed_records", model.malformed_records},
                  {"unknown_code", st.unknown_code},
                  {"unmatched_returns", st.unmatched_returns},
                  {"closed_without_return", st.closed_without_return},
                  {"open_at_end", st.open_at_end},
                  {"thread_state_misses", ps.tstate_misses},
                  {"frame_mismatches", ps.frame_mismatches},
                  {"scratch_busy", ps.scratch_busy},
                  {"untraced_processes", ps.untraced_processes}};
  meta["quirks"] = {{"generator_creations", st.generator_creations},
                    {"init_shim_returns", st.shim_returns},
                    {"restored_resumes", st.restored_resumes},
                    {"running_frames", st.running_frames},
                    {"truncated_stacks", st.truncated_stacks}};
  meta["records"] = st.records;
  // Calls out of the scope made by code out of the scope: never logged, not lost.
  meta["left_out"] = model.scope_filter ? Json{{"probe_hits_in_kernel", ps.hits_left_out},
                                               {"records_in_reader", st.left_out},
                                               {"verdicts_not_kept", ps.verdicts_not_kept}}
                                        : Json(nullptr);
  if (model.session.executed_lines) {
    meta["executed_lines_count"] = ids.line_entries();  // the seed counted entries, not lines
    meta["executed_lines_problem"] = model.session.executed_lines_problem.empty()
                                         ? Json(nullptr)
                                         : Json(model.session.executed_lines_problem);
  }
  meta["patterns"] = model.pattern_options ? pattern_stats(model, ids) : Json(nullptr);
  if (!model.tests.empty()) {
    // Each test with the id of its entry in trace_data.
    Json tests = Json::array();
    for (size_t t = 0; t < model.threads.size(); ++t) {
      const ThreadTrace& thread = model.threads[t];
      for (size_t i = 0; i < thread.entries.size(); ++i) {
        SpillFile::trim_now_and_then(i);
        if (thread.entries[i].test < 0) continue;
        const TestInfo& test = model.tests[thread.entries[i].test];
        tests.push_back({{"nodeid", test.nodeid}, {"outcome", test.outcome}, {"id", ids.of(t, i)}});
      }
    }
    meta["tests"] = tests;
  }
  return meta;
}

// Writes entries as JSON text; strings that repeat (paths, names, call
// sites) are rendered once.
class EntryWriter {
 public:
  EntryWriter(const TraceModel& model, const Scope& scope, SourceCache& sources)
      : model_(model), scope_(scope), sources_(sources) {}

  // Entry `i` of thread `t`.
  void write(std::string& out, size_t t, size_t i, const EntryIds& ids) {
    const ThreadTrace& thread = model_.threads[t];
    const TraceEntry& entry = thread.entries[i];
    const size_t id = ids.of(t, i);
    if (entry.test >= 0) return write_test(out, thread, entry, id);
    const CodeInfo& code = *entry.code;
    const CodeText& text = code_text(code);
    const bool is_module = code.name == "<module>";
    // The seed's keys, in the seed's order.
    out += R"({"event":"function_call","location":)"sv;
    out += text.location;  // an open JSON string: the line goes in it
    if (!is_module && entry.line > 0) {
      out += ':';
      append_number(out, entry.line);
    }
    out += '"';
    out += ",";
    if (entry.parent_site) {
      out += site_text(*entry.parent_site);
    } else {
      out += R"("parent_location":null,"parent_call":null)"sv;
    }
    std::string_view arguments = model_.argument_texts[entry.arguments];
    out += R"(,"name":)"sv;
    out += text.name;
    out += R"(,"arguments":)"sv;
    out += arguments;
    out += R"(,"depth":)"sv;
    append_number(out, entry.depth);
    out += entry.is_external ? R"(,"is_external":true)"sv : R"(,"is_external":false)"sv;
    out += R"(,"call_type":")"sv;
    out += call_type_name(entry.call_type);
    out += R"(","args":{},"kwargs":)"sv;
    out += arguments;  // the seed's copy of arguments
    if (entry.number_of_calls) {
      out += R"(,"number_of_calls":)"sv;
      append_number(out, entry.number_of_calls);
    }
    // Additive keys.
    out += R"(,"id":)"sv;
    append_number(out, id);
    append_id(out, R"(,"parent_id":)", ids, t, entry.parent);
    append_id(out, R"(,"caller_id":)", ids, t,
              entry.caller_back ? static_cast<int64_t>(i - entry.caller_back) : -1);
    append_thread(out, thread);
    out += R"(,"file":)"sv;
    out += text.file;
    out += R"(,"line":)"sv;
    append_number(out, entry.line);
    out += R"(,"qualname":)"sv;
    out += text.qualname;
    out += text.exact_bytes;
    append_timing(out, entry);
    out += R"(,"importing":)"sv;
    if (entry.importing >= 0) {
      append_json_string(out, model_.modules[entry.importing]);
    } else {
      out += "null"sv;
    }
    if (entry.started_before_trace) out += R"(,"started_before_trace":true)"sv;
    out += "}";
  }

  // The executed_line entries of these line groups of a thread.
  void write_lines(std::string& out, bool& first, size_t t, std::span<const LineGroup> groups,
                   const EntryIds& ids) {
    const ThreadTrace& thread = model_.threads[t];
    for (const LineGroup& group : groups) {
      const ExecutedLine& head = thread.executed_lines[group.first];
      out += first ? "\n    "sv : ",\n    "sv;
      first = false;
      out += R"({"event":"executed_line","file":)"sv;
      append_json_string(out, scope_.location(head.code->filename, 0, true));
      out += R"(,"function":)"sv;
      out += code_text(*head.code).name;
      out += R"(,"context":")"sv;
      out += group.context;
      out += R"(","lines":[)"sv;
      for (uint32_t i = group.first; i < group.end; ++i) {
        if (i > group.first) out += ',';
        append_number(out, thread.executed_lines[i].line);
      }
      out += R"(],"code":)"sv;
      out += line_code_text(head);
      append_id(out, R"(,"call_id":)", ids, t, head.call);
      append_thread(out, thread);
      out += "}"sv;
    }
  }

 private:
  // `key` and the id of entry `entry` of thread `t`, or null when it is negative.
  static void append_id(std::string& out, std::string_view key, const EntryIds& ids, size_t t,
                        int64_t entry) {
    out += key;
    if (entry >= 0) {
      append_number(out, ids.of(t, static_cast<size_t>(entry)));
    } else {
      out += "null"sv;
    }
  }

  static void append_thread(std::string& out, const ThreadTrace& thread) {
    out += R"(,"thread_id":)"sv;
    append_number(out, thread.tid);
    out += R"(,"pid":)"sv;
    append_number(out, thread.pid);
  }

  // ,"start_ns":...,"duration_ns":... (null if it never returned).
  static void append_timing(std::string& out, const TraceEntry& entry) {
    out += R"(,"start_ns":)"sv;
    append_number(out, entry.start_ns);
    out += R"(,"duration_ns":)"sv;
    if (entry.duration_ns) {
      append_number(out, *entry.duration_ns);
    } else {
      out += "null"sv;
    }
  }

  // A test of a pytest run: the seed's keys where they have a meaning.
  void write_test(std::string& out, const ThreadTrace& thread, const TraceEntry& entry, size_t id) {
    const TestInfo& test = model_.tests[entry.test];
    out += R"({"event":"test","location":)"sv;
    append_json_string(out, scope_.location(test.file, test.line, false));
    out += R"(,"parent_location":null,"parent_call":null,"name":)"sv;
    append_json_string(out, test.nodeid);
    out +=
        R"(,"arguments":{},"depth":0,"is_external":false,"call_type":"test","args":{},"kwargs":{},"id":)"sv;
    append_number(out, id);
    out += R"(,"parent_id":null,"caller_id":null,"thread_id":)"sv;
    append_number(out, thread.tid);
    out += R"(,"pid":)"sv;
    append_number(out, thread.pid);
    out += R"(,"file":)"sv;
    append_json_string(out, normalize_path(test.file));
    out += R"(,"line":)"sv;
    append_number(out, test.line);
    out += R"(,"qualname":)"sv;
    append_json_string(out, test.nodeid);
    append_timing(out, entry);
    out += R"(,"importing":null,"test_outcome":)"sv;
    append_json_string(out, test.outcome);
    out += "}";
  }

  struct CodeText {
    std::string location;  // the location's path as a JSON string without its closing quote
    std::string file;      // JSON literals from here on
    std::string name;
    std::string qualname;
    std::string exact_bytes;  // ,"file_bytes":... for names that are not UTF-8
  };

  const CodeText& code_text(const CodeInfo& code) {
    auto [it, inserted] = code_text_.try_emplace(&code);
    if (inserted) {
      CodeText& t = it->second;
      append_json_string(t.location, scope_.location(code.filename, 0, true));
      t.location.pop_back();
      const std::string file = normalize_path(code.filename);
      append_json_string(t.file, file);
      append_json_string(t.name, code.name);
      append_json_string(t.qualname, code.qualname.empty() ? code.name : code.qualname);
      // A name that is not UTF-8 (a path's bytes need not be) is shown with
      // U+FFFD above and kept exactly here.
      for (auto [key, value] : {std::pair<std::string_view, std::string_view>{"file_bytes", file},
                                {"name_bytes", code.name},
                                {"qualname_bytes", code.qualname}}) {
        if (is_utf8(value)) continue;
        t.exact_bytes += ",\"";
        t.exact_bytes += key;
        t.exact_bytes += "\":\"" + base64(value) + "\"";
      }
    }
    return it->second;
  }

  // "parent_location":...,"parent_call":... for a call site.
  const std::string& site_text(const CallSite& site) {
    auto [it, inserted] = site_text_.try_emplace({site.code, site.line, site.end_line});
    if (inserted) {
      std::string& t = it->second;
      t += R"("parent_location":)";
      append_json_string(t, scope_.location(site.code->filename, site.line, false));
      t += R"(,"parent_call":)";
      append_json_string(t, call_source_text(site, sources_));
    }
    return it->second;
  }

  // "code": the line's source, joined as parent_call is up to where its
  // brackets close; each line's once (loops run the same lines again).
  const std::string& line_code_text(const ExecutedLine& line) {
    auto [it, inserted] = line_code_text_.try_emplace({line.code, line.line});
    if (inserted)
      append_json_string(it->second,
                         call_source_text({line.code, line.line, line.line + kJoinedLinesMax}, sources_));
    return it->second;
  }

  const TraceModel& model_;
  const Scope& scope_;
  SourceCache& sources_;
  std::unordered_map<const CodeInfo*, CodeText> code_text_;
  std::map<std::tuple<const CodeInfo*, int, int>, std::string> site_text_;
  std::map<std::pair<const CodeInfo*, int>, std::string> line_code_text_;
};

// Index (in pre-order) of each call's next sibling under the same caller:
// a call's subtree ends where its next sibling starts.
std::vector<uint32_t> subtree_ends(const ThreadTrace& thread) {
  std::vector<uint32_t> end(thread.entries.size());
  for (size_t i = thread.entries.size(); i-- > 0;) {
    size_t j = i + 1;
    while (j < thread.entries.size() && caller_of(thread.entries, j) >= static_cast<int64_t>(i)) j = end[j];
    end[i] = static_cast<uint32_t>(j);
    SpillFile::trim_now_and_then(i);
  }
  return end;
}

// "patterns": every group of every thread, referring to trace_data by id.
// Written as text: a trace can have millions of groups.
void write_patterns(const TraceModel& model, const EntryIds& ids, std::ostream& out) {
  std::string text = ",\n  \"patterns\": {\"min_repetitions\": ";
  append_number(text, model.pattern_options->min_repetitions);
  text += ", \"max_period\": "sv;
  append_number(text, model.pattern_options->max_period);
  text += ", \"groups\": ["sv;
  size_t first_group = 0;
  bool first = true;
  auto optional_number = [&](int64_t value, auto to_id) {
    if (value >= 0) {
      append_number(text, to_id(static_cast<size_t>(value)));
    } else {
      text += "null"sv;
    }
  };
  for (size_t t = 0; t < model.threads.size(); ++t) {
    const ThreadTrace& thread = model.threads[t];
    auto id = [&](size_t entry) { return ids.of(t, entry); };
    std::vector<uint32_t> end = thread.patterns.empty() ? std::vector<uint32_t>{} : subtree_ends(thread);
    for (const auto& g : thread.patterns) {
      text += first ? "\n    {\"thread_id\":"sv : ",\n    {\"thread_id\":"sv;
      first = false;
      append_number(text, thread.tid);
      text += ",\"parent_id\":"sv;
      optional_number(g.parent, id);
      text += ",\"first_id\":"sv;
      append_number(text, id(g.first));
      text += ",\"last_id\":"sv;
      append_number(text, id(g.last));
      text += ",\"period\":"sv;
      append_number(text, g.period);
      text += ",\"repetitions\":"sv;
      append_number(text, g.repetitions);
      text += ",\"total_calls\":"sv;
      append_number(text, g.total_calls);
      text += ",\"template_ids\":["sv;
      for (uint32_t i = g.first, k = 0; k < g.period; i = end[i], ++k) {
        if (k) text += ',';
        append_number(text, id(i));
      }
      text += "],\"outer\":"sv;
      optional_number(g.outer, [&](size_t group) { return first_group + group; });
      text += '}';
      if (text.size() > (1 << 16)) {
        out << text;
        text.clear();
      }
    }
    first_group += thread.patterns.size();
  }
  text += first ? "]}"sv : "\n  ]}"sv;
  out << text;
}

// Writes filled buffers on a thread of its own, so that formatting the next
// one overlaps the write: copying a big trace into the page cache takes a
// third of the time the formatting does. At most two buffers wait.
class OverlappedWriter {
 public:
  explicit OverlappedWriter(std::ostream& out) : out_(out), thread_([this] { run(); }) {}
  OverlappedWriter(const OverlappedWriter&) = delete;
  OverlappedWriter& operator=(const OverlappedWriter&) = delete;

  // Writes what is queued; the stream is the caller's again afterwards.
  ~OverlappedWriter() {
    {
      std::lock_guard lock(mutex_);
      finishing_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  // Queues `buffer` for writing; returns an empty buffer to fill next.
  std::string hand_over(std::string&& buffer) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return pending_.size() < 2; });
    pending_.push_back(std::move(buffer));
    changed_.notify_all();
    std::string next;
    if (!spares_.empty()) {
      next = std::move(spares_.back());
      spares_.pop_back();
    }
    next.clear();
    return next;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return !pending_.empty() || finishing_; });
      if (pending_.empty()) return;
      std::string buffer = std::move(pending_.front());
      pending_.pop_front();
      changed_.notify_all();
      lock.unlock();
      out_.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      lock.lock();
      spares_.push_back(std::move(buffer));  // its capacity is reused
    }
  }

  std::ostream& out_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> pending_;
  std::vector<std::string> spares_;
  bool finishing_ = false;
  std::thread thread_;  // last: it starts once the members above exist
};

}  // namespace

void write_json(const TraceModel& model, const Scope& scope, SourceCache& sources, std::ostream& out,
                const std::function<void(size_t written)>& progress) {
  std::vector<std::vector<LineGroup>> line_groups;
  for (const auto& thread : model.threads) line_groups.push_back(group_lines(thread, sources));
  const EntryIds ids(model, line_groups);
  std::string meta = dump(metadata_json(model, ids), 2);
  // Indent the metadata object one level, as a member of the document.
  std::string indented;
  for (char c : meta) {
    indented += c;
    if (c == '\n') indented += "  ";
  }
  out << "{\n  \"metadata\": " << indented << ",\n  \"trace_data\": [";
  EntryWriter writer(model, scope, sources);
  std::string buffer;
  size_t written = 0;
  bool first = true;  // nothing written to trace_data yet
  {
    OverlappedWriter overlapped(out);
    for (size_t t = 0; t < model.threads.size(); ++t) {
      std::span<const LineGroup> groups = line_groups[t];
      // The groups that come before entry `i` and are not written yet.
      auto write_lines_before = [&](size_t i) {
        size_t n = 0;
        while (n < groups.size() && groups[n].before <= i) ++n;
        writer.write_lines(buffer, first, t, groups.first(n), ids);
        groups = groups.subspan(n);
      };
      for (size_t i = 0; i < model.threads[t].entries.size(); ++i) {
        write_lines_before(i);
        buffer += first ? "\n    " : ",\n    ";
        first = false;
        writer.write(buffer, t, i, ids);
        SpillFile::trim_now_and_then(written++);
        if (buffer.size() > (1 << 20)) {
          buffer = overlapped.hand_over(std::move(buffer));
          if (progress) progress(written);
        }
      }
      write_lines_before(model.threads[t].entries.size());
    }
  }
  out << buffer << (first ? "]" : "\n  ]");
  if (model.pattern_options) write_patterns(model, ids, out);
  out << "\n}\n";
}

}  // namespace pytrace
