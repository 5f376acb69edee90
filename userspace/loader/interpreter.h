// SPDX-License-Identifier: MIT
// Finding out whether a Python interpreter can be traced, and how.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/debug_offsets.h"
#include "loader/child_process.h"
#include "loader/python_elf.h"

namespace pytrace {

struct Interpreter {
  std::string executable;  // absolute path
  std::string version;     // "3.15.2"
  int major = 0;
  int minor = 0;
  std::vector<std::string> library_dirs;  // stdlib directories: never in scope
  PythonElf probe_elf;                    // the executable or libpython
  DebugOffsets offsets;
};

// Runs the interpreter once, as `user` when given (a file the user names is
// never run as root), to learn its version and layout, then checks that
// its probes exist and fire on this version. Throws Error with what is
// wrong and how to get a usable interpreter.
Interpreter inspect_interpreter(const std::string& path, std::optional<RunAs> user);

// The same for the interpreter of a running process, from its memory maps
// and ELF files alone (nothing is run, nothing in the process is touched).
// Paths point through /proc/PID/root, so a process in another mount
// namespace works too.
Interpreter inspect_running_interpreter(int pid);

// How many processes other than `except_pid` have `file` mapped: they
// take the probes' traps while it is traced.
int count_processes_running(const std::string& file, int except_pid);

// The advice that ends the messages about an interpreter that cannot be used.
extern const std::string kHowToGetOne;

// Why a CPython version cannot be traced, or empty if it can.
std::string unusable_version_reason(int major, int minor);

}  // namespace pytrace
