// SPDX-License-Identifier: MIT
#include "core/scope.h"

#include <algorithm>

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

Scope::Scope(std::vector<std::string> roots, std::vector<std::string> excluded) {
  for (auto& root : roots) {
    std::string normal = normalize_path(root);
    if (std::find(roots_.begin(), roots_.end(), normal) == roots_.end()) roots_.push_back(normal);
  }
  if (roots_.empty()) roots_.push_back("/");
  for (auto& dir : excluded) excluded_.push_back(normalize_path(dir));
}

int Scope::innermost_root(std::string_view file) const {
  int found = -1;
  for (size_t i = 0; i < roots_.size(); ++i) {
    if (is_under(file, roots_[i]) && (found < 0 || roots_[i].size() > roots_[found].size()))
      found = static_cast<int>(i);
  }
  return found;
}

int Scope::matching_root(std::string_view raw_file) const {
  std::string file = normalize_path(raw_file);
  int index = innermost_root(file);
  if (index < 0) return -1;
  const std::string& root = roots_[index];
  for (const auto& dir : excluded_) {
    // An exclusion inside the root applies; one the root lies inside does not.
    if (is_under(file, dir) && !(root == dir || is_under(root, dir))) return -1;
  }
  std::string_view rest = std::string_view(file).substr(root == "/" ? 1 : root.size() + 1);
  size_t pos = 0;
  while (true) {
    size_t slash = rest.find('/', pos);
    if (slash == std::string_view::npos) break;  // the last part is the file name
    std::string_view dir = rest.substr(pos, slash - pos);
    if (dir == "site-packages" || dir == "dist-packages") return -1;
    pos = slash + 1;
  }
  return index;
}

std::string Scope::display_path(std::string_view raw_file) const {
  std::string file = normalize_path(raw_file);
  int index = innermost_root(file);
  if (index < 0) return file;
  // Under a further root the path keeps that root's name, so that the same
  // relative path under two roots reads differently.
  std::string_view base = roots_[index];
  if (index > 0) base = base.substr(0, std::max<size_t>(base.rfind('/'), 1));
  return file.substr(base == "/" ? 1 : base.size() + 1);
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
