/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The wire format between pytrace.bpf.c and the userspace decoder.
 *
 * This is the only definition of these structures: the BPF program writes
 * them into the ring buffer and userspace/core/decoder.cpp reads them back,
 * turning them into the plain C++ records of core/records.h; nothing past
 * the decoder sees this file's types. Every record carries
 * PYTRACE_WIRE_VERSION, which the decoder checks. Record kinds are
 * append-only; a change to a layout bumps the version and the size
 * assertions at the end.
 */
#ifndef PYTRACE_WIRE_H
#define PYTRACE_WIRE_H

#include <linux/types.h>

#define PYTRACE_WIRE_VERSION 5

/* String capacities, including the terminating NUL. Longer strings are cut. */
#define PT_FILENAME_MAX 512
#define PT_NAME_MAX 128
#define PT_QUALNAME_MAX 256
#define PT_MODULE_MAX 256
/* Line tables longer than this are cut; lines past the cut read as unknown.
 * A code record and its table are built in a per-CPU map value, which the
 * kernel limits to 32 KiB. */
#define PT_LINETABLE_MAX (31 * 1024 - 256)
/* Frames kept in a stack record; deeper stacks are cut at the outer end. */
#define PT_STACK_MAX 128
#define PT_ARGS_MAX 8	     /* argument values sent per call */
#define PT_ARG_NAME_MAX 32   /* bytes of an argument's name */
#define PT_ARG_TEXT_MAX 104  /* bytes of a str, bytes, big int or type name */
/* Bytes of an interpreter frame read at once: its fields and, at an entry,
 * the first PT_ARGS_MAX argument slots after them. */
#define PT_FRAME_READ_MAX 160
/* Bytes of an argument's object read at once: its header and the fields
 * right after it (an int's tag and first digits, a str's length and state,
 * a container's size). */
#define PT_OBJECT_READ 48

enum pt_record_kind {
	PT_REC_CODE = 1,	 /* describes a code object; precedes its first call */
	PT_REC_CALL = 2,	 /* python:function__entry */
	PT_REC_RETURN = 3,	 /* python:function__return */
	PT_REC_IMPORT_START = 4, /* python:import__find__load__start */
	PT_REC_IMPORT_DONE = 5,	 /* python:import__find__load__done */
	PT_REC_STACK = 6,	 /* the frames a thread was already running */
	PT_REC_PROCESS = 7,	 /* a traced process forked a new process */
	PT_REC_THREAD_EXIT = 8,	 /* a thread of a traced process ends */
};

/* pt_header.flags on call and return records. */
enum pt_frame_flags {
	/* Entry of a generator/coroutine creation frame: it runs no code of
	 * the user's and never fires a return. */
	PT_FRAME_GEN_CREATE = 1 << 0,
	/* Return of the hidden __init__ shim frame (_Py_InitCleanup), which
	 * fires no entry. */
	PT_FRAME_SHIM = 1 << 1,
	/* The interpreter frame could not be read: `code` is a synthetic key
	 * built from the string pointers and `frame` is 0. */
	PT_FRAME_UNREAD = 1 << 2,
	/* A call record followed by one struct pt_arg per argument (as many
	 * as the record's size holds). */
	PT_FRAME_ARGS = 1 << 3,
};

struct pt_header {
	__u16 kind;    /* enum pt_record_kind */
	__u16 flags;   /* enum pt_frame_flags */
	__u32 pid;     /* tgid */
	__u32 tid;
	__u32 version; /* PYTRACE_WIRE_VERSION */
	__u64 seq;     /* per-thread sequence number of this record, from 1; 0: none */
	__u64 ts_ns; /* CLOCK_MONOTONIC */
};

/*
 * Sent once per code object (keyed by its address) before the first call
 * record that names it, and again if the address is reused by another code
 * object. Strings and the line table are copied here only, not on every call.
 * The record is variable-sized: `linetable_len` bytes of co_linetable follow
 * the fixed part (no flexible array member, which C++ lacks).
 */
struct pt_code_record {
	struct pt_header h;
	__u64 code;	     /* code object address, or a synthetic odd key */
	__u64 description;   /* this description's number, for scope verdicts */
	__s32 first_lineno;  /* co_firstlineno, or -1 when unknown */
	__u32 code_flags;    /* co_flags, 0 when unknown */
	__u32 linetable_len; /* bytes of co_linetable that follow */
	__u32 linetable_full_len; /* its real length (more means cut) */
	char filename[PT_FILENAME_MAX];
	char name[PT_NAME_MAX];
	char qualname[PT_QUALNAME_MAX]; /* empty when unknown */
	/* The code's arguments: positional, keyword-only, *args, **kwargs, in
	 * that order; names of the first PT_ARGS_MAX. */
	__u32 arg_count; /* all of them, 0 when unknown */
	__u32 kwonly_count; /* of them keyword-only (co_kwonlyargcount) */
	/* 0: `filename` is UTF-8 text. 1, 2 or 4: co_filename has no UTF-8
	 * form (a path with bytes that are not UTF-8 holds lone surrogates),
	 * and `filename` holds its first filename_bytes bytes of code units of
	 * that width, as the str object stores them. */
	__u16 filename_width;
	__u16 filename_bytes;
	char arg_names[PT_ARGS_MAX][PT_ARG_NAME_MAX];
};

