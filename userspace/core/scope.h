// SPDX-License-Identifier: MIT
// Which files are the user's code, and how locations are written.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pytrace {

// Lexically normalises an absolute path: collapses "//", "." and "..".
// Other strings (pseudo-files such as "<frozen os>") are returned unchanged.
std::string normalize_path(std::string_view path);

class Scope {
 public:
  // `root` must be an absolute directory. Files under any of `excluded`
  // (the interpreter's own library directories) are never in scope.
  explicit Scope(std::string root, std::vector<std::string> excluded = {});

  const std::string& root() const { return root_; }

  // A file is in scope when it lies under the root (compared by whole path
  // components, so /a/proj does not contain /a/proj2), no directory between
  // the root and the file is site-packages or dist-packages, and it is not
  // in an excluded directory.
  bool contains(std::string_view file) const;

  // The seed's location string: a path relative to the root when the file
  // lies under it, the path as given otherwise (absolute, or a pseudo-name);
  // then ":line", which module bodies (name "<module>") leave out.
  std::string location(std::string_view file, int line, bool is_module) const;
  std::string display_path(std::string_view file) const;

 private:
  // The part of `file` below the root, or npos if it is not under the root.
  size_t relative_start(std::string_view file) const;

  std::string root_;
  std::vector<std::string> excluded_;
};

}  // namespace pytrace
