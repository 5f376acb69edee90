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

// A mistake on the command line, exit code 2: reported with a pointer to
// the usage, unless it is about what an argument names (an output file
// the user may not write) rather than how the command is written.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message, bool about_usage = true)
      : std::runtime_error(message), about_usage_(about_usage) {}
  bool about_usage() const { return about_usage_; }

 private:
  bool about_usage_;
};

}  // namespace pytrace
