// SPDX-License-Identifier: MIT
#include "core/json_writer.h"

#include "core/json_text.h"
#include "core/test_runs.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "pipeline.h"

namespace pytrace {
namespace {

using testing::kClassBody;
using testing::kFunction;
using testing::kGenerator;
using testing::Pipeline;
using testing::RecordStream;

nlohmann::ordered_json write(Pipeline& pipeline, const TraceModel& model) {
  std::ostringstream out;
  write_json(model, pipeline.scope, pipeline.sources, out);
  return nlohmann::ordered_json::parse(out.str());
}

std::vector<std::string> keys(const nlohmann::ordered_json& object) {
  std::vector<std::string> names;
  for (const auto& item : object.items()) names.push_back(item.key());
  return names;
}

TEST(JsonWriter, SeedKeysInTheSeedsOrderThenAdditiveOnes) {
  RecordStream s;
  auto module = s.code("/p/main.py", "<module>", 1, kClassBody);
  auto f = s.code("/p/main.py", "f", 3, kFunction, "f");
  s.enter(module, 0).enter(f, 3).leave().leave();
  Pipeline pipeline("/p", testing::with_main());
  auto model = pipeline.run(s);
  model->session.original_command = "trace_program main.py";
  model->session.scope_path = "/p";
  model->session.main_file = "/p/main.py";
  model->session.exit_code = 0;
  auto doc = write(pipeline, *model);

  EXPECT_EQ(keys(doc), (std::vector<std::string>{"metadata", "trace_data"}));
  auto meta_keys = keys(doc["metadata"]);
  std::vector<std::string> seed_meta{"original_command", "scope_path", "timestamp", "main_file",
                                     "total_frames"};
  EXPECT_EQ(std::vector<std::string>(meta_keys.begin(), meta_keys.begin() + 5), seed_meta);
  EXPECT_EQ(doc["metadata"]["total_frames"], 2);
  EXPECT_EQ(doc["metadata"]["schema_version"], kSchemaVersion);
  EXPECT_EQ(doc["metadata"]["loss"]["unmatched_returns"], 0);

  const auto& module_entry = doc["trace_data"][0];
  const auto& call = doc["trace_data"][1];
  std::vector<std::string> seed_entry{"event",     "location",  "parent_location", "parent_call",
                                      "name",      "arguments", "depth",           "is_external",
                                      "call_type", "args",      "kwargs",          "number_of_calls"};
  auto call_keys = keys(call);
  EXPECT_EQ(std::vector<std::string>(call_keys.begin(), call_keys.begin() + 12), seed_entry);
  EXPECT_FALSE(module_entry.contains("number_of_calls"));  // only counted call types carry it
  EXPECT_EQ(module_entry["location"], "main.py");
  EXPECT_EQ(module_entry["parent_location"], nullptr);
  EXPECT_EQ(module_entry["call_type"], "module_execution");
  EXPECT_EQ(call["location"], "main.py:3");
  EXPECT_EQ(call["depth"], 1);
  EXPECT_EQ(call["id"], 1);
  EXPECT_EQ(call["parent_id"], 0);
  EXPECT_EQ(call["file"], "/p/main.py");
  EXPECT_EQ(call["line"], 3);
  EXPECT_EQ(call["duration_ns"], 10);
  EXPECT_EQ(call["arguments"], nlohmann::json::object());
}

TEST(JsonWriter, TestEntries) {
  RecordStream s(7);
  auto pytest = s.code("/lib/pytest.py", "main", 1);
  auto test = s.code("/p/t.py", "test_a", 3);
  s.on_thread(7).running({pytest}).enter(test, 3).leave();
  Pipeline pipeline;
  auto model = pipeline.run(s);
  group_calls_by_test(*model, {TestRun{"t.py::test_a", "/p/t.py", 3, 7, 1025, 1045, "failed"}},
                      RecordStream::kOrigin);
  auto doc = write(pipeline, *model);
  const auto& entries = doc["trace_data"];
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0]["event"], "test");
  EXPECT_EQ(entries[0]["name"], "t.py::test_a");
  EXPECT_EQ(entries[0]["location"], "t.py:3");
  EXPECT_EQ(entries[0]["call_type"], "test");
  EXPECT_EQ(entries[0]["test_outcome"], "failed");
  EXPECT_EQ(entries[0]["duration_ns"], 20);
  EXPECT_EQ(entries[1]["parent_id"], 0);
  EXPECT_EQ(entries[1]["depth"], 1);
  EXPECT_EQ(doc["metadata"]["tests"][0]["id"], 0);
  EXPECT_EQ(doc["metadata"]["tests"][0]["outcome"], "failed");
}

TEST(JsonWriter, FramesRunningBeforeTheTraceSaySo) {
  RecordStream s;
  auto module = s.code("/p/m.py", "<module>", 1, kClassBody);
  auto f = s.code("/p/m.py", "f", 3);
  s.running({module}).enter(f, 3).leave();
  Pipeline pipeline;
  auto model = pipeline.run(s);
  auto doc = write(pipeline, *model);
  EXPECT_EQ(doc["trace_data"][0]["started_before_trace"], true);
  EXPECT_FALSE(doc["trace_data"][1].contains("started_before_trace"));
}

