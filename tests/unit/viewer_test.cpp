// SPDX-License-Identifier: MIT
// The viewer's pure parts: reading trace documents, the page's model,
// filtered saves and the command line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "filtered_trace.h"
#include "trace_document.h"
#include "trace_export.h"
#include "view_model.h"
#include "view_options.h"

namespace pytrace::viewer {
namespace {

using nlohmann::json;

// A documented entry (docs/json-format.md) with the fields the viewer reads.
json call(int64_t id, json parent, int depth, const std::string& name, const std::string& location,
          const std::string& type = "function_call", int64_t thread = 100) {
  return {{"event", "function_call"},
          {"location", location},
          {"parent_location", nullptr},
          {"parent_call", "site of " + name},
          {"name", name},
          {"arguments", json::object()},
          {"depth", depth},
          {"is_external", type == "external_call"},
          {"call_type", type},
          {"id", id},
          {"parent_id", parent},
          {"thread_id", thread},
          {"pid", 100},
          {"file", "/p/" + location.substr(0, location.find(':'))},
          {"qualname", name},
          {"duration_ns", 1000 + id},
          {"importing", nullptr}};
}

std::string document(const json& entries, json metadata = json::object()) {
  if (metadata.empty())
    metadata = {{"original_command", "trace_program demo.py"}, {"total_frames", entries.size()}};
  return json{{"metadata", metadata}, {"trace_data", entries}}.dump();
}

// main() calling step() three times (each calling leaf()), then an external call.
json repeated_calls() {
  return json::array({call(0, nullptr, 0, "<module>", "demo.py", "module_execution"),
                      call(1, 0, 1, "main", "demo.py:5"), call(2, 1, 2, "step", "demo.py:9"),
                      call(3, 2, 3, "leaf", "demo.py:12"), call(4, 1, 2, "step", "demo.py:9"),
                      call(5, 4, 3, "leaf", "demo.py:12"), call(6, 1, 2, "step", "demo.py:9"),
                      call(7, 6, 3, "leaf", "demo.py:12"),
                      call(8, 1, 2, "loads", "/usr/lib/json/__init__.py:300", "external_call")});
}

// main() calls sorted() (external), whose key callback (in scope) calls
// leaf(): the callback's parent is main, its caller sorted.
json callback_calls() {
  json entries =
      json::array({call(0, nullptr, 0, "<module>", "demo.py", "module_execution"),
                   call(1, 0, 1, "main", "demo.py:5"), call(2, 1, 2, "sorted", "<built-in>", "external_call"),
                   call(3, 1, 2, "key", "demo.py:9"), call(4, 3, 3, "leaf", "demo.py:12")});
  for (int64_t caller : {-1, 0, 1, 2, 3})
    entries[caller + 1]["caller_id"] = caller < 0 ? json(nullptr) : json(caller);
  return entries;
}

std::string error_of(const std::string& text) {
  try {
    TraceDocument::parse(text, "t.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TraceDocument, ColumnsOfTheDocumentedForm) {
  json entries = repeated_calls();
  entries[2]["importing"] = "helpers";  // step runs while helpers is imported, but is no import
  auto doc = TraceDocument::parse(document(entries), "t.json");
  ASSERT_EQ(doc.size(), 9u);
  EXPECT_EQ(doc.parent, (std::vector<int32_t>{-1, 0, 1, 2, 1, 4, 1, 6, 1}));
  EXPECT_EQ(doc.depth, (std::vector<int32_t>{0, 1, 2, 3, 2, 3, 2, 3, 2}));
  EXPECT_EQ(doc.subtree_end, (std::vector<uint32_t>{9, 9, 4, 4, 6, 6, 8, 8, 9}));
  EXPECT_EQ(doc.strings[doc.name[2]], "step");
  EXPECT_EQ(doc.strings[doc.location[8]], "/usr/lib/json/__init__.py:300");
  EXPECT_EQ(doc.strings[doc.call_site[3]], "site of leaf");
  EXPECT_EQ(doc.strings[doc.imports[2]], "");
  EXPECT_EQ(doc.strings[doc.imports[3]], "");
  EXPECT_EQ(doc.flags[2], kImport);
  EXPECT_EQ(doc.flags[8], kExternal);
  EXPECT_EQ(doc.duration_ns[5], 1005);
  EXPECT_EQ(json::parse(doc.raw_entry(4))["id"], 4);
  EXPECT_EQ(json::parse(doc.metadata())["original_command"], "trace_program demo.py");
  ASSERT_EQ(doc.threads.size(), 1u);
  EXPECT_EQ(doc.threads[0].thread_id, 100);
  EXPECT_EQ(doc.threads[0].calls, 9u);
}

TEST(TraceDocument, SummaryFigures) {
  json entries = repeated_calls();
  entries.push_back(call(9, nullptr, 0, "_find_and_load", "<frozen importlib._bootstrap>:1302", "import"));
  entries.push_back(call(10, 9, 1, "<module>", "helpers.py", "import"));
  entries[10]["importing"] = "helpers";
  json metadata = {{"loss",
                    {{"ring_buffer_drops", 2},
                     {"lost_records", 2},
                     {"unmatched_returns", 1},
                     {"frame_mismatches", 5},
                     {"open_at_end", 4}}}};
  auto doc = TraceDocument::parse(document(entries, metadata), "t.json");
  const Summary& s = doc.summary;
  EXPECT_EQ(s.calls, 11u);
  EXPECT_EQ(s.external, 1u);
  EXPECT_EQ(s.internal, 10u);
  EXPECT_EQ(s.imports, 2u);
  // <module>, main, step, leaf, loads, _find_and_load, helpers' <module>
  EXPECT_EQ(s.unique_functions, 7u);
  EXPECT_EQ(s.unique_locations, 7u);
  EXPECT_EQ(s.call_types.at("function_call"), 7u);
  EXPECT_EQ(s.call_types.at("import"), 2u);
  EXPECT_EQ(s.lost, 3u);  // the two lost records once, and the unmatched return
  EXPECT_EQ(s.unread_frames, 5u);
  EXPECT_EQ(s.open_at_end, 4u);
  EXPECT_EQ(doc.flags[9], kImport);
  EXPECT_EQ(doc.strings[doc.imports[10]], "helpers");  // a module's body names what it imports
}

TEST(TraceDocument, PatternGroupsAreFoundAgain) {
  auto doc = TraceDocument::parse(document(repeated_calls()), "t.json");
  ASSERT_EQ(doc.groups.size(), 1u);
  const DocumentGroup& g = doc.groups[0];
  EXPECT_EQ(g.parent, 1);
  EXPECT_EQ(g.first, 2u);
  EXPECT_EQ(g.last, 7u);
  EXPECT_EQ(g.template_end, 4u);  // step #2 and its leaf #3
  EXPECT_EQ(g.period, 1u);
  EXPECT_EQ(g.repetitions, 3u);
  EXPECT_EQ(g.outer, -1);
  EXPECT_TRUE(TraceDocument::parse(document(repeated_calls()), "t.json", false).groups.empty());

  // Imports alike only when of the same module.
  json imports = json::array({call(0, nullptr, 0, "<module>", "demo.py", "module_execution")});
  for (int id = 1; id <= 3; ++id) {
    imports.push_back(call(id, 0, 1, "_find_and_load", "<frozen importlib._bootstrap>:1302", "import"));
    imports[id]["importing"] = id == 3 ? "json" : "attr";
  }
  auto grouped = TraceDocument::parse(document(imports), "t.json");
  ASSERT_EQ(grouped.groups.size(), 1u);
  EXPECT_EQ(grouped.groups[0].first, 1u);
  EXPECT_EQ(grouped.groups[0].repetitions, 2u);  // attr twice, then json
}

TEST(TraceDocument, NestedGroupsComeAfterTheirOuterGroup) {
  // main: (a b b) (a b b): one outer group, and b b nested in its template.
  json entries = json::array({call(0, nullptr, 0, "main", "m.py:1")});
  for (int rep = 0; rep < 2; ++rep) {
    int64_t base = 1 + rep * 3;
    entries.push_back(call(base, 0, 1, "a", "m.py:5"));
    entries.push_back(call(base + 1, 0, 1, "b", "m.py:9"));
    entries.push_back(call(base + 2, 0, 1, "b", "m.py:9"));
  }
  auto doc = TraceDocument::parse(document(entries), "t.json");
  ASSERT_EQ(doc.groups.size(), 2u);
  EXPECT_EQ(doc.groups[0].first, 1u);
  EXPECT_EQ(doc.groups[0].period, 3u);
  EXPECT_EQ(doc.groups[0].template_end, 4u);
  EXPECT_EQ(doc.groups[1].first, 2u);
  EXPECT_EQ(doc.groups[1].outer, 0);
}

TEST(TraceDocument, ThreadsAndTheirNames) {
  json entries = json::array({call(0, nullptr, 0, "main", "m.py:1", "function_call", 7),
                              call(1, nullptr, 0, "worker", "m.py:9", "function_call", 8),
                              call(2, 1, 1, "job", "m.py:12", "function_call", 8)});
  json metadata = {
      {"threads", {{{"thread_id", 7}, {"name", "main"}}, {{"thread_id", 8}, {"name", "Thread-1"}}}}};
  auto doc = TraceDocument::parse(document(entries, metadata), "t.json");
  ASSERT_EQ(doc.threads.size(), 2u);
  EXPECT_EQ(doc.threads[1].name, "Thread-1");
  EXPECT_EQ(doc.threads[1].calls, 2u);
  EXPECT_EQ(doc.thread, (std::vector<uint32_t>{0, 1, 1}));
}

TEST(TraceDocument, TheOriginalToolsDocument) {
  // No ids: the tree comes from depth. executed_line entries are not calls.
  json entries = json::array({
      {{"event", "function_call"},
       {"name", "<module>"},
       {"location", "demo.py:1"},
       {"depth", 0},
       {"call_type", "import"},
       {"is_external", false}},
      {{"event", "function_call"},
       {"name", "main"},
       {"location", "demo.py:5"},
       {"depth", 1},
       {"call_type", "function_call"},
       {"is_external", false}},
      {{"event", "executed_line"}, {"location", "demo.py:6"}},
      {{"event", "function_call"},
       {"name", "f"},
       {"location", "demo.py:9"},
       {"depth", 2},
       {"call_type", "function_call"},
       {"is_external", false}},
      {{"event", "function_call"},
       {"name", "g"},
       {"location", "demo.py:12"},
       {"depth", 1},
       {"call_type", "function_call"},
       {"is_external", false}},
  });
  auto doc = TraceDocument::parse(document(entries), "seed.json");
  EXPECT_EQ(doc.size(), 4u);
  EXPECT_EQ(doc.skipped_entries, 1u);
  EXPECT_EQ(doc.parent, (std::vector<int32_t>{-1, 0, 1, 0}));
  EXPECT_EQ(doc.flags[0] & kNoDuration, kNoDuration);
  // The legacy form: the list alone.
  auto legacy = TraceDocument::parse(entries.dump(), "legacy.json");
  EXPECT_EQ(legacy.size(), 4u);
  EXPECT_EQ(legacy.metadata(), "null");
}

TEST(TraceDocument, ExecutedLinesGoWithTheCallThatRanThem) {
  json entries = repeated_calls();
  json lines = {{"event", "executed_line"},
                {"file", "demo.py"},
                {"function", "step"},
                {"context", "function_runtime"},
                {"lines", {9, 10}},
                {"code", "x = 1"},
                {"call_id", 2},
                {"thread_id", 100},
                {"pid", 100}};
  entries.insert(entries.begin() + 3, lines);  // after step (id 2), before leaf
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i]["event"] != "function_call") continue;
    entries[i]["id"] = i;  // ids are positions in trace_data
    if (entries[i]["parent_id"].is_number() && entries[i]["parent_id"].get<int64_t>() >= 3)
      entries[i]["parent_id"] = entries[i]["parent_id"].get<int64_t>() + 1;
  }
  auto doc = TraceDocument::parse(document(entries), "lines.json");
  EXPECT_EQ(doc.size(), 9u);
  EXPECT_EQ(doc.executed_lines, 2u);
  json step = json::parse(doc.entry_json(2));
  ASSERT_TRUE(step.contains("executed_lines"));
  EXPECT_EQ(step["executed_lines"][0]["lines"], json({9, 10}));
  EXPECT_FALSE(json::parse(doc.entry_json(3)).contains("executed_lines"));
  EXPECT_EQ(doc.parent, (std::vector<int32_t>{-1, 0, 1, 2, 1, 4, 1, 6, 1}));
}

TEST(TraceDocument, TraceWheresStackIsShownOutermostFirst) {
  json frames = json::array();
  for (int depth : {2, 1, 0}) {
    frames.push_back({{"location", "demo.py:" + std::to_string(10 + depth)},
                      {"name", "f" + std::to_string(depth)},
                      {"depth", depth},
                      {"is_external", false},
                      {"call_type", "function_call"}});
  }
  auto doc =
      TraceDocument::parse(document(frames, {{"breakpoint", "/p/demo.py:12"}, {"iterations", 1}}), "w.json");
  EXPECT_TRUE(doc.is_stack);
  ASSERT_EQ(doc.size(), 3u);
  EXPECT_EQ(doc.strings[doc.name[0]], "f0");
  EXPECT_EQ(doc.parent, (std::vector<int32_t>{-1, 0, 1}));
  // Only a top-level key says so; and it must come before the stack.
  EXPECT_FALSE(TraceDocument::parse(document(repeated_calls(), {{"note", "breakpoint"}}), "t.json").is_stack);
  std::string late =
      R"({"trace_data": )" + frames.dump() + R"(, "metadata": {"breakpoint": "/p/demo.py:12"}})";
  EXPECT_NE(error_of(late).find("comes after trace_data"), std::string::npos) << error_of(late);
}

TEST(TraceDocument, TestEntries) {
  json entries = json::array({call(0, nullptr, 0, "tests/test_a.py::test_one", "tests/test_a.py:3"),
                              call(1, 0, 1, "helper", "a.py:3")});
  entries[0]["event"] = "test";
  entries[0]["call_type"] = "test";
  entries[0]["test_outcome"] = "failed";
  auto doc = TraceDocument::parse(document(entries), "t.json");
  EXPECT_EQ(doc.flags[0], kTest | kTestFailed);
  EXPECT_EQ(doc.strings[doc.call_type[0]], "test");
  EXPECT_EQ(doc.summary.tests, 1u);
  EXPECT_EQ(doc.summary.tests_failed, 1u);
  EXPECT_EQ(doc.summary.calls, 1u);
}

TEST(TraceDocument, BadDocumentsSayWhatIsWrong) {
  std::string good = document(repeated_calls());
  EXPECT_NE(error_of(good.substr(0, good.size() / 2)).find("not valid JSON"), std::string::npos)
      << error_of(good.substr(0, good.size() / 2));
  EXPECT_NE(error_of("{\"metadata\": {}}").find("no \"trace_data\" list"), std::string::npos);
  EXPECT_NE(error_of("{\"trace_data\": 3}").find("\"trace_data\" is not a list"), std::string::npos);
  EXPECT_NE(error_of("42").find("neither a trace document"), std::string::npos);
  EXPECT_NE(error_of("{\"trace_data\": [1]}").find("entry 0 is not an object"), std::string::npos);
  EXPECT_NE(error_of("{\"metadata\": 3, \"trace_data\": []}").find("\"metadata\" is not an object"),
            std::string::npos);

  json entries = repeated_calls();
  entries[3]["id"] = 7;
  EXPECT_NE(error_of(document(entries)).find("entry 3 has id 7"), std::string::npos);

  entries = repeated_calls();
  entries[4]["parent_id"] = 2;  // step #2 ended when #3 (its last descendant) was followed by #4's sibling
  entries[5]["parent_id"] = 3;  // #3 is not open any more
  EXPECT_NE(error_of(document(entries)).find("call order"), std::string::npos) << error_of(document(entries));

  entries = repeated_calls();
  entries[2]["parent_id"] = 5;
  EXPECT_NE(error_of(document(entries)).find("entry 2 has parent_id 5, which is not a call before it"),
            std::string::npos);

  entries = callback_calls();
  entries[3]["caller_id"] = 3;
  EXPECT_NE(error_of(document(entries)).find("entry 3 has caller_id 3, which is not a call before it"),
            std::string::npos);

  entries = json::array({call(0, nullptr, 0, "a", "m.py:1", "function_call", 7),
                         call(1, nullptr, 0, "b", "m.py:2", "function_call", 8),
                         call(2, nullptr, 0, "c", "m.py:3", "function_call", 7)});
  EXPECT_NE(error_of(document(entries)).find("not together"), std::string::npos);
}

TEST(TraceDocument, StringsAndSpacingDoNotConfuseTheOuterReading) {
  // Brackets, quotes and backslashes inside strings, keys the viewer does
  // not know (with nested values), spacing everywhere, metadata last.
  json entries = repeated_calls();
  entries[1]["arguments"] = {
      {"s", "]}\\\"{["}, {"t", "\\"}, {"nested", {{"a", json::array({1, {{"b", "}"}}})}}}};
  entries[2]["name"] = "q\"}]";
  std::string text = "\n {\n \"note\" : [ {\"x\": \"]\"}, [] ] ,\r\n\t\"trace_data\" :\n" + entries.dump(2) +
                     " ,  \"metadata\" : {\"original_command\": \"a ] b\"}\n}\n  ";
  auto doc = TraceDocument::parse(text, "t.json");
  EXPECT_EQ(doc.size(), entries.size());
  EXPECT_EQ(doc.strings[doc.name[2]], "q\"}]");
  EXPECT_EQ(json::parse(doc.raw_entry(1)), entries[1]);
  EXPECT_EQ(json::parse(doc.metadata())["original_command"], "a ] b");
  // A key may be written with escapes.
  EXPECT_EQ(TraceDocument::parse(R"({"trace\u005fdata": [{"name": "f"}]})", "t.json").size(), 1u);

  std::string good = document(repeated_calls());
  for (const auto& [bad, phrase] : std::vector<std::pair<std::string, std::string>>{
           {good + "x", "more text after the document"},
           {"hello", "not valid JSON"},
           {"{\"trace_data\": [{\"a\": [1}]}", "a bracket does not match"},
           {"{\"trace_data\": [{\"a\": \"open}]}", "a string is not closed"},
           {"{\"trace_data\": [{\"a\": 1} {\"a\": 2}]}", "a comma or the end of trace_data is missing"},
           {"{\"trace_data\": [] \"x\": 1}", "a comma or the end of the object is missing"},
           {"{\"trace_data\": [{\"name\": tru}]}", "entry 0"},
           {"{\"trace_data\": [" + std::string(2000, '[') + "]}",
            "entry 0 is nested more than 1024 levels deep"},
           {"{\"x\": " + std::string(2000, '[') + ", \"trace_data\": []}", "its \"x\" is nested more than"},
           {"{\"x\": [1 2], \"trace_data\": []}", "not valid JSON (in its \"x\")"},
           {"{\"trace_data\": [], \"trace_data\": []}", "two \"trace_data\" lists"},
           {"{\"metadata\": {}, \"metadata\": {}, \"trace_data\": []}", "two \"metadata\" objects"},
           {"{\"trace_data\": [{}, {\"name\": \"a\xff"
            "b\"}]}",
            "The input is not valid UTF-8) in entry 1"},
           {"{\"trace_data\": [{\"name\": \"" + std::string(65 << 20, 'a') + "\"}]}",
            "entry 0 is larger than 64 MiB"},
       }) {
    EXPECT_NE(error_of(bad).find(phrase), std::string::npos) << error_of(bad);
  }
}

TEST(TraceDocument, FilesThatCannotBeRead) {
  auto load_error = [](const std::string& path) -> std::string {
    try {
      TraceDocument::load(path);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_EQ(load_error("/nonexistent/t.json"), "cannot read /nonexistent/t.json: No such file or directory");
  EXPECT_EQ(load_error("/tmp"), "cannot read /tmp: it is a directory");
  std::string empty =
      std::filesystem::temp_directory_path() / ("empty-" + std::to_string(getpid()) + ".json");
  std::ofstream(empty).close();
  EXPECT_EQ(load_error(empty), "cannot show " + empty + ": the file is empty");
  std::filesystem::remove(empty);
}

// The model as the page sees it: the header, with each column read into a
// list. Read in pieces of `piece` bytes, which split values.
json decoded_model(const ViewModel& model, size_t piece) {
  std::string bytes;
  std::vector<char> buffer(piece);
  for (size_t n; (n = model.read(bytes.size(), buffer.data(), piece)) > 0;) bytes.append(buffer.data(), n);
  EXPECT_EQ(bytes.size(), model.size());
  uint32_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 4);
  json out = json::parse(bytes.substr(8, header_length));
  for (const char* table : {"calls", "groups"}) {
    size_t count = out[table]["count"];
    for (auto& [name, column] : out[table]["columns"].items()) {
      size_t offset = 8 + header_length + column["offset"].get<size_t>();
      EXPECT_EQ(offset % 8, 0u) << name;
      json values = json::array();
      for (size_t i = 0; i < count; ++i) {
        if (column["type"] == "i32") {
          int32_t v;
          std::memcpy(&v, bytes.data() + offset + 4 * i, 4);
          values.push_back(v);
        } else if (column["type"] == "f64") {
          double v;
          std::memcpy(&v, bytes.data() + offset + 8 * i, 8);
          values.push_back(static_cast<int64_t>(v));
        } else {
          values.push_back(static_cast<uint8_t>(bytes[offset + i]));
        }
      }
      out[table][name] = values;
    }
  }
  return out;
}

TEST(ViewModel, ColumnsAndSettings) {
  auto doc = TraceDocument::parse(document(repeated_calls()), "t.json");
  ViewModel view(
      doc,
      {.trace_path = "/data/t.json", .patterns = false, .hide_imports = true, .suggested_save = "t_f.json"});
  json model = decoded_model(view, 7);
  EXPECT_EQ(decoded_model(view, 1 << 20), model);
  EXPECT_EQ(model["calls"]["duration"][5], 1005);
  EXPECT_EQ(model["calls"]["start"][5], -1);  // this document has no start times
  EXPECT_EQ(model["calls"]["flags"][0], 0);
  EXPECT_EQ(model["trace"]["name"], "t.json");
  EXPECT_EQ(model["trace"]["directory"], "/data");
  EXPECT_EQ(model["trace"]["suggested_save"], "t_f.json");
  EXPECT_EQ(model["options"]["patterns"], false);
  EXPECT_EQ(model["options"]["hide_imports"], true);
  EXPECT_EQ(model["metadata"]["original_command"], "trace_program demo.py");
  EXPECT_EQ(model["summary"]["calls"], 9);
  EXPECT_EQ(model["summary"]["call_types"]["external_call"], 1);
  EXPECT_EQ(model["calls"]["count"], 9);
  EXPECT_EQ(model["calls"]["parent"], json({-1, 0, 1, 2, 1, 4, 1, 6, 1}));
  EXPECT_EQ(model["calls"]["end"][2], 4);
  EXPECT_EQ(model["strings"][model["calls"]["qualname"][3].get<int>()], "leaf");
  EXPECT_EQ(model["groups"]["count"], 1);
  EXPECT_EQ(model["groups"]["template_end"], json({4}));
}

TEST(ViewModel, ArgumentPreviews) {
  EXPECT_EQ(argument_preview(R"({"n": "3", "s": "'a  '", "flag": true , "x": 1.5 })", 120),
            "n=3, s='a  ', flag=true, x=1.5");
  // Nested values compacted, as written otherwise.
  EXPECT_EQ(argument_preview("{\"a\": {\n  \"x\": [1, 2],\n  \"k\": \"a b\"\n}}", 120),
            R"(a={"x":[1,2],"k":"a b"})");
  EXPECT_EQ(argument_preview("{}", 120), "");
  EXPECT_EQ(argument_preview("[1, 2]", 120), "");
  std::string cut = argument_preview(R"({"text": ")" + std::string(200, 'x') + R"("})", 20);
  EXPECT_EQ(cut, "text=" + std::string(12, 'x') + "…");
  // Arguments too large to parse for a row: their first bytes.
  std::string huge = "{\"a\": \"" + std::string(100000, 'y') + "\"}";
  EXPECT_EQ(argument_preview(huge, 20), "\"a\":\"" + std::string(12, 'y') + "…");
}

TEST(SaveName, PlainNamesOnly) {
  EXPECT_EQ(checked_save_name("demo_filtered"), "demo_filtered.json");
  EXPECT_EQ(checked_save_name("  demo.json "), "demo.json");
  EXPECT_EQ(checked_save_name("a b (2).json"), "a b (2).json");
  for (const char* bad : {"", "   ", "../x.json", "..", "a/b.json", "/etc/passwd", "a\\b.json",
                          ".hidden.json", "x..json", "a\nb.json"}) {
    EXPECT_THROW(checked_save_name(bad), Error) << bad;
  }
  EXPECT_THROW(checked_save_name(std::string(300, 'a')), Error);
}

TEST(FilteredDocument, KeepsTheGivenCallsAndRelinksThem) {
  json entries = repeated_calls();
  json metadata = {{"original_command", "trace_program demo.py"},
                   {"total_frames", 9},
                   {"threads", {{{"thread_id", 100}, {"calls", 9}}, {{"thread_id", 5}, {"calls", 0}}}},
                   {"tests", {{{"nodeid", "t::a"}, {"id", 2}}, {{"nodeid", "t::b"}, {"id", 3}}}},
                   {"patterns", {{"groups", 1}}}};
  auto doc = TraceDocument::parse(document(entries, metadata), "t.json");
  // Drop main (#1) and the first leaf (#3): the steps hang from <module>.
  std::vector<uint32_t> kept{0, 2, 4, 5, 8};
  json out = json::parse(filtered_document(
      doc, kept,
      {.filters = {{"show_external", true}}, .source = "t.json", .applied_at = "2026-11-26T10:00:00+00:00"}));
  const json& data = out["trace_data"];
  ASSERT_EQ(data.size(), 5u);
  EXPECT_EQ(data[1]["name"], "step");
  EXPECT_EQ(data[1]["id"], 1);
  EXPECT_EQ(data[1]["original_id"], 2);
  EXPECT_EQ(data[1]["parent_id"], 0);
  EXPECT_EQ(data[1]["depth"], 1);
  EXPECT_EQ(data[3]["name"], "leaf");
  EXPECT_EQ(data[3]["parent_id"], 2);
  EXPECT_EQ(data[3]["depth"], 2);
  EXPECT_EQ(data[0]["parent_id"], nullptr);
  EXPECT_EQ(data[4]["arguments"], json::object());  // other fields as they were

  const json& m = out["metadata"];
  EXPECT_EQ(m["original_command"], "trace_program demo.py");
  EXPECT_EQ(m["total_frames"], 5);
  EXPECT_EQ(m["filtered"], true);
  EXPECT_EQ(m["filter_applied_at"], "2026-11-26T10:00:00+00:00");
  EXPECT_EQ(m["original_total_calls"], 9);
  EXPECT_EQ(m["filtered_total_calls"], 5);
  EXPECT_EQ(m["filters_applied"]["show_external"], true);
  EXPECT_EQ(m["filtered_from"], "t.json");
  EXPECT_EQ(m["threads"], json({{{"thread_id", 100}, {"calls", 5}}}));
  EXPECT_EQ(m["tests"][0]["id"], 1);
  EXPECT_EQ(m["tests"][1]["id"], nullptr);
  EXPECT_EQ(m["patterns"], nullptr);
  EXPECT_FALSE(out.contains("patterns"));

  // What was written reads back as a trace.
  auto again = TraceDocument::parse(out.dump(), "saved.json");
  EXPECT_EQ(again.parent, (std::vector<int32_t>{-1, 0, 0, 2, 0}));
}

TEST(TraceDocument, TheTreeIsByCallerWhereGiven) {
  auto doc = TraceDocument::parse(document(callback_calls()), "t.json");
  EXPECT_EQ(doc.parent, (std::vector<int32_t>{-1, 0, 1, 2, 3}));
  EXPECT_EQ(doc.depth, (std::vector<int32_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(doc.subtree_end, (std::vector<uint32_t>{5, 5, 5, 5, 5}));
}

TEST(FilteredDocument, CallerAndParentAreRelinkedApart) {
  auto doc = TraceDocument::parse(document(callback_calls()), "t.json");
  std::vector<uint32_t> kept{0, 2, 3, 4};  // without main
  json data = json::parse(filtered_document(doc, kept, {}))["trace_data"];
  auto column = [&](const char* key) {
    std::vector<json> values;
    for (const auto& e : data) values.push_back(e[key]);
    return values;
  };
  EXPECT_EQ(column("caller_id"), (std::vector<json>{nullptr, 0, 1, 2}));
  EXPECT_EQ(column("parent_id"), (std::vector<json>{nullptr, 0, 0, 2}));  // external calls are no parents
  EXPECT_EQ(column("depth"), (std::vector<json>{0, 1, 1, 2}));
  EXPECT_EQ(TraceDocument::parse(json{{"trace_data", data}}.dump(), "saved.json").parent,
            (std::vector<int32_t>{-1, 0, 1, 2}));
}

TEST(FilteredDocument, EntriesKeepTheirTextExceptTheRenumberedKeys) {
  // A number no double holds keeps every digit.
  std::string raw =
      R"({"event":"function_call","name":"f","arguments":{"n":1267650600228229401496703205376},)"
      R"("depth":3,"id":7,"parent_id":5})";
  EXPECT_EQ(
      ObjectText(raw, 7).with({{"depth", "1"}, {"id", "0"}, {"parent_id", "null"}, {"original_id", "7"}}),
      R"({"event":"function_call","name":"f","arguments":{"n":1267650600228229401496703205376},)"
      R"("depth":1,"id":0,"parent_id":null,"original_id":7})");
  EXPECT_EQ(ObjectText("{}", 0).with({{"depth", "0"}}), R"({"depth":0})");
  EXPECT_EQ(ObjectText(R"({ "depth" : 2 , "a" : [1, {"depth": 9}] })", 0).with({{"depth", "0"}}),
            R"({ "depth" : 0 , "a" : [1, {"depth": 9}] })");
  EXPECT_EQ(ObjectText(raw, 7).value("id"), "7");
  EXPECT_EQ(ObjectText(raw, 7).value("nope"), std::nullopt);
  EXPECT_THROW(ObjectText("{not json", 4), Error);
}

TEST(FilteredDocument, RejectsIdsThatAreNotCalls) {
  auto doc = TraceDocument::parse(document(repeated_calls()), "t.json");
  std::vector<uint32_t> out_of_range{0, 9};
  std::vector<uint32_t> unsorted{2, 1};
  EXPECT_THROW(filtered_document(doc, out_of_range, {}), Error);
  EXPECT_THROW(filtered_document(doc, unsorted, {}), Error);
  std::vector<uint32_t> none;
  EXPECT_EQ(json::parse(filtered_document(doc, none, {}))["trace_data"], json::array());
}

TEST(ViewOptions, FlagsAnywhere) {
  auto o = parse_view_options({"t.json"});
  EXPECT_EQ(o.trace, "t.json");
  EXPECT_EQ(o.port, 8080);
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_TRUE(o.patterns);
  EXPECT_FALSE(o.hide_imports);
  // A flag in the port's place is a flag (the original script took it as the port).
  o = parse_view_options({"t.json", "--no-patterns", "9000", "--hide-imports"});
  EXPECT_EQ(o.port, 9000);
  EXPECT_FALSE(o.patterns);
  EXPECT_TRUE(o.hide_imports);
  o = parse_view_options({"--hide-imports", "t.json", "--host", "0.0.0.0"});
  EXPECT_EQ(o.host, "0.0.0.0");
  EXPECT_EQ(parse_view_options({"t.json", "--host=::1"}).host, "::1");
  EXPECT_EQ(parse_view_options({"t.json", "--allow-host", "box", "--allow-host=box.lan"}).allowed_hosts,
            (std::vector<std::string>{"box", "box.lan"}));
  EXPECT_TRUE(parse_view_options({"--help"}).help);
}

TEST(ViewOptions, Mistakes) {
  EXPECT_THROW(parse_view_options({}), UsageError);
  EXPECT_THROW(parse_view_options({"t.json", "80a"}), UsageError);
  EXPECT_THROW(parse_view_options({"t.json", "0"}), UsageError);
  EXPECT_THROW(parse_view_options({"t.json", "70000"}), UsageError);
  EXPECT_THROW(parse_view_options({"t.json", "--no-pattern"}), UsageError);
  EXPECT_THROW(parse_view_options({"t.json", "8080", "extra"}), UsageError);
  EXPECT_THROW(parse_view_options({"t.json", "--host"}), UsageError);
  EXPECT_THROW(parse_view_options({"t.json", "--allow-host"}), UsageError);
  EXPECT_THROW(parse_view_options({"t.json", "--allow-host", "box:8080"}), UsageError);
  EXPECT_THROW(parse_view_options({"t.json", "--allow-host", "http://box"}), UsageError);
  EXPECT_THROW(parse_view_options({"t.json", "--export", "svg", "-o", "x"}), UsageError);
  EXPECT_THROW(parse_view_options({"t.json", "--export", "chrome"}), UsageError);
  EXPECT_THROW(parse_view_options({"t.json", "-o", "x"}), UsageError);
  EXPECT_THROW(parse_view_options({"t.json", "8080", "--export", "chrome", "-o", "x"}), UsageError);
  ViewOptions exporting = parse_view_options({"--export=speedscope", "t.json", "--output", "t.ss.json"});
  EXPECT_EQ(exporting.export_format, "speedscope");
  EXPECT_EQ(exporting.output, "t.ss.json");
}

// <module> (0-1000 ns) runs main (100-900), which runs step (200-300,
// calling leaf 220-270) and step again (400-700, calling leaf that never
// returned); a second thread runs worker (50-110).
std::string timed_document() {
  json entries = json::array({call(0, nullptr, 0, "<module>", "demo.py", "module_execution"),
                              call(1, 0, 1, "main", "demo.py:5"), call(2, 1, 2, "step", "demo.py:9"),
                              call(3, 2, 3, "leaf", "demo.py:12"), call(4, 1, 2, "step", "demo.py:9"),
                              call(5, 4, 3, "leaf", "demo.py:12"),
                              call(6, nullptr, 0, "worker", "w.py:3", "function_call", 200)});
  const int64_t times[][2] = {{0, 1000}, {100, 800}, {200, 100}, {220, 50}, {400, 300}, {420, -1}, {50, 60}};
  for (size_t i = 0; i < entries.size(); ++i) {
    entries[i]["start_ns"] = times[i][0];
    entries[i]["duration_ns"] = times[i][1] < 0 ? json(nullptr) : json(times[i][1]);
  }
  entries[2]["arguments"] = {{"n", "3"}};
  return document(entries);
}

std::string exported(const TraceDocument& doc, ExportFormat format, std::vector<uint32_t> kept = {}) {
  std::string text;
  write_export(doc, format, kept, kept.empty(), [&](std::string_view piece) { text += piece; });
  return text;
}

TEST(Export, ChromeTraceEvents) {
  auto doc = TraceDocument::parse(timed_document(), "t.json");
  json trace = json::parse(exported(doc, ExportFormat::chrome));
  std::vector<json> calls, names;
  for (const json& event : trace["traceEvents"]) (event["ph"] == "X" ? calls : names).push_back(event);
  ASSERT_EQ(calls.size(), 7u);
  EXPECT_EQ(calls[1]["name"], "main");
  EXPECT_EQ(calls[1]["ts"], 0.1);  // microseconds
  EXPECT_EQ(calls[1]["dur"], 0.8);
  EXPECT_EQ(calls[1]["tid"], 100);
  EXPECT_EQ(calls[1]["args"]["location"], "demo.py:5");
  EXPECT_EQ(calls[1]["args"]["call_site"], "site of main");
  EXPECT_EQ(calls[2]["args"]["arguments"], json({{"n", "3"}}));
  // The leaf that never returned ends with its parent.
  EXPECT_EQ(calls[5]["dur"], 0.28);
  EXPECT_EQ(calls[5]["args"]["running_at_end"], true);
  EXPECT_EQ(calls[6]["tid"], 200);
  // One process name, a name per thread.
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0]["name"], "process_name");
  EXPECT_EQ(names[2]["name"], "thread_name");
  EXPECT_EQ(names[2]["tid"], 200);
  // Only the kept calls.
  trace = json::parse(exported(doc, ExportFormat::chrome, {0, 3}));
  EXPECT_EQ(trace["traceEvents"].size(), 3u + 2u);
}

TEST(Export, SpeedscopeEventsNest) {
  auto doc = TraceDocument::parse(timed_document(), "t.json");
  json file = json::parse(exported(doc, ExportFormat::speedscope));
  EXPECT_EQ(file["$schema"], "https://www.speedscope.app/file-format-schema.json");
  const json& frames = file["shared"]["frames"];
  ASSERT_EQ(frames.size(), 5u);  // the two steps and leaves are one frame each
  EXPECT_EQ(frames[1], json({{"name", "main"}, {"file", "demo.py"}, {"line", 5}}));
  ASSERT_EQ(file["profiles"].size(), 2u);
  const json& main_thread = file["profiles"][0];
  EXPECT_EQ(main_thread["unit"], "nanoseconds");
  EXPECT_EQ(main_thread["endValue"], 1000);
  // Replayed: every close matches the innermost open frame, time never goes back.
  std::string replay;
  std::vector<int> open;
  int64_t at = 0;
  for (const json& event : main_thread["events"]) {
    EXPECT_GE(event["at"].get<int64_t>(), at);
    at = event["at"];
    if (event["type"] == "O") {
      open.push_back(event["frame"]);
    } else {
      ASSERT_FALSE(open.empty());
      EXPECT_EQ(open.back(), event["frame"]);
      open.pop_back();
    }
    replay += event["type"].get<std::string>() + std::to_string(event["frame"].get<int>()) + "@" +
              std::to_string(at) + " ";
  }
  EXPECT_TRUE(open.empty());
  EXPECT_EQ(replay, "O0@0 O1@100 O2@200 O3@220 C3@270 C2@300 O2@400 O3@420 C3@700 C2@700 C1@900 C0@1000 ");
  EXPECT_EQ(file["profiles"][1]["events"].size(), 2u);
}

TEST(Export, CollapsedStacksCountSelfTime) {
  auto doc = TraceDocument::parse(timed_document(), "t.json");
  EXPECT_EQ(exported(doc, ExportFormat::collapsed),
            "<module> (demo.py) 200\n"
            "<module> (demo.py);main (demo.py:5) 400\n"
            "<module> (demo.py);main (demo.py:5);step (demo.py:9) 70\n"
            "<module> (demo.py);main (demo.py:5);step (demo.py:9);leaf (demo.py:12) 330\n"
            "worker (w.py:3) 60\n");
  // A kept call counts under its nearest kept ancestor.
  EXPECT_EQ(exported(doc, ExportFormat::collapsed, {0, 3}),
            "<module> (demo.py) 950\n"
            "<module> (demo.py);leaf (demo.py:12) 50\n");
}

// Past a megabyte the exports are written in pieces; each piece ends where
// the next begins, in every format.
TEST(Export, LargeExportsAreWrittenInPieces) {
  json entries = json::array({call(0, nullptr, 0, "main", "big.py:1")});
  const int n = 30000;
  for (int i = 1; i <= n; ++i) entries.push_back(call(i, 0, 1, "f" + std::to_string(i % 7), "big.py:9"));
  for (int i = 0; i <= n; ++i) {
    entries[i]["start_ns"] = i == 0 ? 0 : 10 * i;
    entries[i]["duration_ns"] = i == 0 ? 10 * n + 10 : 5;
  }
  auto doc = TraceDocument::parse(document(entries), "t.json");
  for (ExportFormat format : {ExportFormat::chrome, ExportFormat::speedscope, ExportFormat::collapsed}) {
    std::string text;
    int pieces = 0;
    write_export(doc, format, {}, true, [&](std::string_view piece) {
      text += piece;
      ++pieces;
    });
    if (format == ExportFormat::chrome) {
      EXPECT_GT(pieces, 1);
      EXPECT_EQ(json::parse(text)["traceEvents"].size(), n + 1u + 2u);
    } else if (format == ExportFormat::speedscope) {
      EXPECT_GT(pieces, 1);
      json file = json::parse(text);
      EXPECT_EQ(file["profiles"][0]["events"].size(), 2u * (n + 1));
      EXPECT_EQ(file["shared"]["frames"].size(), 8u);
    } else {
      EXPECT_EQ(text.substr(0, 16), "main (big.py:1) ");
    }
  }
}

// Documents written by hand or by an adversary: the exports stay valid.
TEST(Export, OddDocumentsGiveValidExports) {
  std::string text = timed_document();
  // Values the viewer does not check when it reads the document.
  size_t at = text.find(R"("arguments":{"n":"3"})");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 21, R"("arguments":{"n": tru})");
  auto doc = TraceDocument::parse(text, "t.json");
  json trace = json::parse(exported(doc, ExportFormat::chrome));            // throws if not JSON
  EXPECT_FALSE(trace["traceEvents"][3 + 2]["args"].contains("arguments"));  // step, after 3 metadata events
  EXPECT_EQ(trace["traceEvents"][3 + 2]["args"]["location"], "demo.py:9");

  // Siblings that overlap, a name with line ends, times near the end of int64.
  json entries = json::array({call(0, nullptr, 0, "main", "a.py:1"), call(1, 0, 1, "x\u2028y;z\nw", "a.py:2"),
                              call(2, 0, 1, "late", "a.py:3")});
  const int64_t times[][2] = {{0, 100}, {10, 50}, {40, 30}};
  for (size_t i = 0; i < 3; ++i)
    entries[i]["start_ns"] = times[i][0], entries[i]["duration_ns"] = times[i][1];
  auto odd = TraceDocument::parse(document(entries), "t.json");
  json boxes = json::parse(exported(odd, ExportFormat::chrome))["traceEvents"];
  EXPECT_EQ(boxes[2 + 2]["ts"], 0.06);  // starts after its sibling ends
  EXPECT_EQ(boxes[2 + 2]["dur"], 0.01);
  EXPECT_EQ(exported(odd, ExportFormat::collapsed),
            "main (a.py:1) 40\nmain (a.py:1);x y,z w (a.py:2) 50\nmain (a.py:1);late (a.py:3) 10\n");
  entries[0]["start_ns"] = INT64_MAX - 10;
  entries[0]["duration_ns"] = 100;
  auto far = TraceDocument::parse(document(entries), "t.json");
  EXPECT_EQ(json::parse(exported(far, ExportFormat::chrome))["traceEvents"][2]["dur"], 0.01);

  // A call that never returned lasts to its thread's last call, kept or not:
  // the leaf alone (from 420 ns) to <module>'s end.
  auto timed = TraceDocument::parse(timed_document(), "t.json");
  json kept = json::parse(exported(timed, ExportFormat::chrome, {5}))["traceEvents"];
  EXPECT_EQ(kept[3]["dur"], 0.58);  // after 3 metadata events
}

// A call the tracer closed without its return ends where the next call
// after it starts: its later siblings keep their times.
TEST(Export, ACallThatNeverReturnedEndsWhereTheNextBegins) {
  json entries = json::array({call(0, nullptr, 0, "main", "a.py:1"), call(1, 0, 1, "lost", "a.py:2"),
                              call(2, 1, 2, "inner", "a.py:3"), call(3, 0, 1, "later", "a.py:4")});
  const int64_t times[][2] = {{0, 1000}, {10, -1}, {20, 30}, {100, 50}};
  for (size_t i = 0; i < 4; ++i) {
    entries[i]["start_ns"] = times[i][0];
    entries[i]["duration_ns"] = times[i][1] < 0 ? json(nullptr) : json(times[i][1]);
  }
  auto doc = TraceDocument::parse(document(entries), "t.json");
  json boxes = json::parse(exported(doc, ExportFormat::chrome))["traceEvents"];
  EXPECT_EQ(boxes[2 + 1]["dur"], 0.09);  // lost: 10-100
  EXPECT_EQ(boxes[2 + 3]["ts"], 0.1);    // later: as recorded
  EXPECT_EQ(boxes[2 + 3]["dur"], 0.05);
}

TEST(Export, TracesWithoutTimesAreRefused) {
  auto doc = TraceDocument::parse(document(repeated_calls()), "t.json");
  ASSERT_TRUE(export_problem(doc, {}).has_value());
  EXPECT_NE(export_problem(doc, {}).value().find("start_ns"), std::string::npos);
  std::string written;
  EXPECT_THROW(write_export(doc, ExportFormat::chrome, {}, true, [&](std::string_view p) { written += p; }),
               Error);
  EXPECT_EQ(written, "");
  auto timed = TraceDocument::parse(timed_document(), "t.json");
  EXPECT_FALSE(export_problem(timed, {}).has_value());
  EXPECT_THROW(write_export(timed, ExportFormat::chrome, std::vector<uint32_t>{3, 1}, false,
                            [&](std::string_view p) { written += p; }),
               Error);
  EXPECT_EQ(written, "");
}

TEST(JsonDepth, CountsBracketsOutsideStrings) {
  EXPECT_EQ(json_depth("42"), 0u);
  EXPECT_EQ(json_depth(R"({"a": [1, {"b": []}]})"), 4u);
  EXPECT_EQ(json_depth(R"({"a": "[[[{{{", "b": "\"[["})"), 1u);
  EXPECT_EQ(json_depth(std::string(100000, '[') + std::string(100000, ']')), 100000u);
}

}  // namespace
}  // namespace pytrace::viewer
