// SPDX-License-Identifier: MIT
// One tracing session of a program the tool starts itself: check the
// inputs, load the probes, start the program gated, attach, run, collect,
// write. Shared by the launching front ends.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace pytrace {

struct LaunchSpec {
  std::string tool;                      // name used in messages
  std::string original_command;          // as the user typed it
  std::vector<std::string> python_args;  // after the interpreter: SCRIPT ARGS..., or -m pytest ...
  std::string main_file;                 // the script, absolute; empty if none
  std::string scope;                     // absolute directory
  std::optional<std::string> output;     // JSON file; none: console tree
  std::string python;                    // interpreter asked for
  bool external_calls = true;
  bool imports = true;
  bool show_dunders = false;
  bool verbose = false;
  size_t ring_buffer_mb = 64;
};

// Runs the session and returns the traced program's exit code. Throws Error
// when tracing cannot start or its result cannot be written.
int run_launch_session(const LaunchSpec& spec);

}  // namespace pytrace
