// SPDX-License-Identifier: MIT
#include "core/decoder.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

extern "C" {
#include "pytrace.h"
}

namespace pytrace {
namespace {

// The record's bytes, of this build's wire version unless the record names another.
template <typename Wire>
std::vector<std::byte> bytes_of(const Wire& wire, size_t extra = 0) {
  std::vector<std::byte> bytes(sizeof(wire) + extra);
  std::memcpy(bytes.data(), &wire, sizeof(wire));
  pt_header header;
  std::memcpy(&header, bytes.data(), sizeof(header));
  if (header.version == 0) header.version = PYTRACE_WIRE_VERSION;
  std::memcpy(bytes.data(), &header, sizeof(header));
  return bytes;
}

TEST(Decoder, FrameRecord) {
  pt_frame_record wire{};
  wire.h.kind = PT_REC_RETURN;
  wire.h.flags = PT_FRAME_SHIM;
  wire.h.pid = 7;
  wire.h.tid = 8;
  wire.h.seq = 9;
  wire.h.ts_ns = 10;
  wire.code = 0x1000;
  wire.frame = 0x2000;
  wire.caller_frame = 0x3000;
  wire.caller_code = 0x4000;
  wire.caller_instr = 12;
  wire.lineno = -1;
  DecodeResult result = decode_record(bytes_of(wire));
  ASSERT_TRUE(result.record) << result.error;
  const auto& rec = std::get<FrameRecord>(*result.record);
  EXPECT_TRUE(rec.is_return);
  EXPECT_EQ(rec.note, FrameNote::kInitShim);
  EXPECT_FALSE(rec.frame_unread);
  EXPECT_EQ(rec.header.pid, 7u);
  EXPECT_EQ(rec.header.tid, 8u);
  EXPECT_EQ(rec.header.seq, 9u);
  EXPECT_EQ(rec.header.ts_ns, 10u);
  EXPECT_EQ(rec.code, 0x1000u);
  EXPECT_EQ(rec.frame, 0x2000u);
  EXPECT_EQ(rec.caller_frame, 0x3000u);
  EXPECT_EQ(rec.caller_code, 0x4000u);
  EXPECT_EQ(rec.caller_instr, 12u);
  EXPECT_EQ(rec.lineno, -1);
}

TEST(Decoder, CallWithArgumentValues) {
  struct {
    pt_frame_record frame;
    pt_arg args[2];
  } wire{};
  wire.frame.h.kind = PT_REC_CALL;
  wire.frame.h.flags = PT_FRAME_ARGS;
  wire.frame.code = 0x1000;
  wire.args[0].kind = PT_ARG_INT;
  wire.args[0].size = 1;
  wire.args[0].text_len = 4;
  std::memcpy(wire.args[0].text, "\x2a\0\0\0", 4);
  wire.args[1].kind = PT_ARG_STR;
  wire.args[1].width = 1;
  wire.args[1].size = 5;
  wire.args[1].text_len = 5;
  std::memcpy(wire.args[1].text, "hello", 5);
  DecodeResult result = decode_record(bytes_of(wire));
  ASSERT_TRUE(result.record) << result.error;
  const auto& rec = std::get<FrameRecord>(*result.record);
  ASSERT_EQ(rec.args.size(), 2u);
  EXPECT_EQ(rec.args[0].kind, ArgKind::kInt);
  EXPECT_EQ(rec.args[1].kind, ArgKind::kStr);
  EXPECT_EQ(rec.args[0].text, std::string("\x2a\0\0\0", 4));
  EXPECT_EQ(rec.args[1].text, "hello");
  EXPECT_EQ(rec.args[1].size, 5u);

  // A partial value, a text longer than its field, or values without the flag.
  auto partial = bytes_of(wire);
  partial.resize(sizeof(wire) - 8);
  EXPECT_FALSE(decode_record(partial).record);
  wire.args[1].text_len = PT_ARG_TEXT_MAX + 1;
  EXPECT_FALSE(decode_record(bytes_of(wire)).record);
  wire.args[1].text_len = 5;
  wire.args[1].kind = PT_ARG_CLASS + 1;  // a kind this build does not know
  EXPECT_FALSE(decode_record(bytes_of(wire)).record);
  wire.args[1].kind = PT_ARG_STR;
  wire.frame.h.flags = 0;
  EXPECT_FALSE(decode_record(bytes_of(wire)).record);
}

TEST(Decoder, FrameFlagsBecomeNotes) {
  pt_frame_record wire{};
  wire.h.kind = PT_REC_CALL;
  wire.h.flags = PT_FRAME_GEN_CREATE | PT_FRAME_UNREAD;
  DecodeResult result = decode_record(bytes_of(wire));
  ASSERT_TRUE(result.record) << result.error;
  const auto& call = std::get<FrameRecord>(*result.record);
  EXPECT_EQ(call.note, FrameNote::kGeneratorCreation);
  EXPECT_TRUE(call.frame_unread);
  EXPECT_FALSE(call.is_return);
  // Each note belongs to one side: a shim never enters, a creation never returns.
  wire.h.flags = PT_FRAME_SHIM;
  EXPECT_EQ(std::get<FrameRecord>(*decode_record(bytes_of(wire)).record).note, FrameNote::kNone);
  wire.h.kind = PT_REC_RETURN;
  wire.h.flags = PT_FRAME_GEN_CREATE;
  EXPECT_EQ(std::get<FrameRecord>(*decode_record(bytes_of(wire)).record).note, FrameNote::kNone);
}

TEST(Decoder, RecordsOfAnotherWireVersionAreRefused) {
  pt_frame_record wire{};
  wire.h.kind = PT_REC_CALL;
  wire.h.version = PYTRACE_WIRE_VERSION + 1;
  DecodeResult result = decode_record(bytes_of(wire));
  EXPECT_FALSE(result.record);
  EXPECT_NE(result.error.find("wire version"), std::string::npos) << result.error;
}

TEST(Decoder, CodeRecordWithLineTable) {
  pt_code_record wire{};
  wire.h.kind = PT_REC_CODE;
  wire.code = 0x10;
  wire.first_lineno = 3;
  wire.code_flags = PT_CO_OPTIMIZED | PT_CO_GENERATOR | PT_CO_VARKEYWORDS;
  wire.linetable_len = 3;
  wire.linetable_full_len = 5;
  std::strcpy(wire.filename, "/p/a.py");
  std::strcpy(wire.name, "f");
  std::strcpy(wire.qualname, "C.f");
  auto bytes = bytes_of(wire, 3);
  bytes[sizeof(wire)] = std::byte{0x80};
  bytes[sizeof(wire) + 2] = std::byte{0x7f};
  DecodeResult result = decode_record(bytes);
  ASSERT_TRUE(result.record) << result.error;
  const auto& rec = std::get<CodeRecord>(*result.record);
  EXPECT_EQ(rec.filename, "/p/a.py");
  EXPECT_EQ(rec.name, "f");
  EXPECT_EQ(rec.qualname, "C.f");
  EXPECT_EQ(rec.first_lineno, 3);
  EXPECT_TRUE(rec.flags.function);
  EXPECT_TRUE(rec.flags.generator);
  EXPECT_FALSE(rec.flags.varargs);
  EXPECT_TRUE(rec.flags.varkeywords);
  EXPECT_EQ(rec.linetable, (std::vector<uint8_t>{0x80, 0x00, 0x7f}));
  EXPECT_TRUE(rec.linetable_cut);
}

// A path with bytes that are not UTF-8: Python holds them as the lone
// surrogates U+DC80..U+DCFF, and the record sends the str's code units.
TEST(Decoder, FileNamesWithoutUtf8FormBecomeTheirBytes) {
  pt_code_record wire{};
  wire.h.kind = PT_REC_CODE;
  const char16_t units[] = u"/p/d\xdcffx/\x00e9\xdcfe.py";
  wire.filename_width = 2;
  wire.filename_bytes = sizeof(units) - sizeof(char16_t);
  std::memcpy(wire.filename, units, wire.filename_bytes);
  DecodeResult result = decode_record(bytes_of(wire));
  ASSERT_TRUE(result.record) << result.error;
  EXPECT_EQ(std::get<CodeRecord>(*result.record).filename, "/p/d\xffx/\xc3\xa9\xfe.py");

  const char32_t wide[] = U"/\xdc80\xd800\x1f600";  // an escaped byte, a lone high surrogate, an emoji
  wire.filename_width = 4;
  wire.filename_bytes = sizeof(wide) - sizeof(char32_t);
  std::memcpy(wire.filename, wide, wire.filename_bytes);
  result = decode_record(bytes_of(wire));
  ASSERT_TRUE(result.record) << result.error;
  EXPECT_EQ(std::get<CodeRecord>(*result.record).filename, "/\x80\xef\xbf\xbd\xf0\x9f\x98\x80");

  wire.filename_width = 3;  // not a width a str has
  EXPECT_FALSE(decode_record(bytes_of(wire)).record);
  wire.filename_width = 1;
  wire.filename_bytes = sizeof(wire.filename) + 1;
  EXPECT_FALSE(decode_record(bytes_of(wire)).record);
}

TEST(Decoder, StringWithoutTerminatorIsCutAtItsField) {
  pt_code_record wire{};
  wire.h.kind = PT_REC_CODE;
  std::memset(wire.name, 'x', sizeof(wire.name));
  DecodeResult result = decode_record(bytes_of(wire));
  ASSERT_TRUE(result.record) << result.error;
  EXPECT_EQ(std::get<CodeRecord>(*result.record).name.size(), sizeof(wire.name));
}

TEST(Decoder, ImportRecords) {
  pt_import_record wire{};
  wire.h.kind = PT_REC_IMPORT_DONE;
  wire.found = 1;
  std::strcpy(wire.module, "json.decoder");
  DecodeResult result = decode_record(bytes_of(wire));
  ASSERT_TRUE(result.record) << result.error;
  const auto& rec = std::get<ImportRecord>(*result.record);
  EXPECT_TRUE(rec.done);
  EXPECT_EQ(rec.found, 1);
  EXPECT_EQ(rec.module, "json.decoder");
}

TEST(Decoder, StackProcessAndThreadExitRecords) {
  pt_stack_record stack{};
  stack.h.kind = PT_REC_STACK;
  stack.depth = 2;
  stack.truncated = 1;
  stack.frames[0] = {0x10, 0x20, 3, 0};
  stack.frames[1] = {0x30, 0x40, 5, 0};
  DecodeResult result = decode_record(bytes_of(stack));
  ASSERT_TRUE(result.record) << result.error;
  const auto& s = std::get<StackRecord>(*result.record);
  ASSERT_EQ(s.frames.size(), 2u);
  EXPECT_EQ(s.frames[1].frame, 0x30u);
  EXPECT_EQ(s.frames[1].code, 0x40u);
  EXPECT_EQ(s.frames[1].instr, 5u);
  EXPECT_TRUE(s.truncated);
  stack.depth = PT_STACK_MAX + 1;
  EXPECT_FALSE(decode_record(bytes_of(stack)).record);

  pt_process_record process{};
  process.h.kind = PT_REC_PROCESS;
  process.h.pid = 10;
  process.child_pid = 11;
  result = decode_record(bytes_of(process));
  ASSERT_TRUE(result.record) << result.error;
  EXPECT_EQ(std::get<ProcessRecord>(*result.record).child_pid, 11u);

  pt_thread_exit_record exit{};
  exit.h.kind = PT_REC_THREAD_EXIT;
  std::strcpy(exit.comm, "Thread-1 (work");
  result = decode_record(bytes_of(exit));
  ASSERT_TRUE(result.record) << result.error;
  EXPECT_EQ(std::get<ThreadExitRecord>(*result.record).name, "Thread-1 (work");
}

TEST(Decoder, RejectsWhatIsNotARecord) {
  EXPECT_FALSE(decode_record({}).record);

  pt_frame_record frame{};
  frame.h.kind = PT_REC_CALL;
  auto shorter = bytes_of(frame);
  shorter.pop_back();
  EXPECT_FALSE(decode_record(shorter).record);
  EXPECT_FALSE(decode_record(bytes_of(frame, 1)).record);

  frame.h.kind = 99;
  DecodeResult unknown = decode_record(bytes_of(frame));
  EXPECT_FALSE(unknown.record);
  EXPECT_NE(unknown.error.find("unknown record kind 99"), std::string::npos);

  pt_code_record code{};
  code.h.kind = PT_REC_CODE;
  code.linetable_len = 10;  // more than follows
  EXPECT_FALSE(decode_record(bytes_of(code, 4)).record);
  code.linetable_len = PT_LINETABLE_MAX + 1;
  EXPECT_FALSE(decode_record(bytes_of(code, PT_LINETABLE_MAX + 1)).record);
}

}  // namespace
}  // namespace pytrace
