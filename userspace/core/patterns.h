// SPDX-License-Identifier: MIT
// Repeated calls folded into pattern groups.
//
// Among the children of every call (and a thread's top-level calls), runs
// of consecutive sibling subtrees that repeat with a period p (1 <= p <=
// max_period) at least min_repetitions times form a group. Subtrees repeat
// when they are equal in shape: same name and location, and children equal
// in shape, in order (so calls at different depths never merge). Within a
// sibling list the groups are chosen to cover as many siblings as possible
// (dynamic programming from the end of the list, each period taken with as
// many repetitions as follow); ties go to a group over no group, then to
// the larger group, then to the shorter period, then to the earlier start,
// so the result is deterministic. Groups never overlap and drop nothing:
// they only mark runs of siblings. Inside the first repetition (the
// template) of a group, groups are found again, nested.
//
// Cost: shapes in O(n) expected (hashing), grouping in O(n * max_period)
// time and O(n) memory for n calls; a list of 16384 siblings or more is
// scanned by two threads.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace pytrace {

struct PatternOptions {
  uint32_t min_repetitions = 2;
  uint32_t max_period = 64;
};

// One thread's calls, in pre-order (parents before children, siblings in
// call order): each call's parent (-1 at the top) and a key that is equal
// for calls of the same name at the same location.
struct CallShape {
  int64_t parent = -1;
  uint64_t key = 0;
};

struct PatternGroup {
  int64_t parent = -1;    // the call whose children repeat; -1: the top level
  uint32_t position = 0;  // index among the parent's children of the first repeated sibling
  uint32_t first = 0;     // that sibling (index into the calls)
  uint32_t last = 0;      // the group's last call, descendants included
  uint32_t period = 0;    // siblings in one repetition
  uint32_t repetitions = 0;
  uint64_t total_calls = 0;  // calls covered, descendants included
  int32_t outer = -1;        // index of the group whose template holds this one, -1 if none
};

// The groups of one thread's calls, ordered by parent (in call order), then
// position, each outer group before the groups nested in its template.
std::vector<PatternGroup> find_patterns(std::span<const CallShape> calls, const PatternOptions& options);
// The same for `count` calls described by functions of the call's index:
// for callers that hold the calls' parents and keys in columns of their
// own, with no copy as CallShapes (the viewer, on tens of millions of calls).
std::vector<PatternGroup> find_patterns(size_t count, const std::function<int64_t(size_t)>& parent_of,
                                        const std::function<uint64_t(size_t)>& key_of,
                                        const PatternOptions& options);

// How many calls lie in at least one group (groups inside the repetitions
// of another group count once).
uint64_t calls_in_groups(const std::vector<PatternGroup>& groups);

}  // namespace pytrace
