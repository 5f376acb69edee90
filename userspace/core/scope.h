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
  // `roots` are absolute directories, at least one; repeats count once. Files under any of
  // `excluded` (the interpreter's own library directories) are not in scope,
  // unless a root lies inside that directory: a scope asked for explicitly
  // wins over the default exclusions.
  explicit Scope(std::vector<std::string> roots, std::vector<std::string> excluded = {});
  explicit Scope(std::string root, std::vector<std::string> excluded = {})
      : Scope(std::vector<std::string>{std::move(root)}, std::move(excluded)) {}

  const std::string& root() const { return roots_.front(); }
  const std::vector<std::string>& roots() const { return roots_; }
  // The directories left out of every root that does not lie inside them
  // (the standard library); site-packages and dist-packages are left out too.
  const std::vector<std::string>& exclusions() const { return excluded_; }

  // A file is in scope when it lies under a root (compared by whole path
  // components, so /a/proj does not contain /a/proj2), no directory between
  // that root and the file is site-packages or dist-packages, and no
  // excluded directory inside the root holds it.
  bool contains(std::string_view file) const { return matching_root(file) >= 0; }
  // The index of the root that puts `file` in scope (the innermost), or -1.
  int matching_root(std::string_view file) const;

  // The seed's location string: a path relative to the innermost root the
  // file lies under (the first root; for a further one, relative to the
  // directory it is in, so that it starts with the root's name), the path as
  // given otherwise (absolute, or a pseudo-name); then ":line", which module
  // bodies (name "<module>") leave out.
  std::string location(std::string_view file, int line, bool is_module) const;
  std::string display_path(std::string_view file) const;

 private:
  // The innermost root `file` lies under, or -1.
  int innermost_root(std::string_view file) const;

  std::vector<std::string> roots_;
  std::vector<std::string> excluded_;
};

}  // namespace pytrace
