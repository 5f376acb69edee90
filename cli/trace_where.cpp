// SPDX-License-Identifier: MIT
// trace_where SCRIPT [args...] --file F --line L --iterations N: run a script
// until a line runs for the Nth time, and save the stack that got there.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "core/error.h"
#include "loader/privileges.h"
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

  std::error_code ec;
  std::string cwd = fs::current_path(ec).string();
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
  if (options.module) {
    spec.module = *options.module;
    spec.python_args = {"-m", *options.module};
    spec.description = "-m " + *options.module;
    if (spec.scopes.empty()) spec.scopes.push_back(cwd);
    spec.project_dirs = {cwd};
  } else {
    fs::path script = fs::absolute(options.script).lexically_normal();
    {
      ActingAs as_user(invoking_user());
      if (!fs::is_regular_file(script, ec)) throw Error("script not found: " + options.script);
      if (faccessat(AT_FDCWD, script.c_str(), R_OK, AT_EACCESS) != 0)
        throw Error("cannot read script " + options.script + ": " + std::strerror(errno));
    }
    spec.python_args = {script.string()};
    spec.main_file = script.string();
    spec.description = script.string();
    if (spec.scopes.empty()) spec.scopes.push_back(script.parent_path().string());
    spec.project_dirs = {script.parent_path().string(), cwd};
  }
  spec.python_args.insert(spec.python_args.end(), options.script_args.begin(), options.script_args.end());
  return run_launch_session(spec);
}

}  // namespace

int main(int argc, char** argv) {
  return pytrace::run_tool(kTool, [&] { return run(argc, argv); });
}
