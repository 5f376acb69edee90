// SPDX-License-Identifier: MIT
#include "trace_export.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/json_text.h"
#include "filtered_trace.h"

namespace pytrace::viewer {

std::optional<ExportFormat> parse_export_format(std::string_view name) {
  if (name == "chrome" || name == "perfetto") return ExportFormat::chrome;
  if (name == "speedscope") return ExportFormat::speedscope;
  if (name == "collapsed") return ExportFormat::collapsed;
  return std::nullopt;
}

std::string_view export_suffix(ExportFormat format) {
  switch (format) {
    case ExportFormat::chrome:
      return ".trace.json";
    case ExportFormat::speedscope:
      return ".speedscope.json";
    case ExportFormat::collapsed:
      return ".folded";
  }
  return "";
}

namespace {

// A kept call with what every format needs: a time span within its
// nearest kept ancestor's, and how many kept ancestors it has.
struct Span {
  uint32_t call;
  uint32_t depth;
  int64_t start, end;
};

// Walks the kept calls in document order, handing each its Span. Only the
// open ancestors are held, so an export of tens of millions of calls takes
// no memory per call.
class SpanWalk {
 public:
  // Checks the calls first, so that nothing is written for a bad list.
  SpanWalk(const TraceDocument& doc, std::span<const uint32_t> kept, bool all)
      : doc_(doc), kept_(kept), all_(all), thread_end_(doc.threads.size(), 0) {
    for (size_t i = 0; i < count(); ++i) {
      uint32_t call = at(i);
      if (call >= doc.size() || (i > 0 && call <= at(i - 1)))
        throw Error("the calls to export are not in order or not calls of this trace");
    }
    if (auto problem = export_problem(doc, all ? std::span<const uint32_t>{} : kept)) throw Error(*problem);
    // Over every call, not only the kept ones: hiding a call does not
    // shorten one that never returned (the page draws it so too).
    for (size_t call = 0; call < doc.size(); ++call)
      thread_end_[doc.thread[call]] = std::max(
          thread_end_[doc.thread[call]], doc.duration_ns[call] >= 0 ? end_of(call) : doc.start_ns[call]);
  }

  // Where the thread's last call ends: when its calls that never returned stop.
  int64_t thread_end(uint32_t thread) const { return thread_end_[thread]; }

  void run(const std::function<void(const Span&)>& visit) const {
    struct Open {
      uint32_t subtree_end;
      int64_t start, end;
    };
    std::vector<Open> open;  // the kept ancestors of the next call
    for (size_t i = 0; i < count(); ++i) {
      uint32_t call = at(i);
      // The previous sibling's end, in this thread.
      int64_t after = INT64_MIN;
      for (; !open.empty() && call >= open.back().subtree_end; open.pop_back()) after = open.back().end;
      if (i > 0 && doc_.thread[at(i - 1)] != doc_.thread[call]) after = INT64_MIN;
      int64_t start = std::max(doc_.start_ns[call], after);
      int64_t end = end_of(call);
      // Clocks read at entry and return nest; clamping keeps the formats'
      // rules (a child within its parent, after its previous sibling)
      // whatever a document says.
      if (!open.empty()) {
        start = std::clamp(start, open.back().start, open.back().end);
        end = std::min(end, open.back().end);
      }
      end = std::max(end, start);
      visit({call, static_cast<uint32_t>(open.size()), start, end});
      open.push_back({doc_.subtree_end[call], start, end});
    }
  }

 private:
  // start + duration (at most INT64_MAX). A call that never returned ends
  // where the next call of its thread after its subtree starts (the tracer
  // closed it there), or with its thread's last call; as the page ends it.
  int64_t end_of(size_t call) const {
    if (doc_.duration_ns[call] < 0) {
      size_t next = doc_.subtree_end[call];
      bool same_thread = next < doc_.size() && doc_.thread[next] == doc_.thread[call];
      return same_thread ? doc_.start_ns[next] : thread_end_[doc_.thread[call]];
    }
    int64_t end = 0;
    return __builtin_add_overflow(doc_.start_ns[call], doc_.duration_ns[call], &end) ? INT64_MAX : end;
  }

