// SPDX-License-Identifier: MIT
#include "core/scope.h"

namespace pytrace {
namespace {

bool is_under(std::string_view file, std::string_view dir) {
  if (dir == "/") return !file.empty() && file.front() == '/';
  return file.size() > dir.size() && file.substr(0, dir.size()) == dir && file[dir.size()] == '/';
}

}  // namespace

std::string normalize_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::string(path);
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view part = path.substr(pos, next - pos);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    pos = next + 1;
  }
  std::string out;
  for (std::string_view part : parts) {
    out += '/';
    out += part;
  }
  return out.empty() ? "/" : out;
}

Scope::Scope(std::string root, std::vector<std::string> excluded) : root_(normalize_path(root)) {
  for (auto& dir : excluded) excluded_.push_back(normalize_path(dir));
}

size_t Scope::relative_start(std::string_view file) const {
  if (!is_under(file, root_)) return std::string_view::npos;
  return root_ == "/" ? 1 : root_.size() + 1;
}

bool Scope::contains(std::string_view raw_file) const {
  std::string file = normalize_path(raw_file);
  size_t start = relative_start(file);
  if (start == std::string_view::npos) return false;
  for (const auto& dir : excluded_) {
    if (is_under(file, dir)) return false;
  }
  std::string_view rest = std::string_view(file).substr(start);
  size_t pos = 0;
  while (true) {
    size_t slash = rest.find('/', pos);
    if (slash == std::string_view::npos) break;  // the last part is the file name
    std::string_view dir = rest.substr(pos, slash - pos);
    if (dir == "site-packages" || dir == "dist-packages") return false;
    pos = slash + 1;
  }
  return true;
}

std::string Scope::display_path(std::string_view raw_file) const {
  std::string file = normalize_path(raw_file);
  size_t start = relative_start(file);
  if (start == std::string_view::npos) return file;
  return file.substr(start);
}

std::string Scope::location(std::string_view file, int line, bool is_module) const {
  if (file.empty()) return "unknown";
  std::string out = display_path(file);
  if (!is_module && line > 0) {
    out += ':';
    out += std::to_string(line);
  }
  return out;
}

}  // namespace pytrace
