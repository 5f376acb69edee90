// SPDX-License-Identifier: MIT
#include "core/frames.h"

namespace pytrace {

const CodeInfo* CodeTable::add(uint64_t key, CodeInfo info) {
  const CodeInfo* stored = &codes_.emplace_back(std::move(info));
  by_key_[key] = stored;
  return stored;
}

const CodeInfo* CodeTable::find(uint64_t key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : it->second;
}

const CodeInfo* CodeTable::unknown() {
  if (!unknown_) {
    unknown_ = &codes_.emplace_back(CodeInfo{"<unknown>", "<unknown>", "", -1, {}, false, {}, false, {}});
  }
  return unknown_;
}

}  // namespace pytrace
