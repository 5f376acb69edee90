// SPDX-License-Identifier: MIT
#include "core/source_cache.h"

#include <fstream>

namespace pytrace {

std::string_view strip(std::string_view text) {
  const char* space = " \t\r\n\f\v";
  size_t first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  size_t last = text.find_last_not_of(space);
  return text.substr(first, last - first + 1);
}

const std::vector<std::string>* SourceCache::lines_of(const std::string& file) {
  auto it = files_.find(file);
  if (it == files_.end()) {
    std::optional<std::vector<std::string>> lines;
    if (!file.empty() && file.front() == '/') {
      std::ifstream in(file, std::ios::binary);
      if (in) {
        lines.emplace();
        std::string line;
        while (std::getline(in, line)) lines->push_back(std::move(line));
      }
    }
    it = files_.emplace(file, std::move(lines)).first;
  }
  return it->second ? &*it->second : nullptr;
}

std::optional<std::string_view> SourceCache::line(const std::string& file, int number) {
  const auto* lines = lines_of(file);
  if (!lines || number < 1 || static_cast<size_t>(number) > lines->size()) return std::nullopt;
  return std::string_view((*lines)[number - 1]);
}

}  // namespace pytrace
