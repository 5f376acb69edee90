// SPDX-License-Identifier: MIT
// One tracing session: check the inputs, load the probes, attach them to
// the program (started here, gated, or already running), collect until it
// ends or the user stops, write. Shared by the front ends.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "loader/line_events.h"
#include "options.h"

namespace pytrace {

struct TraceModel;

struct SessionSpec {
  std::string tool;                   // name used in messages
  std::string original_command;       // as the user typed it
  std::vector<std::string> scopes;    // absolute directories; empty: decide from the target
  std::optional<std::string> output;  // JSON file; none: console tree
  bool external_calls = true;
  bool imports = true;
  bool show_dunders = false;
  bool arg_values = true;
  bool kernel_filter = true;  // the probes leave out calls that cannot be logged (core/scope_verdicts.h)
  bool track_executed_lines = false;  // executed_line entries (launch mode only)
  // trace_where: the breakpoint; the document written is its stack.
  std::optional<LineWatch::Breakpoint> breakpoint;
  bool patterns = true;
  bool text_format = false;   // with output: the call tree as text
  std::string export_format;  // with output: this other tool's format (viewer/trace_export.h)
  bool color = true;
  bool verbose = false;
  size_t ring_buffer_mb = 64;
};

struct LaunchSpec : SessionSpec {
  bool wait_for_children = false;         // after the program, trace its children until they end
  std::vector<std::string> python_args;   // after the interpreter: SCRIPT ARGS..., or -m MODULE ...
  std::string module;                     // with -m: the module run as __main__
  std::vector<std::string> extra_env;     // NAME=VALUE added to the program's environment
  std::vector<int> inherited_fds;         // descriptors the program inherits
  std::string main_file;                  // the script, absolute; empty if none
  std::string description;                // what runs, for messages: the script, "pytest tests -q"...
  std::optional<std::string> python;      // --python; else chosen (choose_python)
  std::vector<std::string> project_dirs;  // where to look for a .venv, innermost first
  std::string required_module;            // a module the interpreter must import, e.g. "pytest"
  // Called with the finished model before it is written, and the time its
  // start_ns count from.
  std::function<void(TraceModel&, uint64_t origin_ns)> complete_model;
};

struct AttachSpec : SessionSpec {
  pid_t pid = 0;
  std::optional<double> duration_s;  // stop after this long; else at Ctrl-C or the process's exit
};

// The settings both tools take from their command line: the tool's name,
// the command as typed, scopes (if given: each a directory the user can
// see, or Error), output and tracing options.
void apply_options(SessionSpec& spec, const ProgramOptions& options, const char* tool, int argc, char** argv);

// What a launch runs: SCRIPT ARGS (checked as the user sees it) or
// -m MODULE ARGS, with the scope, main file and project directories that
// follow from it.
void apply_program(LaunchSpec& spec, const ProgramOptions& options);

// trace_where's and trace_where_pytest's breakpoint (its file made
// absolute, as the user sees it; Error if it is not there), and what goes
// with it: executed lines if asked for, no pattern groups.
void apply_breakpoint(SessionSpec& spec, const ProgramOptions& options);

// A tool's main: runs `body` and turns what it throws into one message and
// an exit code (2 for command-line mistakes, 1 for the rest).
int run_tool(const char* tool, const std::function<int()>& body);

// Runs the program under the probes and returns its exit code. Throws Error
// when tracing cannot start or its result cannot be written.
int run_launch_session(const LaunchSpec& spec);

// Traces a running process until it exits, the duration is over or the
// user presses Ctrl-C, then detaches and leaves it running. Returns 0.
int run_attach_session(const AttachSpec& spec);

// Runs `python` (as the invoking user) on a small program with known calls
// under the probes. Returns what went wrong, or "" when the trace shows
// the calls as they ran.
struct Interpreter;
struct KernelFeatures;
std::string live_probe_check(const std::string& tool, const Interpreter& python,
                             const KernelFeatures& kernel);

}  // namespace pytrace
