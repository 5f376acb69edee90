// SPDX-License-Identifier: MIT
// trace_program SCRIPT [args...]: trace a Python script from its first bytecode.
#include <iostream>

#include "check.h"
#include "options.h"
#include "session.h"
#include "version.h"

namespace {

constexpr const char* kTool = "trace_program";

int run(int argc, char** argv) {
  using namespace pytrace;
  ProgramOptions options = parse_program_options(std::vector<std::string>(argv + 1, argv + argc));
  if (options.help) {
    std::cout << kProgramUsage;
    return 0;
  }
  if (options.version) {
    std::cout << kTool << " " << PYTRACE_VERSION << "\n";
    return 0;
  }

  if (options.check) return run_check(kTool, options.python);

  if (options.pid) {
    AttachSpec spec;
    apply_options(spec, options, kTool, argc, argv);
    spec.pid = *options.pid;
    spec.duration_s = options.duration;
    return run_attach_session(spec);
  }

  LaunchSpec spec;
  apply_options(spec, options, kTool, argc, argv);
  spec.wait_for_children = options.wait_for_children;
  spec.python = options.python;
  apply_program(spec, options);
  return run_launch_session(spec);
}

}  // namespace

int main(int argc, char** argv) {
  return pytrace::run_tool(kTool, [&] { return run(argc, argv); });
}
