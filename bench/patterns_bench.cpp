// SPDX-License-Identifier: MIT
// Pattern grouping on synthetic traces: time and peak memory of the core's
// grouper, and of a reimplementation of the seed's algorithm.
//
// usage: patterns_bench CALLS [--seed-algorithm | --dump-keys FILE]
//
// Builds a trace of about CALLS calls with nested repeats (blocks of 1-8
// calls, each with small subtrees and sometimes repeats of its own, repeated
// 2-20 times) and random calls between them, then groups it once and prints
// one line of key=value figures: the fastest of several runs (at least
// three, more while under half a second), since a single short run is mostly
// noise on a shared machine. Peak memory is this process's (run one size per
// process). --seed-algorithm runs the original viewer's grouping
// instead: greedy over the flat list of name@location keys, windows 20 down
// to 2, a linear scan of all patterns per entry when applying them, and the
// first repetition of each group regrouped (seed spec section 4).
// --dump-keys writes the flat list of keys, one per line, for
// seed_patterns.py, which runs the seed's algorithm in Python as the seed did.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <unordered_set>
#include <vector>

#include "core/patterns.h"

namespace {

using pytrace::CallShape;

class Generator {
 public:
  explicit Generator(uint64_t seed) : random_(seed) {}

  std::vector<CallShape> trace(size_t calls) {
    std::vector<CallShape> out;
    out.reserve(calls + 1000);
    while (out.size() < calls) {
      if (chance(30)) {
        emit_random(out, -1, 2);
      } else {
        emit_repeated_block(out, -1, 2);
      }
    }
    return out;
  }

 private:
  bool chance(int percent) { return static_cast<int>(random_() % 100) < percent; }
  uint64_t pick(uint64_t n) { return random_() % n; }

  // A block: a template of subtree shapes, emitted `repetitions` times.
  struct Node {
    uint64_t key;
    std::vector<Node> children;
  };

  Node random_node(int depth) {
    Node node{pick(5000), {}};
    if (depth > 0 && chance(30)) {
      for (uint64_t i = 0, n = 1 + pick(3); i < n; ++i) node.children.push_back(random_node(depth - 1));
    }
    return node;
  }

  void emit(std::vector<CallShape>& out, int64_t parent, const Node& node) {
    int64_t self = static_cast<int64_t>(out.size());
    out.push_back({parent, node.key});
    for (const Node& child : node.children) emit(out, self, child);
  }

  void emit_random(std::vector<CallShape>& out, int64_t parent, int depth) {
    emit(out, parent, random_node(depth));
  }

  void emit_repeated_block(std::vector<CallShape>& out, int64_t parent, int depth) {
    std::vector<Node> block;
    for (uint64_t i = 0, n = 1 + pick(8); i < n; ++i) block.push_back(random_node(depth));
    // Sometimes a repeat inside the block's first call: nested patterns.
    if (depth > 0 && chance(30)) {
      Node inner = random_node(0);
      for (uint64_t r = 0, reps = 2 + pick(5); r < reps; ++r) block[0].children.push_back(inner);
    }
    for (uint64_t r = 0, reps = 2 + pick(19); r < reps; ++r) {
      for (const Node& node : block) emit(out, parent, node);
    }
  }

  std::mt19937_64 random_;
};

// The seed viewer's grouping, over the flat pre-order list of keys.
struct SeedGroup {
  size_t start, length, repetitions;
};

size_t seed_group(const std::vector<uint64_t>& keys, size_t depth_limit = 8) {
  const size_t n = keys.size();
  std::vector<SeedGroup> found;
  std::unordered_set<size_t> claimed;
  for (size_t window = std::min<size_t>(20, n / 2); window >= 2; --window) {
    for (size_t i = 0; i + 2 * window <= n;) {
      if (claimed.count(i)) {
        ++i;
        continue;
      }
      size_t reps = 1;
      while (i + (reps + 1) * window <= n &&
             std::equal(keys.begin() + i, keys.begin() + i + window, keys.begin() + i + reps * window)) {
        ++reps;
      }
      if (reps >= 2) {
        found.push_back({i, window, reps});
        for (size_t k = i; k < i + window * reps; ++k) claimed.insert(k);
        i += window * reps;
      } else {
        ++i;
      }
    }
  }
  // Applying: for every entry, a scan of all the patterns (the seed's O(n*P)).
  size_t groups = 0;
  for (size_t i = 0; i < n;) {
    const SeedGroup* at = nullptr;
    for (const SeedGroup& g : found) {
      if (g.start == i) at = &g;
    }
    if (at) {
      ++groups;
      if (at->length >= 4 && depth_limit > 0) {
        std::vector<uint64_t> first(keys.begin() + i, keys.begin() + i + at->length);
        groups += seed_group(first, depth_limit - 1);
      }
      i += at->length * at->repetitions;
    } else {
      ++i;
    }
  }
  return groups;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

long peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: patterns_bench CALLS [--seed-algorithm]\n");
    return 2;
  }
  size_t calls = std::strtoull(argv[1], nullptr, 10);
  bool seed = argc > 2 && std::strcmp(argv[2], "--seed-algorithm") == 0;

  std::vector<CallShape> trace = Generator(42).trace(calls);
  if (argc > 3 && std::strcmp(argv[2], "--dump-keys") == 0) {
    FILE* out = std::fopen(argv[3], "w");
    if (!out) return 1;
    for (const CallShape& call : trace)
      std::fprintf(out, "%llu\n", static_cast<unsigned long long>(call.key));
    return std::fclose(out) == 0 ? 0 : 1;
  }
  long input_mb = peak_rss_mb();
  std::vector<uint64_t> keys;
  if (seed) {
    keys.reserve(trace.size());
    for (const CallShape& call : trace) keys.push_back(call.key);
  }
  size_t groups = 0, covered = 0;
  double elapsed = 1e30, total = 0;
  for (int run = 0; run < 3 || total < 0.5; ++run) {
    auto start = std::chrono::steady_clock::now();
    if (seed) {
      groups = seed_group(keys);
    } else {
      auto found = pytrace::find_patterns(trace, pytrace::PatternOptions{});
      groups = found.size();
      covered = pytrace::calls_in_groups(found);
    }
    double seconds = seconds_since(start);
    elapsed = std::min(elapsed, seconds);
    total += seconds;
  }
  std::printf(
      "algorithm=%s calls=%zu seconds=%.3f groups=%zu calls_in_groups=%zu peak_rss_mb=%ld input_rss_mb=%ld\n",
      seed ? "seed" : "pytrace", trace.size(), elapsed, groups, covered, peak_rss_mb(), input_mb);
  return 0;
}
