// SPDX-License-Identifier: MIT
#pragma once

#include <stdexcept>
#include <string>

namespace pytrace {

// A failure the user can act on. The message is complete and is printed as
// is, after the tool's name; the CLI turns it into a non-zero exit.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A mistake on the command line: reported with the usage, exit code 2.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace pytrace
