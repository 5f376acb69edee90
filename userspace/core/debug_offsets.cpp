// SPDX-License-Identifier: MIT
#include "core/debug_offsets.h"

#include <cstring>

namespace pytrace {
namespace {

// Positions of uint64_t fields after the 8-byte cookie, in CPython 3.15's
// struct _Py_DebugOffsets (Include/internal/pycore_debug_offsets.h).
enum Field : size_t {
  kVersion = 0,
  kFreeThreaded = 1,
  kRuntimeInterpretersHead = 4,
  kInterpNext = 7,
  kInterpThreadsHead = 8,
  kTstateNext = 23,
  kTstateInterp = 24,
  kTstateCurrentFrame = 25,
  kTstateNativeThreadId = 30,
  kFrameSize = 38,
  kFramePrevious = 39,
  kFrameExecutable = 40,
  kFrameInstrPtr = 41,
  kFrameLocalsplus = 42,
  kFrameOwner = 43,
  kCodeSize = 46,
  kCodeFilename = 47,
  kCodeName = 48,
  kCodeQualname = 49,
  kCodeLinetable = 50,
  kCodeFirstlineno = 51,
  kCodeArgcount = 52,
  kCodeLocalsplusnames = 53,
  kCodeAdaptive = 55,
  kObjectSize = 57,
  kObjectType = 58,
  kTypeName = 60,
  kTypeFlags = 62,
  kTupleItems = 68,
  kTupleSize = 69,
  kSetUsed = 74,
  kDictKeys = 78,
  kFloatValue = 81,
  kLongTag = 83,
  kLongDigits = 84,
  kBytesObSize = 86,
  kBytesObSval = 87,
  kUnicodeState = 89,
  kUnicodeLength = 90,
  kUnicodeAsciiSize = 91,
  kUnicodeCompactSize = 92,
  kDebuggerEvalBreaker = 104,
  kDebuggerSupport = 105,
  kDebuggerRemoteDebugEnabled = 106,
  kDebuggerPendingCall = 107,
  kDebuggerScriptPath = 108,
  kDebuggerScriptPathSize = 109,
  kFieldCount = 110,
};

constexpr char kCookie[8] = {'x', 'd', 'e', 'b', 'u', 'g', 'p', 'y'};
constexpr uint64_t kSupportedMinor = 0x030F;  // 3.15

// The BPF programs read a frame's fields and its first argument slots in
// one read of PT_FRAME_READ_MAX bytes.
bool frame_fits_one_read(const pt_python_offsets& o) {
  uint64_t head = o.frame_localsplus;
  for (uint64_t field : {o.frame_executable, o.frame_previous, o.frame_instr_ptr}) {
    if (field + 8 > head) return false;
  }
  return o.frame_owner < head && head + 8 * PT_ARGS_MAX <= PT_FRAME_READ_MAX;
}

}  // namespace

DebugOffsets parse_debug_offsets(std::span<const uint8_t> table) {
  DebugOffsets result;
  if (table.size() < sizeof(kCookie) + kFieldCount * 8 ||
      std::memcmp(table.data(), kCookie, sizeof(kCookie)) != 0) {
    result.problem = "the interpreter has no _Py_DebugOffsets table";
    return result;
  }
  auto field = [&](size_t index) {
    uint64_t value;
    std::memcpy(&value, table.data() + sizeof(kCookie) + index * 8, sizeof(value));
    return value;
  };
  result.version_hex = field(kVersion);
  if ((result.version_hex >> 16) != kSupportedMinor) {
    result.problem = "its _Py_DebugOffsets layout is not CPython 3.15's";
    return result;
  }
  if (field(kFreeThreaded) != 0) {
    result.problem = "free-threaded builds keep strings differently";
    return result;
  }

  result.remote_exec = {field(kTstateInterp),          field(kDebuggerRemoteDebugEnabled),
                        field(kDebuggerEvalBreaker),   field(kDebuggerSupport),
                        field(kDebuggerPendingCall),   field(kDebuggerScriptPath),
                        field(kDebuggerScriptPathSize)};

  pt_python_offsets& o = result.offsets;
  o.runtime_interpreters_head = field(kRuntimeInterpretersHead);
  o.interp_next = field(kInterpNext);
  o.interp_threads_head = field(kInterpThreadsHead);
  o.tstate_next = field(kTstateNext);
  o.tstate_current_frame = field(kTstateCurrentFrame);
  o.tstate_native_thread_id = field(kTstateNativeThreadId);
  o.frame_executable = field(kFrameExecutable);
  o.frame_previous = field(kFramePrevious);
  o.frame_owner = field(kFrameOwner);
  o.frame_instr_ptr = field(kFrameInstrPtr);
  // co_flags is not in the table; in 3.15's PyCodeObject it is the int
  // right before co_argcount.
  o.code_flags = field(kCodeArgcount) - 4;
  o.code_firstlineno = field(kCodeFirstlineno);
  o.code_name = field(kCodeName);
  o.code_filename = field(kCodeFilename);
  o.code_qualname = field(kCodeQualname);
  o.code_linetable = field(kCodeLinetable);
  o.code_adaptive = field(kCodeAdaptive);
  o.bytes_size = field(kBytesObSize);
  o.bytes_data = field(kBytesObSval);
  o.unicode_state = field(kUnicodeState);
  o.unicode_ascii_data = field(kUnicodeAsciiSize);
  // PyCompactUnicodeObject ends with its `char *utf8`.
  o.unicode_compact_utf8 = field(kUnicodeCompactSize) - 8;

  // Argument values: the frame's slots and the objects in them.
  o.frame_localsplus = field(kFrameLocalsplus);
  o.code_argcount = field(kCodeArgcount);
  o.code_localsplusnames = field(kCodeLocalsplusnames);
  o.object_type = field(kObjectType);
  o.type_name = field(kTypeName);
  o.type_flags = field(kTypeFlags);
  o.tuple_items = field(kTupleItems);
  o.var_size = field(kTupleSize);  // PyVarObject's ob_size, as in lists and bytes
  o.float_value = field(kFloatValue);
  o.long_tag = field(kLongTag);
  o.long_digits = field(kLongDigits);
  o.set_used = field(kSetUsed);
  // PyDictObject: PyObject_HEAD, ma_used, _ma_watcher_tag, ma_keys.
  o.dict_used = field(kDictKeys) - 16;
  o.unicode_length = field(kUnicodeLength);
  o.unicode_compact_data = field(kUnicodeCompactSize);
  o.cell_ref = field(kObjectSize);  // PyCellObject: PyObject_HEAD, ob_ref

  // Cheap sanity checks: a corrupt table must not send the BPF program
  // reading at random offsets.
  if (o.frame_owner >= field(kFrameSize) || o.code_firstlineno >= field(kCodeSize) ||
      o.code_adaptive > field(kCodeSize) || o.code_flags >= field(kCodeSize) ||
      o.code_localsplusnames >= field(kCodeSize) || o.frame_localsplus > field(kFrameSize) ||
      o.object_type >= field(kObjectSize) || o.long_digits > 64 || o.unicode_compact_data > 256 ||
      !frame_fits_one_read(o)) {
    result.problem = "its _Py_DebugOffsets table is inconsistent";
    result.offsets = pt_python_offsets{};
    return result;
  }
  o.enabled = 1;
  o.arg_values = 1;
  return result;
}

}  // namespace pytrace
