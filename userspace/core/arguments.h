// SPDX-License-Identifier: MIT
// Argument values as the BPF program read them from a call's frame, and
// their text in the trace (the `arguments` object).
//
// The original tool formatted values with the program's own str() in the
// traced process; nothing runs in the target here, so values are what can
// be read from memory (docs/json-format.md, "Argument values"):
//   None, bool, int (exact up to 780 bits), float     -> JSON null/true/false/number
//   str                  -> the string, cut to 100 characters + "..."
//   bytes                -> Python's repr, e.g. "b'ab\n'", or "bytes object" past 100 characters
//   list, tuple, dict, set -> [] / {} / "set()" when empty, else "list with 3 items",
//                           "tuple with 2 items", "dict with 4 keys", "set with 5 items"
//   a class              -> "<class 'Name'>"
//   anything else        -> "<TypeName object at 0x7f...>"
//   a slot that could not be read -> "<unavailable>"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/spill.h"

namespace pytrace {

// What an argument slot held, as far as it could be read.
enum class ArgKind : uint8_t {
  kUnread,  // the slot or the object could not be read
  kNone,
  kBool,   // value: 0 or 1
  kInt,    // text: its 30-bit digits (size of them), sign in value (0 +, 1 zero, 2 -)
  kFloat,  // value: the double's bits
  kStr,    // size: characters; text: the first of them, `width` bytes each
  kBytes,  // size: bytes; text: the first of them
  kList,   // size: items
  kTuple,
  kDict,
  kSet,
  kObject,  // value: its address; text: its type's name
  kEmpty,   // the slot holds no object
  kClass,   // text: its name
};

// One value.
struct ArgValue {
  ArgKind kind = ArgKind::kUnread;
  uint8_t width = 0;  // str: bytes per character
  uint64_t value = 0;
  uint64_t size = 0;
  std::string text;
};

// The parameters of a code object, as its code record described them.
struct ArgNames {
  uint32_t count = 0;              // all of them (positional, keyword-only, *args, **kwargs)
  std::vector<std::string> names;  // the first PT_ARGS_MAX
  bool varargs = false;            // co_flags CO_VARARGS: one of them is *name
  bool varkeywords = false;        // CO_VARKEYWORDS: the last is **name
  uint32_t keyword_only = 0;       // how many are keyword-only (after the positional ones)
};

// The JSON object for a call: {"name": value, ...}, in parameter order,
// "*args" and "**kwargs" keys as the original tool wrote them, and a "..."
// key saying how many were not recorded when there were more than fit.
std::string format_arguments(const ArgNames& params, const std::vector<ArgValue>& values);

// A str value's text (UTF-8), cut as in the trace.
std::string str_text(const ArgValue& value);
// A str value whose every character was read and is in str_text uncut.
bool is_whole_str(const ArgValue& value);

// One value as JSON text.
void append_argument_value(std::string& out, const ArgValue& value);

// The `arguments` texts of a trace; index 0 is {}. Calls repeat their
// arguments, so a text that is still in a table of recent ones (a fixed
// number of slots, by hash) is kept once; others again. The texts are in
// chunks from the spill file (core/spill.h): a run with millions of
// distinct values does not keep them in the tracer's own memory.
class ArgumentTable {
 public:
  ArgumentTable();
  // A moved-from table is a new one, {} and nothing else.
  ArgumentTable(ArgumentTable&& other) noexcept : ArgumentTable() { swap(other); }
  ArgumentTable& operator=(ArgumentTable&& other) noexcept {
    swap(other);  // `other` holds what this held, and frees it
    return *this;
  }
  ArgumentTable(const ArgumentTable&) = delete;
  ArgumentTable& operator=(const ArgumentTable&) = delete;
  ~ArgumentTable();

  uint32_t intern(std::string_view text);
  std::string_view operator[](uint32_t index) const;
  size_t size() const { return texts_.size(); }

 private:
  struct Text {
    uint32_t chunk = 0;
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  void swap(ArgumentTable& other) noexcept {
    std::swap(chunks_, other.chunks_);
    std::swap(chunk_used_, other.chunk_used_);
    std::swap(texts_, other.texts_);
    std::swap(recent_, other.recent_);
  }

  static constexpr size_t kChunkBytes = size_t{1} << 20;
  static constexpr size_t kRecentSlots = size_t{1} << 20;

  std::vector<char*> chunks_;
  size_t chunk_used_ = kChunkBytes;  // in the last chunk; full: none yet
  ChunkedStore<Text> texts_;
  std::vector<uint32_t> recent_;  // by hash: the index of a text, 0 for none
};

}  // namespace pytrace
