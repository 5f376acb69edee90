// SPDX-License-Identifier: MIT
// An output file that appears only when complete: written to a temporary
// name next to it and renamed at the end, removed if the run fails.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "loader/child_process.h"

namespace pytrace {

class OutputFile {
 public:
  // Creates missing parent directories and the temporary file now, so an
  // unwritable path fails before the program runs. Throws Error.
  OutputFile(const std::string& path, std::optional<RunAs> owner);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  const std::string& path() const { return path_; }
  // Writes through `write`, then moves the file into place. Throws Error.
  void commit(const std::function<void(std::ostream&)>& write);

 private:
  std::string path_;
  std::string temp_path_;
  std::optional<RunAs> owner_;
  bool committed_ = false;
};

}  // namespace pytrace
