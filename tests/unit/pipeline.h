// SPDX-License-Identifier: MIT
// Runs a built record stream through the whole pure pipeline.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/trace_builder.h"
#include "record_stream.h"

namespace pytrace::testing {

// Options with /p/main.py as the traced script (its body is module_execution).
inline FilterOptions with_main(FilterOptions options = {}) {
  options.main_file = "/p/main.py";
  return options;
}

struct Pipeline {
  explicit Pipeline(std::string root = "/p", FilterOptions options = {}) : scope(std::move(root)) {
    options.origin_ns = RecordStream::kOrigin;
    builder = std::make_unique<TraceBuilder>(scope, options, sources);
  }

  std::unique_ptr<TraceModel> run(const RecordStream& stream) {
    for (const auto& record : stream.records) builder->add(record);
    return builder->finish();
  }

  Scope scope;
  SourceCache sources;
  std::unique_ptr<TraceBuilder> builder;
};

// "name" per entry of the first thread, indented by depth.
inline std::vector<std::string> outline(const ThreadTrace& thread) {
  std::vector<std::string> lines;
  for (const auto& e : thread.entries) {
    lines.push_back(std::string(2 * e.depth, ' ') + e.code->name + (e.is_external ? " [ext]" : ""));
  }
  return lines;
}

}  // namespace pytrace::testing
