// SPDX-License-Identifier: MIT
#include "core/debug_offsets.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace pytrace {
namespace {

// A _Py_DebugOffsets table as CPython 3.15.2 (x86-64, GIL build) has it,
// with field values read from the real interpreter; unset fields are 0.
std::vector<uint8_t> table_315() {
  std::vector<uint64_t> fields(110, 0);
  fields[0] = 0x030F02F0;  // version 3.15.2 final
  fields[4] = 0x3a8;       // runtime_state.interpreters_head
  fields[7] = 0x1c60;      // interpreter_state.next
  fields[8] = 0x1ca8;      // interpreter_state.threads_head
  fields[23] = 0x8;        // thread_state.next
  fields[25] = 0x48;       // thread_state.current_frame
  fields[30] = 0xb8;       // thread_state.native_thread_id
  fields[38] = 0x58;       // interpreter_frame.size
  fields[39] = 0x8;        // interpreter_frame.previous
  fields[40] = 0x0;        // interpreter_frame.executable
  fields[41] = 0x38;       // interpreter_frame.instr_ptr
  fields[42] = 0x50;       // interpreter_frame.localsplus
  fields[43] = 0x4a;       // interpreter_frame.owner
  fields[46] = 0xd8;       // code_object.size
  fields[48] = 0x78;       // code_object.name
  fields[49] = 0x80;       // code_object.qualname
  fields[50] = 0x88;       // code_object.linetable
  fields[51] = 0x44;       // code_object.firstlineno
  fields[52] = 0x34;       // code_object.argcount
  fields[53] = 0x60;       // code_object.localsplusnames
  fields[55] = 0xd0;       // code_object.co_code_adaptive
  fields[57] = 0x10;       // pyobject.size
  fields[58] = 0x8;        // pyobject.ob_type
  fields[60] = 0x18;       // type_object.tp_name
  fields[62] = 0xa8;       // type_object.tp_flags
  fields[68] = 0x20;       // tuple_object.ob_item
  fields[69] = 0x10;       // tuple_object.ob_size
  fields[74] = 0x18;       // set_object.used
  fields[78] = 0x20;       // dict_object.ma_keys
  fields[81] = 0x10;       // float_object.ob_fval
  fields[83] = 0x10;       // long_object.lv_tag
  fields[84] = 0x18;       // long_object.ob_digit
  fields[86] = 0x10;       // bytes_object.ob_size
  fields[87] = 0x20;       // bytes_object.ob_sval
  fields[89] = 0x20;       // unicode_object.state
  fields[90] = 0x10;       // unicode_object.length
  fields[91] = 0x28;       // unicode_object.asciiobject_size
  fields[92] = 0x38;       // unicode_object.compactunicodeobject_size
  fields[24] = 0x10;       // thread_state.interp
  fields[104] = 24;        // debugger_support.eval_breaker
  fields[105] = 344;       // debugger_support.remote_debugger_support
  fields[106] = 8028;      // debugger_support.remote_debugging_enabled (in the interpreter state)
  fields[107] = 0;         // debugger_support.debugger_pending_call
  fields[108] = 4;         // debugger_support.debugger_script_path
  fields[109] = 512;       // debugger_support.debugger_script_path_size
  std::vector<uint8_t> table(8 + fields.size() * 8);
  std::memcpy(table.data(), "xdebugpy", 8);
  std::memcpy(table.data() + 8, fields.data(), fields.size() * 8);
  return table;
}

TEST(DebugOffsets, Reads315Layout) {
  DebugOffsets d = parse_debug_offsets(table_315());
  EXPECT_TRUE(d.problem.empty()) << d.problem;
  EXPECT_EQ(d.offsets.enabled, 1u);
  EXPECT_EQ(d.version_hex, 0x030F02F0u);
  EXPECT_EQ(d.offsets.tstate_current_frame, 0x48u);
  EXPECT_EQ(d.offsets.tstate_native_thread_id, 0xb8u);
  EXPECT_EQ(d.offsets.frame_owner, 0x4au);
  EXPECT_EQ(d.offsets.frame_instr_ptr, 0x38u);
  EXPECT_EQ(d.offsets.code_flags, 0x30u);  // the int before co_argcount
  EXPECT_EQ(d.offsets.code_firstlineno, 0x44u);
  EXPECT_EQ(d.offsets.code_adaptive, 0xd0u);
  EXPECT_EQ(d.offsets.unicode_ascii_data, 0x28u);
  EXPECT_EQ(d.offsets.unicode_compact_utf8, 0x30u);
  EXPECT_EQ(d.offsets.bytes_data, 0x20u);
  // PEP 768's remote execution.
  EXPECT_EQ(d.remote_exec.tstate_interp, 0x10u);
  EXPECT_EQ(d.remote_exec.interp_remote_debug, 8028u);
  EXPECT_EQ(d.remote_exec.eval_breaker, 24u);
  EXPECT_EQ(d.remote_exec.support, 344u);
  EXPECT_EQ(d.remote_exec.pending_call, 0u);
  EXPECT_EQ(d.remote_exec.script_path, 4u);
  EXPECT_EQ(d.remote_exec.script_path_size, 512u);
  // Argument values.
  EXPECT_EQ(d.offsets.frame_localsplus, 80u);
  EXPECT_EQ(d.offsets.arg_values, 1u);  // slots read with the frame's fields
  EXPECT_EQ(d.offsets.code_argcount, 52u);
  EXPECT_EQ(d.offsets.code_localsplusnames, 96u);
  EXPECT_EQ(d.offsets.object_type, 8u);
  EXPECT_EQ(d.offsets.type_name, 24u);
  EXPECT_EQ(d.offsets.type_flags, 168u);
  EXPECT_EQ(d.offsets.tuple_items, 32u);
  EXPECT_EQ(d.offsets.var_size, 16u);
  EXPECT_EQ(d.offsets.float_value, 16u);
  EXPECT_EQ(d.offsets.long_tag, 16u);
  EXPECT_EQ(d.offsets.long_digits, 24u);
  EXPECT_EQ(d.offsets.set_used, 24u);
  EXPECT_EQ(d.offsets.dict_used, 16u);
  EXPECT_EQ(d.offsets.unicode_length, 16u);
  EXPECT_EQ(d.offsets.unicode_compact_data, 56u);
  EXPECT_EQ(d.offsets.cell_ref, 16u);
}

TEST(DebugOffsets, RefusesWhatItCannotRead) {
  EXPECT_FALSE(parse_debug_offsets({}).offsets.enabled);

  auto wrong_cookie = table_315();
  wrong_cookie[0] = 'X';
  EXPECT_FALSE(parse_debug_offsets(wrong_cookie).offsets.enabled);

  auto other_version = table_315();
  uint64_t v314 = 0x030E00F0;
  std::memcpy(other_version.data() + 8, &v314, 8);
  DebugOffsets d = parse_debug_offsets(other_version);
  EXPECT_FALSE(d.offsets.enabled);
  EXPECT_NE(d.problem.find("3.15"), std::string::npos);

  auto free_threaded = table_315();
  uint64_t one = 1;
  std::memcpy(free_threaded.data() + 16, &one, 8);
  EXPECT_FALSE(parse_debug_offsets(free_threaded).offsets.enabled);

  auto inconsistent = table_315();
  uint64_t huge = 0x1000;
  std::memcpy(inconsistent.data() + 8 + 43 * 8, &huge, 8);  // owner past the frame's size
  EXPECT_FALSE(parse_debug_offsets(inconsistent).offsets.enabled);

  // A frame whose fields and first slots do not fit one read.
  auto big_frame = table_315();
  uint64_t far = PT_FRAME_READ_MAX;
  std::memcpy(big_frame.data() + 8 + 42 * 8, &far, 8);   // localsplus
  std::memcpy(big_frame.data() + 8 + 38 * 8, &huge, 8);  // the frame's size
  EXPECT_FALSE(parse_debug_offsets(big_frame).offsets.enabled);
}

}  // namespace
}  // namespace pytrace
