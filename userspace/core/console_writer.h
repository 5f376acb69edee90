// SPDX-License-Identifier: MIT
// The trace as an indented call tree for the terminal.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "core/scope.h"
#include "core/trace_model.h"

namespace pytrace {

std::string format_duration(uint64_t ns);

// `text` safe to show on a terminal: control characters (C0, DEL, C1) and
// bytes that are not UTF-8 become \xNN; names from the traced program can
// hold anything, escape sequences included.
std::string printable(std::string_view text);

struct ConsoleOptions {
  bool color = false;  // ANSI colours, for a terminal
};

// One line per logged call:  name  location  (duration)  [type]
// Types other than plain function and method calls are shown in brackets;
// calls that never returned say so. Pattern groups show their template once
// under a header with the repetition count, as the seed's README drew them;
// a call without callees repeated on its own takes one line ("× 3").
// Threads get a heading when there are several.
void write_console_tree(const TraceModel& model, const Scope& scope, std::ostream& out,
                        const ConsoleOptions& options = {});

}  // namespace pytrace
