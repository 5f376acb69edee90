// SPDX-License-Identifier: MIT
#include "core/patterns.h"

#include <algorithm>

namespace pytrace {
namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h *= 0xff51afd7ed558ccdULL;
  return h ^ (h >> 33);
}

// Subtree shapes, interned: equal ids <=> equal key and children's shapes.
class ShapeTable {
 public:
  uint32_t intern(uint64_t key, std::span<const uint32_t> children) {
    uint64_t hash = mix(key, children.size());
    for (uint32_t c : children) hash = mix(hash, c);
    if ((shapes_ + 1) * 2 > slots_.size()) grow();
    size_t mask = slots_.size() - 1;
    for (size_t slot = hash & mask;; slot = (slot + 1) & mask) {
      uint32_t id = slots_[slot];
      if (id == kEmpty) {
        slots_[slot] = add(hash, key, children);
        return slots_[slot];
      }
      if (hashes_[id] == hash && keys_[id] == key && same_children(id, children)) return id;
    }
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;

  uint32_t add(uint64_t hash, uint64_t key, std::span<const uint32_t> children) {
    hashes_.push_back(hash);
    keys_.push_back(key);
    begin_.push_back(pool_.size());
    pool_.insert(pool_.end(), children.begin(), children.end());
    return shapes_++;
  }

  bool same_children(uint32_t id, std::span<const uint32_t> children) const {
    uint64_t begin = begin_[id];
    uint64_t end = id + 1 < begin_.size() ? begin_[id + 1] : pool_.size();
    return end - begin == children.size() &&
           std::equal(children.begin(), children.end(), pool_.begin() + begin);
  }

  void grow() {
    std::vector<uint32_t> slots(std::max<size_t>(1024, slots_.size() * 2), kEmpty);
    size_t mask = slots.size() - 1;
    for (uint32_t id = 0; id < shapes_; ++id) {
      size_t slot = hashes_[id] & mask;
      while (slots[slot] != kEmpty) slot = (slot + 1) & mask;
      slots[slot] = id;
    }
    slots_ = std::move(slots);
  }

  std::vector<uint32_t> slots_;
  std::vector<uint64_t> hashes_;
  std::vector<uint64_t> keys_;
  std::vector<uint64_t> begin_;  // into pool_
  std::vector<uint32_t> pool_;   // children's shapes of every shape
  uint32_t shapes_ = 0;
};

struct Run {
  uint32_t start;  // position in the sibling list
  uint32_t period;
  uint32_t repetitions;
};

// Chooses the groups of one sibling list (see patterns.h). Scratch vectors
// are reused between lists.
class SiblingGrouper {
 public:
  explicit SiblingGrouper(const PatternOptions& options) : options_(options) {}

  std::vector<Run> group(std::span<const uint32_t> shapes) {
    const size_t m = shapes.size();
    std::vector<Run> runs;
    const uint32_t min_reps = std::max<uint32_t>(options_.min_repetitions, 2);
    const uint32_t max_period = std::min<uint64_t>(options_.max_period, m / min_reps);
    if (max_period == 0) return runs;

    // The largest group that can start at each position, shortest period
    // first among equals.
    cover_.assign(m, 0);
    period_.assign(m, 0);
    match_.assign(m + 1, 0);
    for (uint32_t p = 1; p <= max_period; ++p) {
      // match_[j]: how many siblings from j on equal the one p later.
      match_[m] = 0;
      for (size_t j = m; j-- > 0;)
        match_[j] = j + p < m && shapes[j] == shapes[j + p] ? match_[j + 1] + 1 : 0;
      for (size_t i = 0; i + 2 * p <= m; ++i) {
        uint32_t reps = 1 + match_[i] / p;
        if (reps >= min_reps && reps * p > cover_[i]) {
          cover_[i] = reps * p;
          period_[i] = p;
        }
      }
    }

    // The most siblings covered from each position to the end.
    best_.assign(m + 1, 0);
    for (size_t i = m; i-- > 0;) {
      best_[i] = best_[i + 1];
      if (cover_[i] && cover_[i] + best_[i + cover_[i]] >= best_[i])
        best_[i] = cover_[i] + best_[i + cover_[i]];
    }
    for (size_t i = 0; i < m;) {
      if (cover_[i] && cover_[i] + best_[i + cover_[i]] == best_[i]) {
        runs.push_back({static_cast<uint32_t>(i), period_[i], cover_[i] / period_[i]});
        i += cover_[i];
      } else {
        ++i;
      }
    }
    return runs;
  }

