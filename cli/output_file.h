// SPDX-License-Identifier: MIT
// The output file of a session, written with the identity of the user who
// ran the tool and never through a name the traced program could swap: it
// appears only when complete, and a killed tool leaves nothing behind.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string>
#include <vector>

#include "loader/child_process.h"

namespace pytrace {

// An ostream's buffer over a file descriptor that keeps the first error.
class FdBuffer : public std::streambuf {
 public:
  explicit FdBuffer(int fd) : fd_(fd), buffer_(1 << 16) {
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }
  int error() const { return error_; }

 protected:
  int_type overflow(int_type c) override {
    if (!flush_buffer()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override { return flush_buffer() ? 0 : -1; }

 private:
  bool flush_buffer() {
    const char* data = pbase();
    size_t left = pptr() - pbase();
    while (left > 0 && error_ == 0) {
      ssize_t n = ::write(fd_, data, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = n < 0 ? errno : EIO;
        break;
      }
      data += n;
      left -= n;
    }
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return error_ == 0;
  }

  int fd_;
  std::vector<char> buffer_;
  int error_ = 0;
};

class OutputFile {
 public:
  // "-" is standard output. Any other path is prepared now, before the
  // program runs, by a helper process that has the identity of `user` (or
  // this process's, when none is given): it creates missing directories,
  // checks the target and opens an unnamed file in its directory. Throws
  // UsageError for a target that is not a regular file or that the user
  // could not write, Error for the rest.
  OutputFile(const std::string& path, std::optional<RunAs> user);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  const std::string& path() const { return path_; }
  bool is_stdout() const { return agent_ < 0; }
  // Writes through `write`, then has the helper put the file in place under
  // its name, replacing what was there. Throws Error, naming the error
  // (a full disk is "No space left on device").
  void commit(const std::function<void(std::ostream&)>& write);

 private:
  std::string path_;
  int file_ = -1;   // the unnamed file (or standard output)
  int agent_ = -1;  // socket to the helper, which waits to link the file
  pid_t agent_pid_ = -1;
};

}  // namespace pytrace
