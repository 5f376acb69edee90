// SPDX-License-Identifier: MIT
#include "core/decoder.h"

#include <algorithm>
#include <cstring>

#include "core/json_text.h"

extern "C" {
#include "pytrace.h"
}

namespace pytrace {
namespace {

template <size_t N>
std::string field_string(const char (&field)[N]) {
  return std::string(field, strnlen(field, N));
}

RecordHeader to_header(const pt_header& h) {
  return RecordHeader{h.pid, h.tid, h.seq, h.ts_ns};
}

CodeFlags to_code_flags(uint32_t co_flags) {
  return CodeFlags{(co_flags & PT_CO_OPTIMIZED) != 0,
                   (co_flags & (PT_CO_GENERATOR | PT_CO_COROUTINE | PT_CO_ASYNC_GENERATOR)) != 0,
                   (co_flags & PT_CO_VARARGS) != 0, (co_flags & PT_CO_VARKEYWORDS) != 0};
}

std::optional<ArgKind> to_arg_kind(uint8_t kind) {
  switch (kind) {
    case PT_ARG_UNREAD:
      return ArgKind::kUnread;
    case PT_ARG_NONE:
      return ArgKind::kNone;
    case PT_ARG_BOOL:
      return ArgKind::kBool;
    case PT_ARG_INT:
      return ArgKind::kInt;
    case PT_ARG_FLOAT:
      return ArgKind::kFloat;
    case PT_ARG_STR:
      return ArgKind::kStr;
    case PT_ARG_BYTES:
      return ArgKind::kBytes;
    case PT_ARG_LIST:
      return ArgKind::kList;
    case PT_ARG_TUPLE:
      return ArgKind::kTuple;
    case PT_ARG_DICT:
      return ArgKind::kDict;
    case PT_ARG_SET:
      return ArgKind::kSet;
    case PT_ARG_OBJECT:
      return ArgKind::kObject;
    case PT_ARG_EMPTY:
      return ArgKind::kEmpty;
    case PT_ARG_CLASS:
      return ArgKind::kClass;
    default:
      return std::nullopt;
  }
}

template <typename Wire>
bool read_fixed(std::span<const std::byte> bytes, Wire& out) {
  if (bytes.size() < sizeof(Wire)) return false;
  std::memcpy(&out, bytes.data(), sizeof(Wire));
  return true;
}

// The bytes of a path that Python holds as code units of `width` bytes:
// UTF-8, but the surrogates U+DC80..U+DCFF, which stand for bytes that were
// not UTF-8 (Python's surrogateescape), become those bytes again, as
// os.fsencode() makes them. Other lone surrogates become U+FFFD.
std::string path_from_code_units(const char* data, size_t bytes, unsigned width) {
  std::string path;
  for (size_t i = 0; i + width <= bytes; i += width) {
    uint32_t code = 0;
    std::memcpy(&code, data + i, width);  // in the machine's order: the build is for little-endian ones
    if (code >= 0xdc80 && code <= 0xdcff)
      path += static_cast<char>(code - 0xdc00);
    else if ((code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
      append_utf8(path, 0xfffd);
    else
      append_utf8(path, code);
  }
  return path;
}

DecodeResult fail(std::string message) {
  return DecodeResult{std::nullopt, std::move(message)};
}

DecodeResult decode_code(std::span<const std::byte> bytes) {
  pt_code_record wire{};
  if (!read_fixed(bytes, wire)) return fail("code record too short");
  if (wire.linetable_len > PT_LINETABLE_MAX || bytes.size() != sizeof(wire) + wire.linetable_len) {
    return fail("code record size " + std::to_string(bytes.size()) +
                " does not match its line table length " + std::to_string(wire.linetable_len));
  }
  CodeRecord record;
  record.header = to_header(wire.h);
  record.code = wire.code;
  record.description = wire.description;
  record.first_lineno = wire.first_lineno;
  record.flags = to_code_flags(wire.code_flags);
  if (wire.filename_width == 0) {
    record.filename = field_string(wire.filename);
  } else {
    unsigned width = wire.filename_width;
    if ((width != 1 && width != 2 && width != 4) || wire.filename_bytes > sizeof(wire.filename))
      return fail("code record with a file name of " + std::to_string(wire.filename_bytes) +
                  " bytes of width " + std::to_string(width));
    record.filename = path_from_code_units(wire.filename, wire.filename_bytes, width);
  }
  record.name = field_string(wire.name);
  record.qualname = field_string(wire.qualname);
  const auto* table = reinterpret_cast<const uint8_t*>(bytes.data() + sizeof(wire));
  record.linetable.assign(table, table + wire.linetable_len);
  record.linetable_cut = wire.linetable_full_len > wire.linetable_len;
  record.arg_count = wire.arg_count;
  record.kwonly_count = std::min(wire.kwonly_count, wire.arg_count);
  for (uint32_t i = 0; i < std::min<uint32_t>(wire.arg_count, PT_ARGS_MAX); ++i) {
    record.arg_names.push_back(field_string(wire.arg_names[i]));
  }
  return DecodeResult{Record{std::move(record)}, {}};
}

// A call or a return; a call may carry its argument values after it.
DecodeResult decode_frame(std::span<const std::byte> bytes, const pt_header& header) {
  pt_frame_record wire{};
  bool with_args = header.kind == PT_REC_CALL && (header.flags & PT_FRAME_ARGS);
  size_t extra = bytes.size() >= sizeof(wire) ? bytes.size() - sizeof(wire) : 0;
  if (!read_fixed(bytes, wire) || (!with_args && extra != 0) ||
      (with_args && (extra % sizeof(pt_arg) != 0 || extra / sizeof(pt_arg) > PT_ARGS_MAX)))
    return fail("call or return record has size " + std::to_string(bytes.size()));
  FrameRecord record;
  record.header = to_header(wire.h);
  record.is_return = header.kind == PT_REC_RETURN;
  if (!record.is_return && (header.flags & PT_FRAME_GEN_CREATE)) record.note = FrameNote::kGeneratorCreation;
  if (record.is_return && (header.flags & PT_FRAME_SHIM)) record.note = FrameNote::kInitShim;
  record.frame_unread = header.flags & PT_FRAME_UNREAD;
  record.code = wire.code;
  record.frame = wire.frame;
  record.caller_frame = wire.caller_frame;
  record.caller_code = wire.caller_code;
  record.caller_instr = wire.caller_instr;
  record.lineno = wire.lineno;
  for (size_t i = 0; i < extra / sizeof(pt_arg); ++i) {
    pt_arg arg;
    std::memcpy(&arg, bytes.data() + sizeof(wire) + i * sizeof(pt_arg), sizeof(arg));
    if (arg.text_len > PT_ARG_TEXT_MAX)
      return fail("argument value with " + std::to_string(arg.text_len) + " bytes");
    std::optional<ArgKind> kind = to_arg_kind(arg.kind);
    if (!kind) return fail("argument value of unknown kind " + std::to_string(arg.kind));
    record.args.push_back({*kind, arg.width, arg.value, arg.size, std::string(arg.text, arg.text_len)});
  }
  return DecodeResult{Record{std::move(record)}, {}};
}

}  // namespace

DecodeResult decode_record(std::span<const std::byte> bytes) {
  pt_header header{};
  if (!read_fixed(bytes, header)) return fail("record shorter than its header");
  if (header.version != PYTRACE_WIRE_VERSION) {
    return fail("record of wire version " + std::to_string(header.version) + ", this build reads version " +
                std::to_string(PYTRACE_WIRE_VERSION));
  }

  switch (header.kind) {
    case PT_REC_CODE:
      return decode_code(bytes);
    case PT_REC_CALL:
    case PT_REC_RETURN:
      return decode_frame(bytes, header);
    case PT_REC_IMPORT_START:
    case PT_REC_IMPORT_DONE: {
      pt_import_record wire{};
      if (bytes.size() != sizeof(wire) || !read_fixed(bytes, wire))
        return fail("import record has size " + std::to_string(bytes.size()));
      return DecodeResult{ImportRecord{to_header(wire.h), header.kind == PT_REC_IMPORT_DONE, wire.found,
                                       field_string(wire.module)},
                          {}};
    }
    case PT_REC_STACK: {
      pt_stack_record wire;
      if (bytes.size() != sizeof(wire) || !read_fixed(bytes, wire))
        return fail("stack record has size " + std::to_string(bytes.size()));
      if (wire.depth > PT_STACK_MAX) return fail("stack record of depth " + std::to_string(wire.depth));
      StackRecord record{to_header(wire.h), {}, wire.truncated != 0};
      for (uint32_t i = 0; i < wire.depth; ++i) {
        record.frames.push_back({wire.frames[i].frame, wire.frames[i].code, wire.frames[i].instr});
      }
      return DecodeResult{Record{std::move(record)}, {}};
    }
    case PT_REC_PROCESS: {
      pt_process_record wire{};
      if (bytes.size() != sizeof(wire) || !read_fixed(bytes, wire))
        return fail("process record has size " + std::to_string(bytes.size()));
      return DecodeResult{ProcessRecord{to_header(wire.h), wire.child_pid}, {}};
    }
    case PT_REC_THREAD_EXIT: {
      pt_thread_exit_record wire{};
      if (bytes.size() != sizeof(wire) || !read_fixed(bytes, wire))
        return fail("thread exit record has size " + std::to_string(bytes.size()));
      return DecodeResult{
          ThreadExitRecord{to_header(wire.h), field_string(wire.comm), wire.process_ended != 0}, {}};
    }
    default:
      return fail("unknown record kind " + std::to_string(header.kind));
  }
}

}  // namespace pytrace