 private:
  PatternOptions options_;
  std::vector<uint32_t> cover_, period_, match_, best_;
};

class Finder {
 public:
  Finder(std::span<const CallShape> calls, const PatternOptions& options)
      : calls_(calls), grouper_(options) {}

  std::vector<PatternGroup> run() {
    const size_t n = calls_.size();
    // Children of every call, and of the top level (slot n), in call order.
    begin_.assign(n + 2, 0);
    for (const auto& call : calls_) ++begin_[slot_of(call.parent) + 1];
    for (size_t i = 1; i < begin_.size(); ++i) begin_[i] += begin_[i - 1];
    children_.resize(n);
    std::vector<uint32_t> fill(begin_.begin(), begin_.end() - 1);
    for (size_t i = 0; i < n; ++i) children_[fill[slot_of(calls_[i].parent)]++] = static_cast<uint32_t>(i);

    // Children come after their parent: shapes and sizes from the end.
    shape_.assign(n, 0);
    size_.assign(n, 1);
    std::vector<uint32_t> child_shapes;
    for (size_t i = n; i-- > 0;) {
      child_shapes.clear();
      for (uint32_t c : kids(i)) {
        child_shapes.push_back(shape_[c]);
        size_[i] += size_[c];
      }
      shape_[i] = shapes_.intern(calls_[i].key, child_shapes);
    }

    group_list(-1);
    for (size_t i = 0; i < n; ++i) group_list(static_cast<int64_t>(i));
    return std::move(groups_);
  }

 private:
  size_t slot_of(int64_t parent) const { return parent < 0 ? calls_.size() : static_cast<size_t>(parent); }

  std::span<const uint32_t> kids(size_t slot) const {
    return std::span<const uint32_t>(children_).subspan(begin_[slot], begin_[slot + 1] - begin_[slot]);
  }

  void group_list(int64_t parent) {
    std::span<const uint32_t> list = kids(slot_of(parent));
    if (list.size() < 2) return;
    std::vector<uint32_t> shapes(list.size());
    for (size_t i = 0; i < list.size(); ++i) shapes[i] = shape_[list[i]];
    group_range(parent, list, shapes, 0, list.size(), -1);
  }

  // Groups siblings [from, to) of `list`; nested groups go into templates.
  void group_range(int64_t parent, std::span<const uint32_t> list, const std::vector<uint32_t>& shapes,
                   size_t from, size_t to, int32_t outer) {
    std::vector<Run> runs = grouper_.group(std::span<const uint32_t>(shapes).subspan(from, to - from));
    for (const Run& run : runs) {
      size_t start = from + run.start;
      uint32_t first = list[start];
      uint32_t last_sibling = list[start + run.period * run.repetitions - 1];
      uint32_t last = last_sibling + size_[last_sibling] - 1;
      int32_t index = static_cast<int32_t>(groups_.size());
      groups_.push_back(PatternGroup{parent, static_cast<uint32_t>(start), first, last, run.period,
                                     run.repetitions, uint64_t{last} - first + 1, outer});
      group_range(parent, list, shapes, start, start + run.period, index);
    }
  }

  std::span<const CallShape> calls_;
  SiblingGrouper grouper_;
  ShapeTable shapes_;
  std::vector<uint64_t> begin_;
  std::vector<uint32_t> children_;
  std::vector<uint32_t> shape_;
  std::vector<uint32_t> size_;
  std::vector<PatternGroup> groups_;
};

}  // namespace

std::vector<PatternGroup> find_patterns(std::span<const CallShape> calls, const PatternOptions& options) {
  return Finder(calls, options).run();
}

}  // namespace pytrace
