// SPDX-License-Identifier: MIT
// trace_where's document and report: the stack the breakpoint's Nth hit
// found (TraceModel::breakpoint_hit), in the original tool's schema
// (docs/json-format.md, "trace_where"), and its console report.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "core/scope.h"
#include "core/source_cache.h"
#include "core/trace_model.h"

namespace pytrace {

struct BreakpointSpec {
  std::string file;  // absolute
  int line = 0;
  uint64_t iterations = 1;
};

void write_where_json(const TraceModel& model, const BreakpointSpec& breakpoint, const Scope& scope,
                      SourceCache& sources, std::ostream& out);

// The original's report: each frame, innermost first.
void write_where_report(const TraceModel& model, const BreakpointSpec& breakpoint, const Scope& scope,
                        SourceCache& sources, std::ostream& out);

}  // namespace pytrace
