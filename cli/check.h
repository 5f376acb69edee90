// SPDX-License-Identifier: MIT
// trace_program --check: can this machine trace, and with which Python?
// The kernel's features, the privileges, and every interpreter to be found
// (the one asked for, virtualenvs, PATH, pyenv, uv, conda), each inspected
// and, where the machine allows, traced once for real; for each problem
// its fix.
#pragma once

#include <optional>
#include <string>

namespace pytrace {

// Prints the report on stdout. Returns 0 when the interpreter trace_program
// would use here (or --python's) can be traced, 1 otherwise.
int run_check(const std::string& tool, const std::optional<std::string>& python);

}  // namespace pytrace
