// SPDX-License-Identifier: MIT
// The output file of a session, written with the identity of the user who
// ran the tool and never through a name the traced program could swap: it
// appears only when complete, and a killed tool leaves nothing behind.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "loader/child_process.h"

namespace pytrace {

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
