// SPDX-License-Identifier: MIT
// trace_pytest [pytest args...]: trace a pytest run, one subtree per test.
#include "pytest_session.h"
#include "session.h"

int main(int argc, char** argv) {
  constexpr const char* kTool = "trace_pytest";
  return pytrace::run_tool(
      kTool, [&] { return pytrace::run_pytest_tool(kTool, argc, argv, pytrace::Front::kPytest); });
}
