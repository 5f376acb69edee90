// SPDX-License-Identifier: MIT
#include "core/where_writer.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/classify.h"
#include "core/local_time.h"
#include "version.h"

namespace pytrace {
namespace {

using Json = nlohmann::ordered_json;

// The text of a line, stripped: the frame's current line, or a call site
// as the original wrote it here (the raw line, no joining).
std::string line_text(SourceCache& sources, const std::string& file, int line) {
  if (file.find("<frozen") != std::string::npos) return "<frozen module call>";  // as traces say
  if (file.starts_with('<')) return "<built-in or generated code>";
  std::optional<std::string_view> text = sources.line(file, line);
  if (!text) return "";
  size_t first = text->find_first_not_of(" \t");
  size_t last = text->find_last_not_of(" \t\r");
  return first == std::string_view::npos ? "" : std::string(text->substr(first, last - first + 1));
}

// The original's `args` and `kwargs`: positional parameters and *args, then
// keyword-only ones and **kwargs (their keys keep their stars, as the
// original's did); self or cls left out of `args` unless it is the only
// positional parameter.
std::pair<Json, Json> split_arguments(const CodeInfo& code, const Json& arguments) {
  const ArgNames& params = code.params;
  uint32_t named = params.count - params.varargs - params.varkeywords;
  uint32_t positional = named >= params.keyword_only ? named - params.keyword_only : 0;
  Json args = Json::object(), kwargs = Json::object();
  size_t i = 0;
  for (const auto& [key, value] : arguments.items()) {
    bool starred = key.starts_with("*");
    if (key == "...") {
    } else if (key.starts_with("**")) {
      kwargs[key] = value;
    } else if (starred) {
      args[key] = value;
    } else if (i < positional) {
      if (!(i == 0 && positional > 1 && (key == "self" || key == "cls"))) args[key] = value;
    } else {
      kwargs[key] = value;
    }
    ++i;
  }
  return {args, kwargs};
}

struct FrameView {
  const BreakpointHit::Frame* frame;
  int depth;  // 0: the outermost in the scope
};

// The frames in the scope, and the breakpoint's own wherever it is,
// innermost first.
std::vector<FrameView> frames_in_scope(const BreakpointHit& hit) {
  std::vector<FrameView> frames;
  int depth = 0;
  for (size_t i = 0; i < hit.frames.size(); ++i)
    if (hit.frames[i].in_scope || i + 1 == hit.frames.size()) frames.push_back({&hit.frames[i], depth++});
  return {frames.rbegin(), frames.rend()};
}

CallType call_type_of(const BreakpointHit::Frame& frame, const TraceModel& model, SourceCache& sources) {
  std::string_view caller = frame.call_site ? std::string_view(frame.call_site->code->filename) : "";
  bool main =
      frame.code->name == "<module>" && (!frame.call_site || frame.code->filename == model.session.main_file);
  return classify_call(CallFacts{*frame.code, !frame.in_scope, caller, main}, sources);
}

}  // namespace

void write_where_json(const TraceModel& model, const BreakpointSpec& breakpoint, const Scope& scope,
                      SourceCache& sources, std::ostream& out) {
  const BreakpointHit& hit = *model.breakpoint_hit;
  std::vector<FrameView> frames = frames_in_scope(hit);
  Json meta = Json::object();
  meta["original_command"] = model.session.original_command;
  meta["breakpoint"] = breakpoint.file + ":" + std::to_string(breakpoint.line);
  meta["call"] = line_text(sources, breakpoint.file, breakpoint.line);
  meta["iterations"] = breakpoint.iterations;
  meta["scope_path"] = model.session.scope_path;
  meta["total_frames"] = frames.size();
  meta["timestamp"] = iso_time_now();
  meta["schema_version"] = "1.0";
  meta["tool"] = {{"name", "pytrace"}, {"version", PYTRACE_VERSION}};
  meta["scope_paths"] = model.session.scope_paths;
  meta["pid"] = hit.pid;
  meta["thread_id"] = hit.tid;
  meta["hits"] = model.breakpoint_hits;
  if (!hit.test.empty()) meta["test"] = hit.test;
  if (model.session.executed_lines) {
    // The original swapped these two keys' meanings; here each means what its name says.
    std::map<std::string, std::set<int>> lines;
    size_t count = 0;
    for (const auto& thread : model.threads) {
      for (const auto& line : thread.executed_lines) lines[line.code->filename].insert(line.line);
      count += thread.executed_lines.size();
    }
    meta["executed_lines_count"] = count;
    meta["executed_lines"] = lines;
  }
  Json entries = Json::array();
  for (const auto& [frame, depth] : frames) {
    const CodeInfo& code = *frame->code;
    Json arguments = Json::parse(model.argument_texts[frame->arguments]);
    auto [args, kwargs] = split_arguments(code, arguments);
    Json entry = Json::object();
    entry["location"] = scope.location(code.filename, frame->line, false);
    if (frame->call_site) {
      entry["parent_location"] =
          scope.location(frame->call_site->code->filename, frame->call_site->line, false);
      entry["parent_call"] = line_text(sources, frame->call_site->code->filename, frame->call_site->line);
    } else {
      entry["parent_location"] = nullptr;
      entry["parent_call"] = nullptr;
    }
    entry["call"] = line_text(sources, code.filename, frame->line);
    entry["name"] = code.name;
    entry["arguments"] = arguments;
    entry["depth"] = depth;
    entry["is_external"] = !frame->in_scope;  // only the breakpoint's own frame can be
    entry["call_type"] = call_type_name(call_type_of(*frame, model, sources));
    entry["args"] = args;
    entry["kwargs"] = kwargs;
    entry["thread_id"] = hit.tid;
    entry["pid"] = hit.pid;
    entry["file"] = code.filename;
    entry["line"] = frame->line;
    entry["qualname"] = code.qualname.empty() ? code.name : code.qualname;
    entries.push_back(entry);
  }
  Json document = Json::object();
  document["metadata"] = meta;
  document["trace_data"] = entries;
  out << document.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
}

void write_where_report(const TraceModel& model, const BreakpointSpec& breakpoint, const Scope& scope,
                        SourceCache& sources, std::ostream& out) {
  const BreakpointHit& hit = *model.breakpoint_hit;
  std::vector<FrameView> frames = frames_in_scope(hit);
  out << "\nBreakpoint hit " << breakpoint.iterations
      << (breakpoint.iterations == 1 ? " time at " : " times at ") << breakpoint.file << ":"
      << breakpoint.line << " (thread " << hit.tid << ", process " << hit.pid << ")\n";
  if (!hit.test.empty()) out << "In test: " << hit.test << "\n";
  out << "Total frames in stack: " << frames.size()
      << " (max depth: " << (frames.empty() ? 0 : frames.size() - 1) << ")\n\n";
  out << std::string(60, '=') << "\nStack trace (from breakpoint to main):\n" << std::string(60, '=') << "\n";
  for (const auto& [frame, depth] : frames) {
    const CodeInfo& code = *frame->code;
    out << "\nDepth " << depth << ": " << scope.location(code.filename, frame->line, false) << "\n";
    out << "  Function: " << (code.qualname.empty() ? code.name : code.qualname) << "\n";
    out << "  Type: " << call_type_name(call_type_of(*frame, model, sources)) << "\n";
    out << "  Current line: " << line_text(sources, code.filename, frame->line) << "\n";
    if (frame->call_site) {
      out << "  Called from: "
          << scope.location(frame->call_site->code->filename, frame->call_site->line, false) << "\n";
      out << "  Call: " << line_text(sources, frame->call_site->code->filename, frame->call_site->line)
          << "\n";
    }
    Json arguments = Json::parse(model.argument_texts[frame->arguments]);
    auto [args, kwargs] = split_arguments(code, arguments);
    if (!args.empty() || !kwargs.empty()) {
      out << "  Arguments:\n";
      if (!args.empty())
        out << "    args: " << args.dump(6, ' ', false, Json::error_handler_t::replace) << "\n";
      if (!kwargs.empty())
        out << "    kwargs: " << kwargs.dump(6, ' ', false, Json::error_handler_t::replace) << "\n";
    }
  }
}

}  // namespace pytrace
