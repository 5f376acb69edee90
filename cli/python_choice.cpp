// SPDX-License-Identifier: MIT
#include "python_choice.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "loader/privileges.h"
#include "version.h"

namespace pytrace {
namespace {

namespace fs = std::filesystem;

// Finds the module's file the way the import system would, part by part,
// with the path finder: no package is imported, so none of its code runs.
constexpr const char* kFindModule = R"(import importlib.machinery, sys
path = sys.path
spec = None
for part in sys.argv[1].split("."):
    name = part if spec is None else spec.name + "." + part
    spec = importlib.machinery.PathFinder.find_spec(name, path)
    if spec is None:
        sys.exit("No module named " + sys.argv[1])
    path = spec.submodule_search_locations
if path is not None:  # a package runs its __main__
    spec = importlib.machinery.PathFinder.find_spec(spec.name + ".__main__", path)
    if spec is None:
        sys.exit("No module named " + sys.argv[1] + ".__main__; '" + sys.argv[1] + "' is a package and cannot be directly executed")
print(spec.origin)
)";

}  // namespace

PythonChoice choose_python(const std::optional<std::string>& asked, const std::vector<std::string>& dirs,
                           const std::optional<RunAs>& user) {
  if (asked) return {*asked, "--python"};
  ActingAs as_user(user);
  std::error_code ec;
  if (const char* venv = std::getenv("VIRTUAL_ENV"); venv && *venv) {
    fs::path python = fs::path(venv) / "bin" / "python";
    if (fs::exists(python, ec)) return {python.string(), "the active virtualenv, $VIRTUAL_ENV"};
  }
  for (const std::string& start : dirs) {
    for (fs::path dir = fs::absolute(start, ec);; dir = dir.parent_path()) {
      fs::path python = dir / ".venv" / "bin" / "python";
      if (fs::exists(python, ec)) return {python.string(), "the virtualenv " + (dir / ".venv").string()};
      if (dir == dir.parent_path()) break;
    }
  }
  return {PYTRACE_DEFAULT_PYTHON, "the default"};
}

std::string module_main_file(const Interpreter& python, const std::string& module,
                             const std::optional<RunAs>& user) {
  try {
    std::string out =
        run_and_capture({python.executable, "-c", kFindModule, module}, std::chrono::seconds(30), user);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    if (out.empty()) throw Error("no file for module " + module);
    return fs::absolute(out).lexically_normal().string();
  } catch (const Error& e) {
    std::string why = e.what();
    size_t colon = why.rfind(": ");  // run_and_capture ends with the program's message
    throw Error("cannot run -m " + module + ": " +
                (colon == std::string::npos ? why : why.substr(colon + 2)));
  }
}

}  // namespace pytrace
