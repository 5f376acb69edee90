// SPDX-License-Identifier: MIT
#include "status_line.h"

#include <unistd.h>

#include <cstdio>

namespace pytrace {

namespace {
constexpr double kQuietSeconds = 2.0;  // short work shows no line
constexpr double kEverySeconds = 1.0;
}  // namespace

StatusLine::StatusLine() : terminal_(isatty(STDERR_FILENO) == 1) {
  restart();
}

void StatusLine::restart() {
  started_ = Clock::now();
  last_ = started_;
}

double StatusLine::elapsed() const {
  return std::chrono::duration<double>(Clock::now() - started_).count();
}

bool StatusLine::due() const {
  if (!terminal_) return false;
  auto now = Clock::now();
  return std::chrono::duration<double>(now - started_).count() >= kQuietSeconds &&
         std::chrono::duration<double>(now - last_).count() >= kEverySeconds;
}

void StatusLine::show(const std::string& text) {
  last_ = Clock::now();
  if (!terminal_) return;  // a log file gets no control sequences, nor a line a second
  std::fprintf(stderr, "\r%s\033[K", text.c_str());
  std::fflush(stderr);
  shown_ = true;
}

void StatusLine::clear() {
  if (!shown_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace pytrace
