// SPDX-License-Identifier: MIT
#include "core/scope.h"

#include <gtest/gtest.h>

namespace pytrace {
namespace {

TEST(Scope, NormalizesAbsolutePathsOnly) {
  EXPECT_EQ(normalize_path("/a//b/./c/../d.py"), "/a/b/d.py");
  EXPECT_EQ(normalize_path("/../x"), "/x");
  EXPECT_EQ(normalize_path("<frozen os>"), "<frozen os>");
  EXPECT_EQ(normalize_path("/"), "/");
}

TEST(Scope, ContainsFilesUnderTheRootByWholeComponents) {
  Scope scope("/home/u/proj/");
  EXPECT_TRUE(scope.contains("/home/u/proj/a.py"));
  EXPECT_TRUE(scope.contains("/home/u/proj/pkg/b.py"));
  EXPECT_TRUE(scope.contains("/home/u/other/../proj/a.py"));
  EXPECT_FALSE(scope.contains("/home/u/proj2/a.py"));  // the seed's prefix bug
  EXPECT_FALSE(scope.contains("/home/u/proj"));
  EXPECT_FALSE(scope.contains("<frozen importlib._bootstrap>"));
  EXPECT_FALSE(scope.contains("<string>"));
  EXPECT_FALSE(scope.contains(""));
}

TEST(Scope, InstalledPackagesAndTheStandardLibraryAreNeverInScope) {
  Scope scope("/home/u/proj", {"/usr/lib/python3.15"});
  EXPECT_FALSE(scope.contains("/home/u/proj/.venv/lib/python3.15/site-packages/x.py"));
  EXPECT_FALSE(scope.contains("/home/u/proj/vendor/dist-packages/y.py"));
  EXPECT_TRUE(scope.contains("/home/u/proj/lib/python-stuff/z.py"));  // the seed excluded it

  Scope everything("/", {"/usr/lib/python3.15"});
  EXPECT_TRUE(everything.contains("/srv/app.py"));
  EXPECT_FALSE(everything.contains("/usr/lib/python3.15/json/__init__.py"));
}

TEST(Scope, SeveralRootsAndAnExplicitOneWinsOverTheExclusions) {
  Scope scope(
      {"/home/u/proj", "/usr/lib/python3.15/http", "/home/u/proj/.venv/lib/python3.15/site-packages/attr"},
      {"/usr/lib/python3.15"});
  EXPECT_EQ(scope.matching_root("/home/u/proj/a.py"), 0);
  EXPECT_EQ(scope.matching_root("/usr/lib/python3.15/http/client.py"), 1);  // inside the standard library
  EXPECT_EQ(scope.matching_root("/usr/lib/python3.15/json/decoder.py"), -1);
  EXPECT_EQ(scope.matching_root("/home/u/proj/.venv/lib/python3.15/site-packages/attr/_make.py"), 2);
  EXPECT_EQ(scope.matching_root("/home/u/proj/.venv/lib/python3.15/site-packages/other/x.py"), -1);
  // Locations are relative to the innermost root: the first as in the
  // seed, a further one led by its name.
  EXPECT_EQ(scope.location("/home/u/proj/pkg/a.py", 3, false), "pkg/a.py:3");
  EXPECT_EQ(scope.location("/usr/lib/python3.15/http/client.py", 9, false), "http/client.py:9");
  EXPECT_EQ(scope.location("/home/u/proj/.venv/lib/python3.15/site-packages/attr/_make.py", 1, false),
            "attr/_make.py:1");
  EXPECT_EQ(scope.root(), "/home/u/proj");
}

TEST(Scope, ARepeatedRootCountsOnce) {
  Scope scope({"/a/r2", "/b", "/a/r2/", "/a//r2"});
  EXPECT_EQ(scope.roots(), (std::vector<std::string>{"/a/r2", "/b"}));
  EXPECT_EQ(scope.matching_root("/a/r2/x.py"), 0);
  EXPECT_EQ(Scope(std::vector<std::string>{"/b", "/"}).location("/c/x.py", 1, false), "c/x.py:1");
}

TEST(Scope, LocationsFollowTheSeed) {
  Scope scope("/p");
  EXPECT_EQ(scope.location("/p/pkg/a.py", 5, false), "pkg/a.py:5");
  EXPECT_EQ(scope.location("/p/a.py", 1, true), "a.py");  // module bodies carry no line
  EXPECT_EQ(scope.location("/usr/lib/x.py", 3, false), "/usr/lib/x.py:3");
  EXPECT_EQ(scope.location("<frozen posixpath>", 140, false), "<frozen posixpath>:140");
  EXPECT_EQ(scope.location("/p/site-packages/m.py", 2, false), "site-packages/m.py:2");
  EXPECT_EQ(scope.location("/p/a.py", 0, false), "a.py");  // line unknown
  EXPECT_EQ(scope.location("", 4, false), "unknown");
}

}  // namespace
}  // namespace pytrace
