// SPDX-License-Identifier: MIT
// trace_where_pytest [pytest args...] --file F --line L --iterations N: run
// pytest until a line runs for the Nth time, and save the stack there with
// the test it happened in.
#include "pytest_session.h"
#include "session.h"

int main(int argc, char** argv) {
  constexpr const char* kTool = "trace_where_pytest";
  return pytrace::run_tool(
      kTool, [&] { return pytrace::run_pytest_tool(kTool, argc, argv, pytrace::Front::kWherePytest); });
}
