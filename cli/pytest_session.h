// SPDX-License-Identifier: MIT
// trace_pytest and trace_where_pytest: pytest run as `python -m pytest`,
// with a plugin that says which test runs when.
#pragma once

#include "options.h"

namespace pytrace {

// The tool's main: `front` is kPytest or kWherePytest.
int run_pytest_tool(const char* tool, int argc, char** argv, Front front);

}  // namespace pytrace
