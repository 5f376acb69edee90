// SPDX-License-Identifier: MIT
#include "core/json_writer.h"

#include <nlohmann/json.hpp>

#include "core/call_text.h"
#include "version.h"

namespace pytrace {
namespace {

using Json = nlohmann::ordered_json;

// Probe strings can be cut inside a UTF-8 sequence: replace, never throw.
std::string dump(const Json& value, int indent = -1) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

Json metadata_json(const TraceModel& model) {
  const SessionInfo& s = model.session;
  Json meta;
  // The seed's keys, in the seed's order.
  meta["original_command"] = s.original_command;
  meta["scope_path"] = s.scope_path;
  meta["timestamp"] = s.end_time;
  if (!s.main_file.empty()) meta["main_file"] = s.main_file;
  meta["total_frames"] = model.total_entries();
  // Additive keys.
  meta["schema_version"] = kSchemaVersion;
  meta["tool"] = {{"name", "pytrace"}, {"version", PYTRACE_VERSION}};
  meta["python"] = {{"executable", s.python_executable}, {"version", s.python_version}};
  meta["pid"] = s.pid;
  meta["start_time"] = s.start_time;
  meta["duration_ns"] = s.duration_ns;
  meta["exit_code"] = s.exit_code ? Json(*s.exit_code) : Json(nullptr);
  meta["options"] = {
      {"external_calls", s.external_calls}, {"imports", s.imports}, {"show_dunders", s.show_dunders}};
  Json threads = Json::array();
  for (const auto& thread : model.threads) {
    threads.push_back({{"thread_id", thread.tid}, {"pid", thread.pid}, {"calls", thread.entries.size()}});
  }
  meta["threads"] = threads;
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
                  {"frame_mismatches", ps.frame_mismatches}};
  meta["ignored"] = {{"generator_creations", st.generator_creations}, {"init_shim_returns", st.shim_returns}};
  meta["records"] = st.records;
  return meta;
}

Json entry_json(const TraceModel& model, const ThreadTrace& thread, const TraceEntry& entry, size_t id,
                size_t first_id, const Scope& scope, SourceCache& sources) {
  const CodeInfo& code = *entry.code;
  const bool is_module = code.name == "<module>";
  Json j;
  // The seed's keys, in the seed's order.
  j["event"] = "function_call";
  j["location"] = scope.location(code.filename, entry.line, is_module);
  if (entry.parent_site) {
    j["parent_location"] = scope.location(entry.parent_site->code->filename, entry.parent_site->line, false);
    j["parent_call"] = call_source_text(*entry.parent_site, sources);
  } else {
    j["parent_location"] = nullptr;
    j["parent_call"] = nullptr;
  }
  j["name"] = code.name;
  j["arguments"] = Json::object();
  j["depth"] = entry.depth;
  j["is_external"] = entry.is_external;
  j["call_type"] = call_type_name(entry.call_type);
  j["args"] = Json::object();
  j["kwargs"] = Json::object();
  if (entry.number_of_calls) j["number_of_calls"] = entry.number_of_calls;
  // Additive keys.
  j["id"] = id;
  j["parent_id"] = entry.parent >= 0 ? Json(first_id + entry.parent) : Json(nullptr);
  j["thread_id"] = thread.tid;
  j["pid"] = thread.pid;
  j["file"] = normalize_path(code.filename);
  j["line"] = entry.line;
  j["qualname"] = code.qualname.empty() ? code.name : code.qualname;
  j["start_ns"] = entry.start_ns;
  j["duration_ns"] = entry.duration_ns ? Json(*entry.duration_ns) : Json(nullptr);
  j["importing"] = entry.importing >= 0 ? Json(model.modules[entry.importing]) : Json(nullptr);
  return j;
}

}  // namespace

void write_json(const TraceModel& model, const Scope& scope, SourceCache& sources, std::ostream& out) {
  std::string meta = dump(metadata_json(model), 2);
  // Indent the metadata object one level, as a member of the document.
  std::string indented;
  for (char c : meta) {
    indented += c;
    if (c == '\n') indented += "  ";
  }
  out << "{\n  \"metadata\": " << indented << ",\n  \"trace_data\": [";
  size_t id = 0;
  bool first = true;
  for (const auto& thread : model.threads) {
    size_t first_id = id;
    for (const auto& entry : thread.entries) {
      out << (first ? "\n    " : ",\n    ")
          << dump(entry_json(model, thread, entry, id, first_id, scope, sources));
      first = false;
      ++id;
    }
  }
  out << (first ? "]\n}\n" : "\n  ]\n}\n");
}

}  // namespace pytrace
