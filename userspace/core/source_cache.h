// SPDX-License-Identifier: MIT
// Source lines of the traced program's files, read on demand, with the
// identity of whoever runs it (the tool reads them as the invoking user:
// the traced program chooses the names). Only regular files of at most
// 16 MiB are read.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pytrace {

class SourceCache {
 public:
  // Line `number` (1-based) of `file` without its line break; empty when the
  // file cannot be read or is too short. Pseudo-files are never read.
  std::optional<std::string_view> line(const std::string& file, int number);

 private:
  const std::vector<std::string>* lines_of(const std::string& file);
  std::map<std::string, std::optional<std::vector<std::string>>> files_;
};

std::string_view strip(std::string_view text);

}  // namespace pytrace
