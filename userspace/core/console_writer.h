// SPDX-License-Identifier: MIT
// The trace as an indented call tree for the terminal.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "core/scope.h"
#include "core/trace_model.h"

namespace pytrace {

std::string format_duration(uint64_t ns);

// One line per logged call:  name  location  (duration)  [type]
// Types other than plain function and method calls are shown in brackets;
// calls that never returned say so. Threads get a heading when there are
// several.
void write_console_tree(const TraceModel& model, const Scope& scope, std::ostream& out);

}  // namespace pytrace