/*
 * A call (PT_REC_CALL) or a return (PT_REC_RETURN). Both carry the caller,
 * because a frame can run without an entry probe (a generator resumed by
 * throw() or close() fires only its return), and userspace then has to put
 * it back under the right frame.
 */
struct pt_frame_record {
	struct pt_header h;
	__u64 code;	    /* key of a previously sent pt_code_record */
	__u64 frame;	    /* _PyInterpreterFrame address, 0 when unread */
	__u64 caller_frame; /* the calling Python frame, 0 when unread or none */
	__u64 caller_code;  /* its code object */
	__u32 caller_instr; /* its current instruction, in code units: the call */
	__s32 lineno;	    /* the probe's lineno: current line, -1 if none */
};

/* What a value read from an argument's slot is. */
enum pt_arg_kind {
	PT_ARG_UNREAD = 0, /* the slot or the object could not be read */
	PT_ARG_NONE = 1,
	PT_ARG_BOOL = 2,   /* value: 0 or 1 */
	PT_ARG_INT = 3,	   /* int or a subclass; text: size 30-bit digits, sign in value */
	PT_ARG_FLOAT = 4,  /* value: the double's bits */
	PT_ARG_STR = 5,	   /* str or a subclass; size: characters; text: the first of them */
	PT_ARG_BYTES = 6,  /* size: bytes; text: the first of them */
	PT_ARG_LIST = 7,   /* list, tuple, dict or set (or a subclass): size: items */
	PT_ARG_TUPLE = 8,
	PT_ARG_DICT = 9,
	PT_ARG_SET = 10,
	PT_ARG_OBJECT = 11, /* anything else: value: its address; text: its type's tp_name */
	PT_ARG_EMPTY = 12,  /* the slot holds no object */
	PT_ARG_CLASS = 13,  /* a class: text: its tp_name */
};

struct pt_arg {
	__u8 kind;     /* enum pt_arg_kind */
	__u8 width;    /* PT_ARG_STR: bytes per character (1, 2 or 4) */
	__u16 text_len; /* bytes of text used */
	__u32 _pad;
	__u64 value;
	__u64 size;
	char text[PT_ARG_TEXT_MAX];
};

struct pt_stack_frame {
	__u64 frame;
	__u64 code;
	__u32 instr; /* current instruction, in code units */
	__u32 _pad;
};

/*
 * Sent before the first call or return record of each thread: the Python
 * frames the thread was already running when it was first seen (none for a
 * thread that starts under the probes; the running stack when attaching to
 * a process). Their code objects are described before this record.
 */
struct pt_stack_record {
	struct pt_header h;
	__u32 depth;	 /* frames used, innermost first */
	__u32 truncated; /* 1 when older frames did not fit */
	struct pt_stack_frame frames[PT_STACK_MAX];
};

/* A traced process forked: the new one is traced from its first instruction.
 * The header is the forking thread's. */
struct pt_process_record {
	struct pt_header h;
	__u32 child_pid;
	__u32 _pad;
};

/* The thread's name as it ends: Python names its threads after they start. */
struct pt_thread_exit_record {
	struct pt_header h;
	char comm[16];
	__u32 process_ended; /* it was its process's last thread */
	__u32 _pad;
};

struct pt_import_record {
	struct pt_header h;
	__s32 found; /* import__find__load__done only */
	__u32 _pad;
	char module[PT_MODULE_MAX];
};

/*
 * Where to find things inside CPython's runtime structures. Filled by
 * userspace from the interpreter's own _Py_DebugOffsets table (section
 * .PyRuntime, cookie "xdebugpy") and written into the BPF program's
 * read-only data before load.
 */
