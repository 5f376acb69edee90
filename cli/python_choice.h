// SPDX-License-Identifier: MIT
// Which interpreter a launched program runs with, and where a module run
// with -m lives.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "loader/child_process.h"
#include "loader/interpreter.h"

namespace pytrace {

struct PythonChoice {
  std::string path;
  std::string why;                       // for the first status line: "--python", "the project's .venv", ...
  std::vector<std::string> passed_over;  // virtualenvs found but not used, and why
};

// In this order: --python; the invoking user's active virtualenv
// ($VIRTUAL_ENV, which sudo drops unless asked to keep it:
// `sudo --preserve-env=VIRTUAL_ENV`); a `.venv` in one of `dirs` or a
// directory above it, if it is the user's (or root's) and only its owner
// can change it; the interpreter setup.sh installed. Looked for with the
// user's identity.
PythonChoice choose_python(const std::optional<std::string>& asked, const std::vector<std::string>& dirs,
                           const std::optional<RunAs>& user);

// True when nobody but `uid` and root can change what `path` leads to:
// the file (links resolved) and every directory above it belong to them,
// and none of those directories is writable by others unless it is
// sticky, like /tmp.
bool only_user_controls(const std::filesystem::path& path, uid_t uid);

// The file `python -m module` runs as __main__, as the interpreter finds it
// from the current directory (a package's __main__.py) in the program's
// environment `env` (the user's site directory included), found without
// importing anything. Throws Error when there is none.
std::string module_main_file(const Interpreter& python, const std::string& module,
                             const std::optional<RunAs>& user, const std::vector<std::string>& env);

}  // namespace pytrace