TEST(JsonWriter, PatternGroupsReferToEntries) {
  RecordStream s;
  auto main = s.code("/p/a.py", "main", 1);
  auto step = s.code("/p/a.py", "step", 5);
  auto helper = s.code("/p/a.py", "helper", 9);
  s.enter(main, 1);
  for (int i = 0; i < 3; ++i) s.enter(step, 5).enter(helper, 9).leave().leave();
  s.leave();
  Pipeline pipeline;
  auto model = pipeline.run(s);
  EXPECT_FALSE(write(pipeline, *model).contains("patterns"));  // not looked for: no key
  model->find_patterns(PatternOptions{});
  auto doc = write(pipeline, *model);
  const auto& groups = doc["patterns"]["groups"];
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0]["parent_id"], 0);
  EXPECT_EQ(groups[0]["first_id"], 1);
  EXPECT_EQ(groups[0]["last_id"], 6);
  EXPECT_EQ(groups[0]["period"], 1);
  EXPECT_EQ(groups[0]["repetitions"], 3);
  EXPECT_EQ(groups[0]["total_calls"], 6);
  EXPECT_EQ(groups[0]["template_ids"], nlohmann::json::array({1}));
  EXPECT_EQ(groups[0]["outer"], nullptr);
  EXPECT_EQ(doc["patterns"]["max_period"], 64);
  EXPECT_EQ(doc["metadata"]["patterns"]["groups"], 1);
  EXPECT_EQ(doc["metadata"]["patterns"]["calls_in_groups"], 6);
  EXPECT_EQ(doc["metadata"]["patterns"]["largest"][0]["first_id"], 1);
  EXPECT_EQ(doc["trace_data"].size(), 7u);  // the flat list stays whole
}

TEST(JsonWriter, InvalidUtf8IsReplacedNotFatal) {
  RecordStream s;
  // A name cut inside a UTF-8 sequence, as the probe's fixed buffers can.
  auto f = s.code("/p/a.py", std::string("caf\xc3", 4), 1);
  s.enter(f, 1).leave();
  Pipeline pipeline;
  auto model = pipeline.run(s);
  auto doc = write(pipeline, *model);
  EXPECT_EQ(doc["trace_data"][0]["name"], "caf\xef\xbf\xbd");
  EXPECT_EQ(doc["trace_data"][0]["name_bytes"], "Y2Fmww==");  // base64 of the four bytes
  EXPECT_FALSE(doc["trace_data"][0].contains("file_bytes"));  // the path is UTF-8
}

TEST(JsonWriter, PathsThatAreNotUtf8KeepTheirBytes) {
  RecordStream s;
  auto f = s.code("/p/d\xffx/s\xfe.py", "f", 1);
  s.enter(f, 1).leave();
  Pipeline pipeline;
  auto model = pipeline.run(s);
  auto doc = write(pipeline, *model);
  ASSERT_EQ(doc["trace_data"].size(), 1u);
  EXPECT_EQ(doc["trace_data"][0]["file"], "/p/d\xef\xbf\xbdx/s\xef\xbf\xbd.py");
  EXPECT_EQ(doc["trace_data"][0]["file_bytes"], "L3AvZP94L3P+LnB5");  // base64 of /p/d\xffx/s\xfe.py
}

TEST(JsonWriter, EmptyTraceIsAValidDocument) {
  Pipeline pipeline;
  auto model = pipeline.run(RecordStream{});
  auto doc = write(pipeline, *model);
  EXPECT_TRUE(doc["trace_data"].empty());
  EXPECT_EQ(doc["metadata"]["total_frames"], 0);
}

TEST(JsonWriter, IdsRunAcrossThreadsAndParentsStayInTheirThread) {
  RecordStream s;
  auto f = s.code("/p/a.py", "f", 1);
  s.on_thread(1).enter(f, 1).enter(f, 1);
  s.on_thread(2).enter(f, 1).enter(f, 1).leave().leave();
  s.on_thread(1).leave().leave();
  Pipeline pipeline;
  auto model = pipeline.run(s);
  auto doc = write(pipeline, *model);
  ASSERT_EQ(doc["trace_data"].size(), 4u);
  EXPECT_EQ(doc["trace_data"][1]["parent_id"], 0);
  EXPECT_EQ(doc["trace_data"][2]["thread_id"], 2);
  EXPECT_EQ(doc["trace_data"][3]["parent_id"], 2);
  EXPECT_EQ(doc["metadata"]["threads"].size(), 2u);
}

}  // namespace
}  // namespace pytrace

namespace pytrace {
namespace {

std::string json_literal(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

TEST(JsonText, EscapesWhatJsonRequires) {
  EXPECT_EQ(json_literal("plain"), "\"plain\"");
  EXPECT_EQ(json_literal("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json_literal("\n\t\r\b\f"), "\"\\n\\t\\r\\b\\f\"");
  EXPECT_EQ(json_literal(std::string("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(json_literal("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d\"");
}

TEST(JsonText, ReplacesInvalidUtf8) {
  const std::string replacement = "\xef\xbf\xbd";
  EXPECT_EQ(json_literal("a\xc3"), "\"a" + replacement + "\"");                  // cut sequence
  EXPECT_EQ(json_literal("\x80"), "\"" + replacement + "\"");                    // lone continuation byte
  EXPECT_EQ(json_literal("\xc0\xaf"), "\"" + replacement + replacement + "\"");  // overlong
  EXPECT_EQ(json_literal("\xed\xa0\x80"),
            "\"" + replacement + replacement + replacement + "\"");  // surrogate
  EXPECT_EQ(json_literal("\xf0\x9f\x90"),
            "\"" + replacement + replacement + replacement + "\"");  // cut 4-byte
  auto parsed = nlohmann::json::parse(json_literal("x\xff\xfe"));    // still a valid document
  EXPECT_EQ(parsed, "x" + replacement + replacement);
}

}  // namespace
}  // namespace pytrace
