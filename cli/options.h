// SPDX-License-Identifier: MIT
// Command-line parsing for trace_program, with the seed's conventions:
// tracer options may come before or after the script, `--` ends them, and
// every other argument goes to the script unchanged and in order. Unlike the
// seed, options are never abbreviated, so a script's --out is its own.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace pytrace {

struct ProgramOptions {
  std::string script;
  std::optional<std::string> module;  // -m MODULE: run a module as python -m does, instead of a script
  std::vector<std::string> script_args;
  std::optional<std::string> output;
  std::vector<std::string> scopes;  // --scope, as often as given
  std::optional<std::string> python;
  std::optional<int> pid;          // attach to this running process instead of starting a script
  std::optional<double> duration;  // with pid: stop after this many seconds
  bool external_calls = true;
  bool imports = true;
  bool show_dunders = false;
  bool arg_values = true;     // capture argument values
  bool kernel_filter = true;  // leave out in the kernel the calls that cannot be logged
  bool track_executed_lines = false;
  // trace_where: the breakpoint, the hit to take the stack at, and whether
  // the program goes on after it.
  std::optional<std::string> where_file;
  std::optional<int> where_line;
  std::optional<uint64_t> iterations;
  bool keep_running = false;  // --continue
  bool patterns = true;       // group repeated calls
  bool text_format = false;   // -o writes the console tree instead of JSON
  std::string export_format;  // -o writes this format of viewer/trace_export.h instead of JSON
  bool color = true;          // colours on a terminal
  bool verbose = false;
  bool wait_for_children = false;  // trace what the program started until it ends too
  bool check = false;              // --check: report whether tracing works here, trace nothing
  bool help = false;
  bool version = false;
  size_t ring_buffer_mb = 64;
};

enum class Front {
  kProgram,      // trace_program: the first argument that is not an option is the script
  kPytest,       // trace_pytest: every argument that is not a tracer option is pytest's
  kWhere,        // trace_where: as kProgram, with a breakpoint
  kWherePytest,  // trace_where_pytest: as kPytest, with a breakpoint
};

// `args` excludes the program name. For kPytest, pytest's arguments are
// left in script_args. Throws UsageError.
ProgramOptions parse_options(const std::vector<std::string>& args, Front front);

inline ProgramOptions parse_program_options(const std::vector<std::string>& args) {
  return parse_options(args, Front::kProgram);
}

extern const char* const kProgramUsage;
extern const char* const kWhereUsage;
extern const char* const kWherePytestUsage;
extern const char* const kPytestUsage;

}  // namespace pytrace
