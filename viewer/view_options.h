// SPDX-License-Identifier: MIT
// Command line of pytrace_view (and scripts/serve_visualization.sh):
//   TRACE.json [PORT] [--no-patterns] [--hide-imports] [--host ADDRESS] [--allow-host NAME]...
//   TRACE.json --export FORMAT -o FILE
// with the flags anywhere, so a flag in the port's place is still a flag.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace pytrace::viewer {

struct ViewOptions {
  std::string trace;
  uint16_t port = 8080;
  std::string host = "127.0.0.1";
  std::vector<std::string> allowed_hosts;  // more names the page may be reached by (Host header)
  bool patterns = true;
  bool hide_imports = false;
  bool help = false;
  // --export FORMAT -o FILE: write the trace in another format instead of serving it.
  std::string export_format;
  std::string output;
};

// `args` excludes the program name. Throws UsageError.
ViewOptions parse_view_options(const std::vector<std::string>& args);

extern const char* const kViewUsage;

}  // namespace pytrace::viewer
