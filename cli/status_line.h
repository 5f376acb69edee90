// SPDX-License-Identifier: MIT
// A live status line on stderr for long work, only when stderr is a
// terminal: rewritten in place, never more than once a second, and only once
// the work has lasted a couple of seconds, so that short runs print nothing.
#pragma once

#include <chrono>
#include <string>

namespace pytrace {

class StatusLine {
 public:
  StatusLine();
  ~StatusLine() { clear(); }
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  // Starts the clock again, for a new piece of work.
  void restart();
  // True when a new line would be shown now (callers compute it only then).
  bool due() const;
  // Shows `text` (on a terminal; elsewhere nothing).
  void show(const std::string& text);
  // Removes the line, before other messages and at the end.
  void clear();
  // Seconds since restart().
  double elapsed() const;

 private:
  using Clock = std::chrono::steady_clock;
  bool terminal_;
  bool shown_ = false;
  Clock::time_point started_;
  Clock::time_point last_;
};

}  // namespace pytrace
