// SPDX-License-Identifier: MIT
// trace_program SCRIPT [args...]: trace a Python script from its first bytecode.
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

  std::error_code ec;
  if (options.scope && !fs::is_directory(*options.scope, ec)) {
    throw Error("scope directory does not exist: " + *options.scope);
  }
  if (options.pid) {
    AttachSpec spec;
    apply_options(spec, options, kTool, argc, argv);
    spec.pid = *options.pid;
    spec.duration_s = options.duration;
    return run_attach_session(spec);
  }

  fs::path script = fs::absolute(options.script).lexically_normal();
  {
    ActingAs as_user(invoking_user());  // as the program will: the user's view of the file
    if (!fs::exists(script, ec)) throw Error("script not found: " + options.script);
    if (!fs::is_regular_file(script, ec)) throw Error("not a regular file: " + options.script);
    if (faccessat(AT_FDCWD, script.c_str(), R_OK, AT_EACCESS) != 0)
      throw Error("cannot read script " + options.script + ": " + std::strerror(errno));
  }

  LaunchSpec spec;
  apply_options(spec, options, kTool, argc, argv);
  spec.wait_for_children = options.wait_for_children;
  if (!options.scope) spec.scope = script.parent_path().string();
  spec.python_args.push_back(script.string());
  spec.python_args.insert(spec.python_args.end(), options.script_args.begin(), options.script_args.end());
  spec.main_file = script.string();
  spec.description = script.string();
  spec.python = options.python.value_or(PYTRACE_DEFAULT_PYTHON);
  return run_launch_session(spec);
}

}  // namespace

int main(int argc, char** argv) {
  return pytrace::run_tool(kTool, [&] { return run(argc, argv); });
}
