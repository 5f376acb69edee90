// SPDX-License-Identifier: MIT
// trace_where SCRIPT [args...] --file F --line L --iterations N: run a script
// until a line runs for the Nth time, and save the stack that got there.
#include <filesystem>
#include <iostream>

#include "options.h"
#include "session.h"
#include "version.h"

namespace {

constexpr const char* kTool = "trace_where";

int run(int argc, char** argv) {
  namespace fs = std::filesystem;
  using namespace pytrace;
  ProgramOptions options = parse_options(std::vector<std::string>(argv + 1, argv + argc), Front::kWhere);
  if (options.help) {
    std::cout << kWhereUsage;
    return 0;
  }
  if (options.version) {
    std::cout << kTool << " " << PYTRACE_VERSION << "\n";
    return 0;
  }

  std::string stem = options.pid      ? "pid" + std::to_string(*options.pid)
                     : options.module ? *options.module
                                      : fs::path(options.script).stem().string();
  // The original's default name, and its rule: .json is added when missing.
  std::string output = options.output.value_or("trace_where_output_" + stem);
  if (output != "-" && !output.ends_with(".json")) output += ".json";
  options.output = output;

  if (options.pid) {
    AttachSpec spec;
    apply_options(spec, options, kTool, argc, argv);
    apply_breakpoint(spec, options);
    spec.pid = *options.pid;
    spec.duration_s = options.duration;
    return run_attach_session(spec);
  }

  LaunchSpec spec;
  apply_options(spec, options, kTool, argc, argv);
  spec.python = options.python;
  apply_breakpoint(spec, options);
  apply_program(spec, options);
  return run_launch_session(spec);
}

}  // namespace

int main(int argc, char** argv) {
  return pytrace::run_tool(kTool, [&] { return run(argc, argv); });
}
