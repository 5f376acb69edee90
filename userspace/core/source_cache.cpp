// SPDX-License-Identifier: MIT
#include "core/source_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pytrace {
namespace {

// Source files are named by the traced program: only a regular file is
// read (a FIFO would block, a device never end), and at most this much.
constexpr off_t kMaxSourceBytes = 16 << 20;

std::optional<std::string> read_source(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<std::string> text;
  struct stat st {};
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= kMaxSourceBytes) {
    text.emplace(static_cast<size_t>(st.st_size), '\0');
    size_t done = 0;
    ssize_t n = 1;
    while (done < text->size() && (n = read(fd, text->data() + done, text->size() - done)) > 0) done += n;
    text->resize(done);
    if (n < 0) text.reset();
  }
  close(fd);
  return text;
}

}  // namespace

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
    std::optional<std::string> text;
    if (!file.empty() && file.front() == '/') text = read_source(file);
    if (text) {
      lines.emplace();
      for (size_t start = 0; start < text->size();) {
        size_t end = text->find('\n', start);
        if (end == std::string::npos) end = text->size();
        lines->emplace_back(*text, start, end - start);
        start = end + 1;
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