struct pt_python_offsets {
	__u64 runtime_interpreters_head;
	__u64 interp_next;
	__u64 interp_threads_head;
	__u64 tstate_next;
	__u64 tstate_current_frame;
	__u64 tstate_native_thread_id;
	__u64 frame_executable;
	__u64 frame_previous;
	__u64 frame_owner;
	__u64 code_flags;
	__u64 code_firstlineno;
	__u64 code_name;
	__u64 code_filename;
	__u64 code_qualname;
	__u64 code_linetable;
	__u64 code_adaptive; /* offsetof(PyCodeObject, co_code_adaptive) */
	__u64 frame_instr_ptr;
	__u64 bytes_size;    /* offsetof(PyVarObject, ob_size) for bytes */
	__u64 bytes_data;    /* offsetof(PyBytesObject, ob_sval) */
	__u64 unicode_state;
	__u64 unicode_ascii_data;   /* sizeof(PyASCIIObject) */
	__u64 unicode_compact_utf8; /* offsetof(PyCompactUnicodeObject, utf8) */
	/* Argument values. */
	__u64 frame_localsplus; /* where the frame's slots start, after its fields */
	__u64 code_argcount; /* co_argcount; co_kwonlyargcount is 8 bytes on */
	__u64 code_localsplusnames;
	__u64 object_type;
	__u64 type_name;
	__u64 type_flags;
	__u64 tuple_items;
	__u64 var_size;	     /* offsetof(PyVarObject, ob_size) */
	__u64 float_value;
	__u64 long_tag;
	__u64 long_digits;
	__u64 set_used;
	__u64 dict_used;
	__u64 unicode_length;
	__u64 unicode_compact_data; /* sizeof(PyCompactUnicodeObject) */
	__u64 cell_ref;		    /* offsetof(PyCellObject, ob_ref) */
	/* Type objects minus _PyRuntime, 0 when not exported. */
	__s64 none_type_from_runtime;
	__s64 bool_type_from_runtime;
	__s64 float_type_from_runtime;
	__s64 set_type_from_runtime;
	__s64 cell_type_from_runtime;
	/* Exact types told apart without reading their flags. */
	__s64 long_type_from_runtime;
	__s64 unicode_type_from_runtime;
	__s64 bytes_type_from_runtime;
	__s64 list_type_from_runtime;
	__s64 tuple_type_from_runtime;
	__s64 dict_type_from_runtime;
	/* _Py_InitCleanup (the code of the __init__ shim frame) minus _PyRuntime,
	 * or 0 when the interpreter does not export it. */
	__s64 init_shim_from_runtime;
	__u32 enabled;	  /* 0: do not read frames, use synthetic keys */
	__u32 arg_values; /* 0: leave the frames' slots alone (--no-arg-values) */
	__u32 scope_filter; /* 1: leave out what the scope verdicts say cannot be logged */
	__u32 _pad;
};

/* Counters the BPF program keeps in .bss; read by userspace at the end. */
struct pt_stats {
	__u64 ringbuf_drops;	 /* records lost because the ring buffer was full */
	__u64 tstate_misses;	 /* thread state of the current thread not found */
	__u64 frame_mismatches;	 /* current frame did not match the probe's code */
	__u64 scratch_busy;	 /* code or stack records not sent: every scratch slot in use */
	__u64 untraced_processes; /* forked by a traced process, not traced: the process map was full */
};

/*
 * Filtering in the kernel (docs/probes.md): what userspace found about a
 * code object's file, by its address, for the description numbered
 * `description` (a reused address is described again, with a new number,
 * and its old verdict no longer counts). A call of PT_SCOPE_OUT code from
 * PT_SCOPE_OUT code can never be logged: neither it nor its return is sent.
 */
enum pt_scope {
	PT_SCOPE_UNKNOWN = 0, /* no verdict yet: send */
	PT_SCOPE_OUT = 1,     /* out of the scope, and of no use to the tool */
	PT_SCOPE_SEND = 2,    /* in the scope, or read by the tool (threading.py, its own script) */
};

struct pt_scope_verdict {
	__u64 description;
	__u32 scope; /* enum pt_scope */
	__u32 _pad;
};

/* CPython constants the BPF side tests against (stable across 3.x). */
#define PT_CO_OPTIMIZED 0x0001
#define PT_CO_VARARGS 0x0004
#define PT_CO_VARKEYWORDS 0x0008
#define PT_CO_GENERATOR 0x0020
#define PT_CO_COROUTINE 0x0080
#define PT_CO_ASYNC_GENERATOR 0x0200
#define PT_FRAME_OWNED_BY_THREAD 0
#define PT_FRAME_OWNED_BY_INTERPRETER 3
#define PT_TPFLAGS_LONG_SUBCLASS (1ULL << 24)
#define PT_TPFLAGS_LIST_SUBCLASS (1ULL << 25)
#define PT_TPFLAGS_TUPLE_SUBCLASS (1ULL << 26)
#define PT_TPFLAGS_BYTES_SUBCLASS (1ULL << 27)
#define PT_TPFLAGS_UNICODE_SUBCLASS (1ULL << 28)
#define PT_TPFLAGS_DICT_SUBCLASS (1ULL << 29)
#define PT_TPFLAGS_TYPE_SUBCLASS (1ULL << 31)

/* The layouts both compilers must agree on (clang for BPF, g++ for userspace). */
#ifdef __cplusplus
#define PT_WIRE_SIZE(type, size) static_assert(sizeof(struct type) == (size), "wire layout of " #type)
#else
#define PT_WIRE_SIZE(type, size) _Static_assert(sizeof(struct type) == (size), "wire layout of " #type)
#endif
PT_WIRE_SIZE(pt_header, 32);
PT_WIRE_SIZE(pt_code_record, 1232);
PT_WIRE_SIZE(pt_scope_verdict, 16);
PT_WIRE_SIZE(pt_frame_record, 72);
PT_WIRE_SIZE(pt_arg, 128);
PT_WIRE_SIZE(pt_stack_frame, 24);
PT_WIRE_SIZE(pt_stack_record, 3112);
PT_WIRE_SIZE(pt_process_record, 40);
PT_WIRE_SIZE(pt_thread_exit_record, 56);
PT_WIRE_SIZE(pt_import_record, 296);
#undef PT_WIRE_SIZE

#endif /* PYTRACE_WIRE_H */