  size_t count() const { return all_ ? doc_.size() : kept_.size(); }
  uint32_t at(size_t i) const { return all_ ? static_cast<uint32_t>(i) : kept_[i]; }

  const TraceDocument& doc_;
  std::span<const uint32_t> kept_;
  bool all_;
  std::vector<int64_t> thread_end_;
};

// Nanoseconds as microseconds with every digit: 1234567 -> "1234.567".
void append_micros(std::string& out, int64_t ns) {
  out += std::to_string(ns / 1000);
  int64_t rest = ns % 1000;
  if (rest != 0) {
    char digits[4] = {char('0' + rest / 100), char('0' + rest / 10 % 10), char('0' + rest % 10), 0};
    out += '.';
    out += digits;
  }
}

// Where a call's code is: its location split at the last colon.
std::pair<std::string_view, int64_t> file_and_line(std::string_view location) {
  size_t colon = location.rfind(':');
  if (colon == std::string_view::npos) return {location, 0};
  int64_t line = 0;
  for (char c : location.substr(colon + 1)) {
    if (c < '0' || c > '9') return {location, 0};
    line = line * 10 + (c - '0');
  }
  return {location.substr(0, colon), line};
}

std::string thread_title(const DocumentThread& thread) {
  std::string title = thread.name.empty() ? "thread " + std::to_string(thread.thread_id) : thread.name;
  return title + " (pid " + std::to_string(thread.pid) + ", tid " + std::to_string(thread.thread_id) + ")";
}

// Writes in pieces of about a megabyte.
class Output {
 public:
  explicit Output(const std::function<void(std::string_view)>& write) : write_(write) {}
  std::string& text() { return text_; }
  void maybe_flush() {
    if (text_.size() >= (1u << 20)) flush();
  }
  void flush() {
    if (!text_.empty()) write_(text_);
    text_.clear();
  }

 private:
  const std::function<void(std::string_view)>& write_;
  std::string text_;
};

void write_chrome(const TraceDocument& doc, const SpanWalk& spans, Output& out) {
  std::string& s = out.text();
  s += R"({"displayTimeUnit":"ns","otherData":{"exporter":"pytrace"},"traceEvents":[)";
  bool first = true;
  auto metadata = [&](std::string_view what, int64_t pid, int64_t tid, const std::string& name) {
    s += first ? "\n" : ",\n";
    first = false;
    s += R"({"ph":"M","ts":0,"name":")";
    s += what;
    s += R"(","pid":)" + std::to_string(pid) + R"(,"tid":)" + std::to_string(tid) + R"(,"args":{"name":)";
    append_json_string(s, name);
    s += "}}";
  };
  std::vector<int64_t> pids_named;
  for (const DocumentThread& thread : doc.threads) {
    if (std::find(pids_named.begin(), pids_named.end(), thread.pid) == pids_named.end()) {
      pids_named.push_back(thread.pid);
      metadata("process_name", thread.pid, thread.pid, "python (pid " + std::to_string(thread.pid) + ")");
    }
    metadata("thread_name", thread.pid, thread.thread_id, thread_title(thread));
  }
  spans.run([&](const Span& span) {
    uint32_t call = span.call;
    const DocumentThread& thread = doc.threads[doc.thread[call]];
    s += first ? "\n" : ",\n";
    first = false;
    s += R"({"ph":"X","name":)";
    append_json_string(s, doc.strings[doc.qualname[call]]);
    s += R"(,"cat":)";
    append_json_string(s, doc.strings[doc.call_type[call]]);
    s += R"(,"ts":)";
    append_micros(s, span.start);
    s += R"(,"dur":)";
    append_micros(s, span.end - span.start);
    s += R"(,"pid":)" + std::to_string(thread.pid) + R"(,"tid":)" + std::to_string(thread.thread_id);
    s += R"(,"args":{"location":)";
    append_json_string(s, doc.strings[doc.location[call]]);
    if (uint32_t site = doc.call_site[call]) {
      s += R"(,"call_site":)";
      append_json_string(s, doc.strings[site]);
    }
    // Values as written, where they are JSON: the viewer reads a document
    // without checking the values it does not use.
    try {
      ObjectText entry(doc.raw_entry(call), call);
      for (auto [key, name] : {std::pair{"arguments", "arguments"}, std::pair{"test_outcome", "outcome"}}) {
        auto value = entry.value(key);
        if (!value || !nlohmann::json::accept(*value)) continue;
        s += ",\"";
        s += name;
        s += "\":";
        s += *value;
      }
    } catch (const Error&) {  // an entry that is not JSON keeps its name, times and place
    }
    if (doc.duration_ns[call] < 0) s += R"(,"running_at_end":true)";
    s += "}}";
    out.maybe_flush();
  });
  s += "\n]}\n";
}

// Frames by (qualified name, location), numbered as first seen.
class FrameTable {
 public:
  explicit FrameTable(const TraceDocument& doc) : doc_(doc) {}
  uint32_t of(uint32_t call) {
    uint64_t key = (uint64_t{doc_.location[call]} << 32) | doc_.qualname[call];
    auto [it, added] = ids_.try_emplace(key, static_cast<uint32_t>(calls_.size()));
    if (added) calls_.push_back(call);
    return it->second;
  }
  // A call of each frame, in the frames' order.
  const std::vector<uint32_t>& calls() const { return calls_; }

