// SPDX-License-Identifier: MIT
#include "core/patterns.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace pytrace {
namespace {

// A forest written as text, e.g. "a(b c) a(b c) d": names are calls, and
// parentheses hold a call's children. Equal names are alike.
struct Forest {
  std::vector<CallShape> calls;
  std::vector<std::string> names;
};

Forest parse(const std::string& text) {
  Forest forest;
  std::vector<int64_t> open{-1};
  std::istringstream in(text);
  std::string token;
  auto flush = [&](std::string& name) {
    if (name.empty()) return;
    forest.calls.push_back({open.back(), std::hash<std::string>{}(name)});
    forest.names.push_back(name);
    name.clear();
  };
  std::string name;
  for (char c : text) {
    if (c == '(') {
      flush(name);
      open.push_back(static_cast<int64_t>(forest.calls.size()) - 1);
    } else if (c == ')') {
      flush(name);
      open.pop_back();
    } else if (c == ' ') {
      flush(name);
    } else {
      name += c;
    }
  }
  flush(name);
  return forest;
}

// "a(b c)" repeated n times, separated by spaces.
std::string times(const std::string& text, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += (i ? " " : "") + text;
  return out;
}

// Each group as "parent:position pxr" with nested groups after their outer
// group, marked by indentation.
std::vector<std::string> describe(const Forest& forest, const std::vector<PatternGroup>& groups) {
  std::vector<std::string> out;
  for (const auto& g : groups) {
    int level = 0;
    for (int32_t o = g.outer; o >= 0; o = groups[o].outer) ++level;
    std::string parent = g.parent < 0 ? "top" : forest.names[g.parent];
    out.push_back(std::string(2 * level, ' ') + parent + ":" + std::to_string(g.position) + " " +
                  std::to_string(g.period) + "x" + std::to_string(g.repetitions));
  }
  return out;
}

std::vector<std::string> groups_of(const std::string& text, PatternOptions options = {}) {
  Forest forest = parse(text);
  return describe(forest, find_patterns(forest.calls, options));
}

using Lines = std::vector<std::string>;

TEST(Patterns, TheSeedsReadmeExample) {
  // 6x [scaled_dot_product_attention, get, 2x [forward, layer_name]]
  Forest forest = parse("x " + times("sdpa get forward layer_name forward layer_name", 6) + " y");
  auto groups = find_patterns(forest.calls, {});
  EXPECT_EQ(describe(forest, groups), (Lines{"top:1 6x6", "  top:3 2x2"}));
  EXPECT_EQ(groups[0].first, 1u);
  EXPECT_EQ(groups[0].last, 36u);
  EXPECT_EQ(groups[0].total_calls, 36u);
  EXPECT_EQ(groups[1].outer, 0);
}

TEST(Patterns, Periods1To64) {
  EXPECT_EQ(groups_of(times("a", 5)), (Lines{"top:0 1x5"}));
  EXPECT_EQ(groups_of(times("a b", 3)), (Lines{"top:0 2x3"}));
  EXPECT_EQ(groups_of(times("a b c d e f g", 3)), (Lines{"top:0 7x3"}));
  std::string block;
  for (int i = 0; i < 64; ++i) block += (i ? " f" : "f") + std::to_string(i);
  EXPECT_EQ(groups_of(times(block, 2)), (Lines{"top:0 64x2"}));
  EXPECT_EQ(groups_of(times(block + " f64", 2)), Lines{});  // a period of 65 is past max_period
  EXPECT_EQ(groups_of(times(block + " f64", 2), {2, 65}), (Lines{"top:0 65x2"}));
}

TEST(Patterns, NestedThreeDeep) {
  std::string inner = times("a b", 2) + " c";   // 2x[a b] c
  std::string middle = times(inner, 2) + " d";  // 2x[...] d
  EXPECT_EQ(groups_of(times(middle, 2)), (Lines{"top:0 11x2", "  top:0 5x2", "    top:0 2x2"}));
}

TEST(Patterns, InsideEveryCallsChildren) {
  EXPECT_EQ(groups_of("main(" + times("step(helper)", 3) + ") other(" + times("x", 2) + ")"),
            (Lines{"main:0 1x3", "other:0 1x2"}));
}

TEST(Patterns, OneDifferentCallBreaksARepeat) {
  EXPECT_EQ(groups_of(times("a b", 2) + " X " + times("a b", 2)), (Lines{"top:0 2x2", "top:5 2x2"}));
}

TEST(Patterns, SubtreesMustBeEqualAndAtTheSameDepth) {
  EXPECT_EQ(groups_of("f(g) f(h) f(g)"), Lines{});  // same name, other children
  EXPECT_EQ(groups_of("f f(f) f(f(f))"), Lines{});  // recursion: f at three depths
  EXPECT_EQ(groups_of("f(g) f(g)"), (Lines{"top:0 1x2"}));
}

TEST(Patterns, TiesAreResolvedTheSameWayEveryTime) {
  EXPECT_EQ(groups_of(times("a", 4)), (Lines{"top:0 1x4"}));  // shortest period among equal cover
  EXPECT_EQ(groups_of("a a a b a b"), (Lines{"top:2 2x2"}));  // more siblings covered wins
  EXPECT_EQ(groups_of("a a b b"), (Lines{"top:0 1x2", "top:2 1x2"}));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(groups_of("x a b a b y a b a b"), (Lines{"top:1 2x2", "top:6 2x2"}));
}

TEST(Patterns, MinimumRepetitions) {
  EXPECT_EQ(groups_of(times("a b", 2), {3, 64}), Lines{});
  EXPECT_EQ(groups_of(times("a b", 3), {3, 64}), (Lines{"top:0 2x3"}));
}

TEST(Patterns, LongListsScannedByTwoThreadsGiveTheSameGroups) {
  // Periods 3 and 5 fall to different threads (blocks of four periods).
  EXPECT_EQ(groups_of(times("a b c", 6000)), (Lines{"top:0 3x6000"}));
  EXPECT_EQ(groups_of(times("a b c d e", 2000) + " X " + times("a b c d e", 2000)),
            (Lines{"top:0 5x2000", "top:10001 5x2000"}));
  EXPECT_EQ(groups_of(times("a a b", 3000) + " " + times("c", 9000)),
            (Lines{"top:0 3x3000", "  top:0 1x2", "top:9000 1x9000"}));
}

TEST(Patterns, EmptyAndSingleCall) {
  EXPECT_TRUE(find_patterns({}, {}).empty());
  EXPECT_EQ(groups_of("main"), Lines{});
}

// Rebuilds every sibling list from its groups (each template repeated) and
// checks it is the original: groups cover runs of equal subtrees, in order,
// without overlapping, and nested groups stay inside their templates.
void expect_groups_expand_to_the_original(const std::string& text) {
  Forest forest = parse(text);
  const auto& calls = forest.calls;
  auto groups = find_patterns(calls, {});
  std::function<std::string(size_t)> subtree = [&](size_t i) {
    std::string s = forest.names[i] + "(";
    for (size_t c = i + 1; c < calls.size(); ++c) {
      if (calls[c].parent == static_cast<int64_t>(i)) s += subtree(c) + " ";
    }
    return s + ")";
  };
  std::map<int64_t, std::vector<size_t>> lists;
  for (size_t i = 0; i < calls.size(); ++i) lists[calls[i].parent].push_back(i);
  for (const auto& [parent, list] : lists) {
    std::vector<std::string> original, expanded;
    for (size_t i : list) original.push_back(subtree(i));
    size_t next = 0;
    for (const auto& g : groups) {
      if (g.parent != parent || g.outer >= 0) continue;
      ASSERT_GE(g.position, next) << "overlapping groups in " << text;
      for (; next < g.position; ++next) expanded.push_back(original[next]);
      ASSERT_EQ(list[g.position], g.first);
      for (uint32_t r = 0; r < g.repetitions; ++r) {
        for (uint32_t k = 0; k < g.period; ++k) expanded.push_back(original[g.position + k]);
      }
      next = g.position + g.period * g.repetitions;
    }
    for (; next < original.size(); ++next) expanded.push_back(original[next]);
    EXPECT_EQ(expanded, original) << text;
  }
  for (const auto& g : groups) {
    if (g.outer < 0) continue;
    const auto& outer = groups[g.outer];
    EXPECT_EQ(g.parent, outer.parent);
    EXPECT_GE(g.position, outer.position);
    EXPECT_LE(g.position + g.period * g.repetitions, outer.position + outer.period);
  }
}

TEST(Patterns, ExpandingTheGroupsGivesTheOriginalTrees) {
  expect_groups_expand_to_the_original("x " + times("a(b c) d(e e e)", 5) + " y(" + times("z(q)", 3) + ")");
  expect_groups_expand_to_the_original(times(times("a b", 2) + " c", 3) + " a a a b b");
  // Pseudo-random: a few names, so that repeats happen by chance too.
  std::string text;
  uint32_t state = 12345;
  for (int i = 0; i < 400; ++i) {
    state = state * 1103515245 + 12345;
    text +=
        std::string(1, static_cast<char>('a' + (state >> 16) % 3)) + ((state >> 8) % 5 == 0 ? "(k) " : " ");
  }
  expect_groups_expand_to_the_original(text);
}

}  // namespace
}  // namespace pytrace
