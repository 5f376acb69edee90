// SPDX-License-Identifier: MIT
// trace_program SCRIPT [args...]: trace a Python script from its first bytecode.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "check.h"
#include "core/error.h"
#include "loader/privileges.h"
#include "options.h"
#include "session.h"
#include "version.h"

namespace {

constexpr const char* kTool = "trace_program";

int run(int argc, char** argv) {
  namespace fs = std::filesystem;
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
  std::error_code ec;
  std::string cwd = fs::current_path(ec).string();
  if (options.module) {
    // As python -m: the module is found from the current directory.
    spec.module = *options.module;
    spec.python_args = {"-m", *options.module};
    spec.description = "-m " + *options.module;
    if (spec.scopes.empty()) spec.scopes.push_back(cwd);
    spec.project_dirs = {cwd};
  } else {
    fs::path script = fs::absolute(options.script).lexically_normal();
    {
      ActingAs as_user(invoking_user());  // as the program will: the user's view of the file
      if (!fs::exists(script, ec)) throw Error("script not found: " + options.script);
      if (!fs::is_regular_file(script, ec)) throw Error("not a regular file: " + options.script);
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
