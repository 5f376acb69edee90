// SPDX-License-Identifier: MIT
#include "python_choice.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
constexpr const char* kFindModule = R"PY(import importlib.machinery, sys
path = sys.path
spec = None
for part in sys.argv[1].split("."):
    if spec is not None and path is None:  # a part after a module that is no package
        sys.exit("No module named " + sys.argv[1] + " (" + spec.name + " is not a package)")
    name = part if spec is None else spec.name + "." + part
    spec = importlib.machinery.PathFinder.find_spec(name, path)
    if spec is None:
        sys.exit("No module named " + sys.argv[1])
    path = spec.submodule_search_locations
if path is not None:  # a package runs its __main__
    spec = importlib.machinery.PathFinder.find_spec(spec.name + ".__main__", path)
    if spec is None:
        sys.exit("No module named " + sys.argv[1] + ".__main__; '" + sys.argv[1] + "' is a package and cannot be directly executed")
print("\n" + spec.origin)  # the last line: what a .pth file printed comes before
)PY";

// A .venv found by looking around is used only if nobody but the user
// (and root) can change it or what leads to it: a directory above the
// script, like /tmp or a shared project directory, may hold one that
// another user put there, or swap one in after the check.
bool users_own_venv(const fs::path& venv, uid_t uid) {
  for (const fs::path& dir : {venv, venv / "bin"}) {
    struct stat st;
    if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;  // no links
  }
  return only_user_controls(venv / "bin", uid) && only_user_controls(venv / "bin" / "python", uid);
}

}  // namespace

bool only_user_controls(const fs::path& path, uid_t uid) {
  std::error_code ec;
  fs::path real = fs::canonical(path, ec);
  if (ec) return false;
  fs::path prefix;
  for (const fs::path& part : real) {
    prefix /= part;
    struct stat st;
    if (lstat(prefix.c_str(), &st) != 0) return false;
    if (st.st_uid != uid && st.st_uid != 0) return false;
    bool writable_by_others = st.st_mode & (S_IWGRP | S_IWOTH);
    // In a sticky directory (/tmp) others cannot rename or remove entries
    // they do not own, and every entry on the way is checked to be owned.
    if (writable_by_others && !(S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX))) return false;
  }
  return true;
}

PythonChoice choose_python(const std::optional<std::string>& asked, const std::vector<std::string>& dirs,
                           const std::optional<RunAs>& user) {
  if (asked) return {*asked, "--python", {}};
  ActingAs as_user(user);
  std::error_code ec;
  if (const char* venv = std::getenv("VIRTUAL_ENV"); venv && *venv) {
    fs::path python = fs::path(venv) / "bin" / "python";
    if (fs::exists(python, ec)) return {python.string(), "the active virtualenv, $VIRTUAL_ENV", {}};
  }
  uid_t uid = user ? user->uid : geteuid();
  std::vector<std::string> passed_over;
  for (const std::string& start : dirs) {
    for (fs::path dir = fs::absolute(start, ec);; dir = dir.parent_path()) {
      fs::path venv = dir / ".venv";
      if (fs::exists(venv / "bin" / "python", ec)) {
        if (users_own_venv(venv, uid))
          return {(venv / "bin" / "python").string(), "the virtualenv " + venv.string(), passed_over};
        std::string note = "not using " + venv.string() +
                           ": it is not yours, or someone else can change it or a directory above it";
        if (std::find(passed_over.begin(), passed_over.end(), note) == passed_over.end())
          passed_over.push_back(note);
      }
      if (dir == dir.parent_path()) break;
    }
  }
  return {PYTRACE_DEFAULT_PYTHON, "the default", passed_over};
}

std::string module_main_file(const Interpreter& python, const std::string& module,
                             const std::optional<RunAs>& user, const std::vector<std::string>& env) {
  try {
    std::string out =
        run_and_capture({python.executable, "-c", kFindModule, module}, std::chrono::seconds(30), user, &env);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    out = out.substr(out.rfind('\n') + 1);
    if (out.empty()) throw Error("no file for module " + module);
    return fs::absolute(out).lexically_normal().string();
  } catch (const Error& e) {
    std::string why = e.what();
    size_t colon = why.rfind(": ");  // run_and_capture ends with the program's message
    throw Error("cannot run -m " + module + " with " + python.executable + ": " +
                (colon == std::string::npos ? why : why.substr(colon + 2)));
  }
}

}  // namespace pytrace