 private:
  const TraceDocument& doc_;
  std::unordered_map<uint64_t, uint32_t> ids_;
  std::vector<uint32_t> calls_;
};

void write_speedscope(const TraceDocument& doc, const SpanWalk& spans, Output& out) {
  std::string& s = out.text();
  s += R"({"$schema":"https://www.speedscope.app/file-format-schema.json","exporter":"pytrace",)";
  s += R"("name":"pytrace","activeProfileIndex":0,"profiles":[)";
  FrameTable frames(doc);
  // A profile per thread: each call opens its frame, and closes when a call
  // that is not its descendant comes, innermost first; `at` never goes
  // back, as the format requires.
  struct Open {
    uint32_t frame;
    int64_t end;
  };
  std::vector<Open> open;
  int64_t at = 0;
  bool first_event = true;
  auto event = [&](char type, uint32_t frame, int64_t when) {
    at = std::max(at, when);
    s += first_event ? "" : ",";
    first_event = false;
    s += R"({"type":")";
    s += type;
    s += R"(","frame":)" + std::to_string(frame) + R"(,"at":)" + std::to_string(at) + "}";
  };
  auto close_to = [&](size_t depth) {
    for (; open.size() > depth; open.pop_back()) event('C', open.back().frame, open.back().end);
  };
  constexpr uint32_t kNone = UINT32_MAX;
  uint32_t thread = kNone;
  spans.run([&](const Span& span) {
    uint32_t t = doc.thread[span.call];
    if (t != thread) {
      close_to(0);
      s += thread == kNone ? "\n" : "]},\n";
      thread = t;
      at = span.start;
      first_event = true;
      s += R"({"type":"evented","name":)";
      append_json_string(s, thread_title(doc.threads[t]));
      s += R"(,"unit":"nanoseconds","startValue":)" + std::to_string(span.start) + R"(,"endValue":)" +
           std::to_string(spans.thread_end(t)) + R"(,"events":[)";
    }
    close_to(span.depth);
    uint32_t frame = frames.of(span.call);
    event('O', frame, span.start);
    open.push_back({frame, span.end});
    out.maybe_flush();
  });
  close_to(0);
  if (thread != kNone) s += "]}";
  s += "\n],\"shared\":{\"frames\":[";
  bool first = true;
  for (uint32_t call : frames.calls()) {
    auto [file, line] = file_and_line(doc.strings[doc.location[call]]);
    s += first ? "\n" : ",\n";
    first = false;
    s += R"({"name":)";
    append_json_string(s, doc.strings[doc.qualname[call]]);
    s += R"(,"file":)";
    append_json_string(s, file);
    if (line > 0) s += R"(,"line":)" + std::to_string(line);
    s += "}";
    out.maybe_flush();
  }
  s += "\n]}}\n";
}

