// SPDX-License-Identifier: MIT
#include "core/patterns.h"

#include <algorithm>
#include <thread>

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

  static constexpr uint32_t kLanes = 4;
  static constexpr size_t kParallelFrom = 16384;  // siblings

  // For every position, the largest group (of at least min_reps
  // repetitions) of each period up to max_period; with half = 0 or 1 only
  // every other block of kLanes periods, for two threads.
  static void scan_periods(std::span<const uint32_t> shapes, uint32_t max_period, uint32_t min_reps, int half,
                           std::vector<uint32_t>& cover, std::vector<uint32_t>& period) {
    const size_t m = shapes.size();
    // run[k]: how many siblings from i on equal the one p = p0 + k later; a
    // group of r repetitions needs (r - 1) * p of them. Four periods go side
    // by side: their chains are independent, which the processor overlaps.
    for (uint32_t p0 = 1, block = 0; p0 <= max_period; p0 += kLanes, ++block) {
      if (half >= 0 && block % 2 != static_cast<uint32_t>(half)) continue;
      const uint32_t lanes = std::min(kLanes, max_period - p0 + 1);
      uint32_t run[kLanes] = {0, 0, 0, 0};
      for (size_t i = m - p0; i-- > 0;) {
        for (uint32_t k = 0; k < lanes; ++k) {
          const uint32_t p = p0 + k;
          if (i + p >= m) continue;
          run[k] = shapes[i] == shapes[i + p] ? run[k] + 1 : 0;
          if (run[k] >= (min_reps - 1) * p) {
            uint32_t covered = (1 + run[k] / p) * p;
            if (covered > cover[i] || (covered == cover[i] && p < period[i])) {
              cover[i] = covered;
              period[i] = p;
            }
          }
        }
      }
    }
  }

  std::vector<Run> group(std::span<const uint32_t> shapes) {
    const size_t m = shapes.size();
    std::vector<Run> runs;
    const uint32_t min_reps = std::max<uint32_t>(options_.min_repetitions, 2);
    const uint32_t max_period = std::min<uint64_t>(options_.max_period, m / min_reps);
    if (max_period == 0) return runs;

    // The largest group that can start at each position, shortest period
    // first among equals. A long list is shared with a second thread.
    cover_.assign(m, 0);
    period_.assign(m, 0);
    if (m >= kParallelFrom && max_period > kLanes) {
      other_cover_.assign(m, 0);
      other_period_.assign(m, 0);
      {
        // Joined however this thread leaves the block, an exception included.
        std::jthread helper(
            [&] { scan_periods(shapes, max_period, min_reps, 1, other_cover_, other_period_); });
        scan_periods(shapes, max_period, min_reps, 0, cover_, period_);
      }
      for (size_t i = 0; i < m; ++i) {
        if (other_cover_[i] > cover_[i] || (other_cover_[i] == cover_[i] && other_period_[i] < period_[i])) {
          cover_[i] = other_cover_[i];
          period_[i] = other_period_[i];
        }
      }
    } else {
      scan_periods(shapes, max_period, min_reps, -1, cover_, period_);
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
  std::vector<uint32_t> cover_, period_, best_;
  std::vector<uint32_t> other_cover_, other_period_;  // the second thread's
};

class Finder {
 public:
  Finder(size_t count, const std::function<int64_t(size_t)>& parent_of,
         const std::function<uint64_t(size_t)>& key_of, const PatternOptions& options)
      : count_(count), parent_of_(parent_of), key_of_(key_of), grouper_(options) {}

  std::vector<PatternGroup> run() {
    const size_t n = count_;
    // Children of every call, and of the top level (slot n), in call order.
    begin_.assign(n + 2, 0);
    for (size_t i = 0; i < n; ++i) ++begin_[slot_of(parent_of_(i)) + 1];
    for (size_t i = 1; i < begin_.size(); ++i) begin_[i] += begin_[i - 1];
    children_.resize(n);
    std::vector<uint32_t> fill(begin_.begin(), begin_.end() - 1);
    for (size_t i = 0; i < n; ++i) children_[fill[slot_of(parent_of_(i))]++] = static_cast<uint32_t>(i);

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
      shape_[i] = shapes_.intern(key_of_(i), child_shapes);
    }

    group_list(-1);
    for (size_t i = 0; i < n; ++i) group_list(static_cast<int64_t>(i));
    return std::move(groups_);
  }

 private:
  size_t slot_of(int64_t parent) const { return parent < 0 ? count_ : static_cast<size_t>(parent); }

  std::span<const uint32_t> kids(size_t slot) const {
    return std::span<const uint32_t>(children_).subspan(begin_[slot], begin_[slot + 1] - begin_[slot]);
  }

  void group_list(int64_t parent) {
    std::span<const uint32_t> list = kids(slot_of(parent));
    if (list.size() < 2) return;
    list_shapes_.resize(list.size());
    for (size_t i = 0; i < list.size(); ++i) list_shapes_[i] = shape_[list[i]];
    group_range(parent, list, list_shapes_, 0, list.size(), -1);
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

  size_t count_;
  const std::function<int64_t(size_t)>& parent_of_;
  const std::function<uint64_t(size_t)>& key_of_;
  SiblingGrouper grouper_;
  ShapeTable shapes_;
  std::vector<uint32_t> begin_;  // into children_: one thread has fewer than 2^32 calls
  std::vector<uint32_t> children_;
  std::vector<uint32_t> shape_;
  std::vector<uint32_t> size_;
  std::vector<uint32_t> list_shapes_;  // the siblings being grouped
  std::vector<PatternGroup> groups_;
};

}  // namespace

std::vector<PatternGroup> find_patterns(std::span<const CallShape> calls, const PatternOptions& options) {
  return find_patterns(
      calls.size(), [calls](size_t i) { return calls[i].parent; }, [calls](size_t i) { return calls[i].key; },
      options);
}

std::vector<PatternGroup> find_patterns(size_t count, const std::function<int64_t(size_t)>& parent_of,
                                        const std::function<uint64_t(size_t)>& key_of,
                                        const PatternOptions& options) {
  return Finder(count, parent_of, key_of, options).run();
}

uint64_t calls_in_groups(const std::vector<PatternGroup>& groups) {
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  ranges.reserve(groups.size());
  for (const auto& g : groups) ranges.emplace_back(g.first, g.last);
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered = 0;
  int64_t end = -1;  // last call counted so far
  for (auto [first, last] : ranges) {
    if (static_cast<int64_t>(last) <= end) continue;
    covered += last - std::max<int64_t>(first, end + 1) + 1;
    end = last;
  }
  return covered;
}

}  // namespace pytrace