// One line per distinct stack with the time spent in its innermost call
// itself (its duration less its kept children's), in nanoseconds.
void write_collapsed(const TraceDocument& doc, const SpanWalk& spans, Output& out) {
  // Stacks as a tree of (outer stack, frame): a node per distinct stack.
  FrameTable frames(doc);
  std::unordered_map<uint64_t, uint32_t> node_of;  // (outer node + 1) << 32 | frame -> node
  std::vector<uint32_t> node_frame;
  std::vector<int64_t> node_self;
  std::vector<std::vector<uint32_t>> children(1);  // [0]: the stacks' roots; [node + 1]: the node's
  std::vector<uint32_t> open;                      // the node of each open call, outermost first
  spans.run([&](const Span& span) {
    open.resize(span.depth);
    uint32_t outer = open.empty() ? 0 : open.back() + 1;
    uint32_t frame = frames.of(span.call);
    auto [it, added] =
        node_of.try_emplace((uint64_t{outer} << 32) | frame, static_cast<uint32_t>(node_frame.size()));
    if (added) {
      node_frame.push_back(frame);
      node_self.push_back(0);
      children[outer].push_back(it->second);
      children.emplace_back();
    }
    int64_t length = span.end - span.start;
    node_self[it->second] += length;
    if (!open.empty()) node_self[open.back()] -= length;
    open.push_back(it->second);
  });
  // Frame names without the format's separators: ';' between frames
  // (made ','), one stack a line (line ends made spaces: \n, \r, and
  // U+0085, U+2028 and U+2029, which readers in JavaScript split at too).
  std::vector<std::string> names;
  for (uint32_t call : frames.calls()) {
    std::string text = doc.strings[doc.qualname[call]] + " (" + doc.strings[doc.location[call]] + ")";
    std::string name;
    for (size_t i = 0; i < text.size(); ++i) {
      std::string_view rest = std::string_view(text).substr(i);
      if (rest.starts_with("\u2028") || rest.starts_with("\u2029") || rest.starts_with("\u0085")) {
        name += ' ';
        i += rest.starts_with("\u0085") ? 1 : 2;  // the character's other bytes
      } else {
        name += text[i] == ';' ? ',' : text[i] == '\n' || text[i] == '\r' ? ' ' : text[i];
      }
    }
    names.push_back(std::move(name));
  }
  // Depth first through the stacks, the line of each built on its outer one's.
  std::string& s = out.text();
  std::string stack;
  struct Level {
    uint32_t node;     // + 1: 0 is above the roots
    size_t next;       // its next child
    size_t stack_end;  // where its text ends in `stack`
  };
  std::vector<Level> walk{{0, 0, 0}};
  while (!walk.empty()) {
    Level& level = walk.back();
    if (level.next == children[level.node].size()) {
      walk.pop_back();
      continue;
    }
    uint32_t child = children[level.node][level.next++];
    stack.resize(level.stack_end);
    if (!stack.empty()) stack += ';';
    stack += names[node_frame[child]];
    if (node_self[child] > 0) {
      s += stack;
      s += ' ';
      s += std::to_string(node_self[child]);
      s += '\n';
      out.maybe_flush();
    }
    walk.push_back({child + 1, 0, stack.size()});  // `level` is not used past here
  }
}

}  // namespace

std::optional<std::string> export_problem(const TraceDocument& doc, std::span<const uint32_t> kept) {
  auto missing = [&](uint32_t call) { return call < doc.size() && doc.start_ns[call] < 0; };
  bool any = kept.empty()
                 ? std::any_of(doc.start_ns.begin(), doc.start_ns.end(), [](int64_t t) { return t < 0; })
                 : std::any_of(kept.begin(), kept.end(), missing);
  if (!any) return std::nullopt;
  return "this trace has calls without a start time (start_ns), as the original tool's traces and "
         "trace_where's stacks have; exports need the times trace_program and trace_pytest record";
}

void write_export(const TraceDocument& doc, ExportFormat format, std::span<const uint32_t> kept, bool all,
                  const std::function<void(std::string_view)>& write) {
  SpanWalk spans(doc, kept, all);
  Output out(write);
  switch (format) {
    case ExportFormat::chrome:
      write_chrome(doc, spans, out);
      break;
    case ExportFormat::speedscope:
      write_speedscope(doc, spans, out);
      break;
    case ExportFormat::collapsed:
      write_collapsed(doc, spans, out);
      break;
  }
  out.flush();
}

}  // namespace pytrace::viewer
