// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * USDT programs for CPython's function and import probes.
 *
 * Every probe hit becomes one ring-buffer record (see pytrace.h). Besides the
 * probe's own arguments, the program reads the interpreter frame that the
 * probe describes, through the offsets CPython publishes in _Py_DebugOffsets:
 * the frame address lets userspace match each return to the entry it closes,
 * the code object gives co_firstlineno (the probe's lineno is -1 for frames
 * that start with MAKE_CELL/COPY_FREE_VARS), co_qualname, co_flags and the
 * line table; the frame owner tells generator-creation entries from real
 * calls, and the code address the __init__ shim's returns. The caller's
 * instruction gives the call site. When the frame cannot be read, records
 * carry a synthetic code key and userspace falls back to matching by name.
 */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "pytrace.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by userspace before load. */
const volatile struct pt_python_offsets py = {};

/* How many thread states to visit when looking for the current thread's. */
#define MAX_TSTATE_WALK 256
/* The low bits of a _PyStackRef are tag bits; objects are 8-byte aligned. */
#define STACKREF_TAG_MASK 7ULL
/* PyASCIIObject.state bit fields (GIL build): interned:2 kind:3 compact:1 ascii:1 */
#define UNICODE_STATE_COMPACT (1U << 5)
#define UNICODE_STATE_ASCII (1U << 6)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20); /* resized by userspace */
} events SEC(".maps");

struct thread_info {
	__u64 seq;	   /* last sequence number given to this thread */
	__u64 tstate;	   /* cached PyThreadState address, 0 if unknown */
	__u64 stack_sent;  /* the thread's running frames have been sent */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct thread_info);
} threads SEC(".maps");

/* What was last sent for a code key: resend when the address is reused.
 * A hit also stands for the check that the frame read is the probe's. */
struct code_seen {
	__u64 filename; /* the probe's string pointers */
	__u64 name;
	__u32 flags;	/* co_flags */
	__u32 nargs;	/* argument slots to send with each call */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct code_seen);
} codes SEC(".maps");

/* Per-CPU space to build a code record in; it is larger than the BPF stack. */
struct code_scratch {
	__u8 bytes[sizeof(struct pt_code_record) + PT_LINETABLE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct code_scratch);
} scratch SEC(".maps");

/* Per-CPU space to build a stack record in before sending it: the code
 * records of its frames have to go into the ring buffer first. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pt_stack_record);
} stack_scratch SEC(".maps");

/* Per-CPU space to build a call record and its argument values in: their
 * size depends on the code's argument count. */
struct call_with_args {
	struct pt_frame_record rec;
	struct pt_arg args[PT_ARGS_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct call_with_args);
} args_scratch SEC(".maps");

/* Processes whose forks are followed: the traced process (added by
 * userspace) and its descendants (added on fork). Value: the parent. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} traced SEC(".maps");

struct pt_stats stats = {};
/* Set by userspace once every probe of the traced process is attached: an
 * entry probe attached before its return probe would otherwise send calls
 * that never return (attaching to a running process). */
__u32 active = 0;

/* Facts about the frame behind a probe hit. */
struct frame_facts {
	__u64 runtime;	 /* address of _PyRuntime */
	__u64 init_shim; /* address of _Py_InitCleanup, 0 if unknown */
	__u64 code;
	__u64 frame;
	__u64 caller_frame;
	__u64 caller_code;
	__u32 caller_instr;
	__u32 code_flags;
	__u8 read; /* 1 when the frame was read and is the probe's */
};

static __always_inline __u64 read_u64(__u64 addr)
{
	__u64 value = 0;

	bpf_probe_read_user(&value, sizeof(value), (const void *)addr);
	return value;
}

static __always_inline struct thread_info *thread_info_for(__u32 tid)
{
	struct thread_info *info = bpf_map_lookup_elem(&threads, &tid);

	if (!info) {
		struct thread_info fresh = {};

		bpf_map_update_elem(&threads, &tid, &fresh, BPF_NOEXIST);
		info = bpf_map_lookup_elem(&threads, &tid);
	}
	return info;
}

/* Every record takes the next number, sent or lost, so userspace sees gaps. */
static __always_inline __u64 take_seq(struct thread_info *info)
{
	return __sync_add_and_fetch(&info->seq, 1);
}

static __always_inline void fill_header(struct pt_header *h, __u16 kind, __u16 flags,
					__u64 pid_tgid, __u64 seq)
{
	h->kind = kind;
	h->flags = flags;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->_pad = 0;
	h->seq = seq;
	h->ts_ns = bpf_ktime_get_ns();
}

/* Never wake the consumer: a wake-up per record doubles the cost of tracing,
 * and the consumer reads the ring buffer on a short timer instead. */
static __always_inline void submit(void *record)
{
	bpf_ringbuf_submit(record, BPF_RB_NO_WAKEUP);
}

/* Walks the interpreters' thread lists for the thread state of `tid`. */
static __always_inline __u64 find_tstate(__u64 runtime, __u32 tid)
{
	__u64 interp = read_u64(runtime + py.runtime_interpreters_head);
	__u64 tstate = interp ? read_u64(interp + py.interp_threads_head) : 0;

	for (int i = 0; i < MAX_TSTATE_WALK; i++) {
		if (!interp)
			return 0;
		if (!tstate) {
			interp = read_u64(interp + py.interp_next);
			tstate = interp ? read_u64(interp + py.interp_threads_head) : 0;
			continue;
		}
		if (read_u64(tstate + py.tstate_native_thread_id) == tid)
			return tstate;
		tstate = read_u64(tstate + py.tstate_next);
	}
	return 0;
}

/* Address of the UTF-8 text of a str object, as PyUnicode_AsUTF8 returns it. */
static __always_inline __u64 unicode_utf8(__u64 obj)
{
	__u32 state = 0;

	if (!obj)
		return 0;
	bpf_probe_read_user(&state, sizeof(state), (const void *)(obj + py.unicode_state));
	if ((state & UNICODE_STATE_COMPACT) && (state & UNICODE_STATE_ASCII))
		return obj + py.unicode_ascii_data;
	return read_u64(obj + py.unicode_compact_utf8);
}

/*
 * The caller is the nearest older frame that runs Python code: frames owned
 * by the interpreter (the C-stack entry frame of a call from C) and the
 * __init__ shim are skipped, as f_back skips them. Its instruction pointer
 * is on the CALL, so its line is the call site.
 */
static __always_inline void read_caller(__u64 frame, struct frame_facts *f)
{
	__u64 caller = frame, code;
	__u8 owner;

	for (int i = 0; i < 4; i++) {
		caller = read_u64(caller + py.frame_previous);
		if (!caller)
			return;
		owner = PT_FRAME_OWNED_BY_INTERPRETER;
		bpf_probe_read_user(&owner, sizeof(owner), (const void *)(caller + py.frame_owner));
		if (owner == PT_FRAME_OWNED_BY_INTERPRETER)
			continue;
		code = read_u64(caller + py.frame_executable) & ~STACKREF_TAG_MASK;
		if (!code || code == f->init_shim)
			continue;
		f->caller_frame = caller;
		f->caller_code = code;
		f->caller_instr = (read_u64(caller + py.frame_instr_ptr) - (code + py.code_adaptive)) / 2;
		return;
	}
}

/* Reads the current frame of this thread and its code object. */
static __always_inline void read_current_frame(struct pt_regs *ctx, struct thread_info *info,
					       __u32 tid, struct frame_facts *f)
{
	__u64 runtime, tstate;

	if (!py.enabled)
		return;
	runtime = PT_REGS_IP(ctx) + bpf_usdt_cookie(ctx);
	f->runtime = runtime;
	if (py.init_shim_from_runtime)
		f->init_shim = runtime + py.init_shim_from_runtime;

	tstate = info->tstate;
	if (!tstate || read_u64(tstate + py.tstate_native_thread_id) != tid) {
		tstate = find_tstate(runtime, tid);
		info->tstate = tstate;
		if (!tstate) {
			__sync_fetch_and_add(&stats.tstate_misses, 1);
			return;
		}
	}
	f->frame = read_u64(tstate + py.tstate_current_frame);
	if (f->frame)
		f->code = read_u64(f->frame + py.frame_executable) & ~STACKREF_TAG_MASK;
}

/* The code object the probe describes has the probe's funcname as co_name text. */
static __always_inline bool code_is_the_probes(__u64 code, __u64 funcname)
{
	return unicode_utf8(read_u64(code + py.code_name)) == funcname;
}

/* The entry for a code key if it was described with these strings. */
static __always_inline struct code_seen *described(__u64 code, __u64 filename, __u64 funcname)
{
	struct code_seen *seen = bpf_map_lookup_elem(&codes, &code);

	if (seen && seen->filename == filename && seen->name == funcname)
		return seen;
	return 0;
}

/* A key for frames that could not be read; odd, so never an object address. */
static __always_inline __u64 synthetic_code_key(__u64 filename, __u64 funcname)
{
	return (filename ^ (funcname << 1)) | 1;
}

/* The number of arguments of a code object (positional, keyword-only,
 * *args, **kwargs) and the names of the first PT_ARGS_MAX. */
static __always_inline __u32 read_arg_names(__u64 code, __u32 code_flags, struct pt_code_record *rec)
{
	__s32 counts[3] = {}; /* co_argcount, co_posonlyargcount, co_kwonlyargcount */
	__u64 names, name;
	__u32 total;

	if (bpf_probe_read_user(counts, sizeof(counts), (const void *)(code + py.code_argcount)))
		return 0;
	if (counts[0] < 0 || counts[0] > 255 || counts[2] < 0 || counts[2] > 255)
		return 0;
	total = counts[0] + counts[2] + !!(code_flags & PT_CO_VARARGS) +
		!!(code_flags & PT_CO_VARKEYWORDS);
	names = read_u64(code + py.code_localsplusnames);
	for (int i = 0; i < PT_ARGS_MAX; i++) {
		rec->arg_names[i][0] = 0;
		if (i >= total || !names)
			continue;
		name = unicode_utf8(read_u64(names + py.tuple_items + 8 * i));
		if (name)
			bpf_probe_read_user_str(rec->arg_names[i], PT_ARG_NAME_MAX, (const void *)name);
	}
	return total;
}

/* Sends a code record for `code` and remembers that it was sent. `read`
 * says that `code` is a real code object (not a synthetic key). Returns
 * the number of argument values to send with its calls. */
static __always_inline __u32 describe_code(__u64 pid_tgid, struct thread_info *info, __u64 code,
					   __u32 code_flags, bool read, __u64 filename, __u64 funcname)
{
	struct code_seen now = { .filename = filename, .name = funcname, .flags = code_flags };
	struct pt_code_record *rec;
	__u8 *linetable_out;
	__u32 zero = 0, len = 0;
	__u64 full_len = 0;

	rec = bpf_map_lookup_elem(&scratch, &zero);
	if (!rec)
		return 0;
	linetable_out = (__u8 *)(rec + 1);

	fill_header(&rec->h, PT_REC_CODE, 0, pid_tgid, take_seq(info));
	rec->code = code;
	rec->first_lineno = -1;
	rec->code_flags = code_flags;
	bpf_probe_read_user_str(rec->filename, sizeof(rec->filename), (const void *)filename);
	bpf_probe_read_user_str(rec->name, sizeof(rec->name), (const void *)funcname);
	rec->qualname[0] = 0;
	rec->arg_count = 0;
	rec->_pad2 = 0;
	if (read && py.frame_localsplus) {
		rec->arg_count = read_arg_names(code, code_flags, rec);
		now.nargs = rec->arg_count > PT_ARGS_MAX ? PT_ARGS_MAX : rec->arg_count;
	} else {
		for (int i = 0; i < PT_ARGS_MAX; i++)
			rec->arg_names[i][0] = 0;
	}
	if (read) {
		__u64 qualname = unicode_utf8(read_u64(code + py.code_qualname));
		__u64 linetable = read_u64(code + py.code_linetable);

		bpf_probe_read_user(&rec->first_lineno, sizeof(rec->first_lineno),
				    (const void *)(code + py.code_firstlineno));
		if (qualname)
			bpf_probe_read_user_str(rec->qualname, sizeof(rec->qualname),
						(const void *)qualname);
		if (linetable)
			full_len = read_u64(linetable + py.bytes_size);
		len = full_len > PT_LINETABLE_MAX ? PT_LINETABLE_MAX : full_len;
		if (len && bpf_probe_read_user(linetable_out, len,
					       (const void *)(linetable + py.bytes_data)))
			len = 0;
	}
	rec->linetable_len = len;
	rec->linetable_full_len = full_len;

	if (bpf_ringbuf_output(&events, rec, sizeof(*rec) + len, BPF_RB_NO_WAKEUP)) {
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
		return 0;
	}
	bpf_map_update_elem(&codes, &code, &now, BPF_ANY);
	return now.nargs;
}

struct stack_walk {
	__u64 frame; /* next frame to look at */
	__u64 init_shim;
	__u64 pid_tgid;
	struct thread_info *info;
	struct pt_stack_record *rec;
};

/* One frame of a stack snapshot (a bpf_loop callback: verified once, not
 * once per frame). Returns 1 to stop. */
static long stack_walk_step(__u32 index, struct stack_walk *w)
{
	__u64 frame = w->frame, code, filename, name;
	__u32 depth, code_flags = 0;
	__u8 owner = PT_FRAME_OWNED_BY_INTERPRETER;

	if (!frame)
		return 1;
	w->frame = read_u64(frame + py.frame_previous);
	bpf_probe_read_user(&owner, sizeof(owner), (const void *)(frame + py.frame_owner));
	if (owner == PT_FRAME_OWNED_BY_INTERPRETER)
		return 0;
	code = read_u64(frame + py.frame_executable) & ~STACKREF_TAG_MASK;
	if (!code || code == w->init_shim)
		return 0;

	depth = w->rec->depth;
	if (depth >= PT_STACK_MAX) {
		w->rec->truncated = 1;
		return 1;
	}
	w->rec->frames[depth].frame = frame;
	w->rec->frames[depth].code = code;
	w->rec->frames[depth].instr =
		(read_u64(frame + py.frame_instr_ptr) - (code + py.code_adaptive)) / 2;
	w->rec->frames[depth]._pad = 0;
	w->rec->depth = depth + 1;

	filename = unicode_utf8(read_u64(code + py.code_filename));
	name = unicode_utf8(read_u64(code + py.code_name));
	if (filename && name && !described(code, filename, name)) {
		bpf_probe_read_user(&code_flags, sizeof(code_flags),
				    (const void *)(code + py.code_flags));
		describe_code(w->pid_tgid, w->info, code, code_flags, true, filename, name);
	}
	return 0;
}

/*
 * Sends the frames this thread was already running, from `frame` outwards,
 * the first time the thread is seen (attaching to a running process: their
 * returns must find them open).
 */
static __always_inline void send_running_stack(__u64 pid_tgid, struct thread_info *info,
					       __u64 frame, __u64 init_shim)
{
	struct stack_walk w = { .frame = frame, .init_shim = init_shim, .pid_tgid = pid_tgid,
				.info = info };
	__u32 zero = 0;

	info->stack_sent = 1;
	w.rec = bpf_map_lookup_elem(&stack_scratch, &zero);
	if (!w.rec)
		return;
	w.rec->depth = 0;
	w.rec->truncated = 0;
	bpf_loop(2 * PT_STACK_MAX, stack_walk_step, &w, 0);
	if (!w.rec->depth)
		return; /* a thread that starts under the probes: nothing was running */
	fill_header(&w.rec->h, PT_REC_STACK, 0, pid_tgid, take_seq(info));
	if (bpf_ringbuf_output(&events, w.rec, sizeof(*w.rec), BPF_RB_NO_WAKEUP))
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
}

/* Is `type` the type object exported at this distance from _PyRuntime? */
static __always_inline bool is_type(__u64 type, __u64 runtime, __s64 from_runtime)
{
	return from_runtime && type == runtime + from_runtime;
}

/* Reads up to PT_ARG_TEXT_MAX bytes at `addr` into the argument's text. */
static __always_inline void read_text(struct pt_arg *a, __u64 addr, __u64 bytes)
{
	__u32 len = bytes > PT_ARG_TEXT_MAX ? PT_ARG_TEXT_MAX : (__u32)bytes;

	if (len && !bpf_probe_read_user(a->text, len & 127, (const void *)addr))
		a->text_len = len;
	else if (len)
		a->kind = PT_ARG_UNREAD;
}

/*
 * Describes the object an argument slot holds: simple values by value, a
 * container by its size, anything else by its type's name and its address.
 * Nothing is written to the target; a read that fails leaves PT_ARG_UNREAD.
 */
static __always_inline void read_value(__u64 obj, __u64 runtime, struct pt_arg *a)
{
	__u64 type = 0, flags = 0, ptr = 0, tag = 0;
	__s64 size = 0;
	__u32 state = 0, width;
	long n;

	if (!obj) {
		a->kind = PT_ARG_EMPTY;
		return;
	}
	if (bpf_probe_read_user(&type, sizeof(type), (const void *)(obj + py.object_type)) || !type)
		return;
	if (is_type(type, runtime, py.cell_type_from_runtime)) {
		/* The argument is captured by a closure: its slot holds a cell. */
		if (bpf_probe_read_user(&obj, sizeof(obj), (const void *)(obj + py.cell_ref)))
			return;
		if (!obj) {
			a->kind = PT_ARG_EMPTY;
			return;
		}
		if (bpf_probe_read_user(&type, sizeof(type), (const void *)(obj + py.object_type)) || !type)
			return;
	}
	if (is_type(type, runtime, py.none_type_from_runtime)) {
		a->kind = PT_ARG_NONE;
		return;
	}
	if (is_type(type, runtime, py.bool_type_from_runtime)) {
		if (!bpf_probe_read_user(&tag, sizeof(tag), (const void *)(obj + py.long_tag))) {
			a->kind = PT_ARG_BOOL;
			a->value = (tag >> 3) != 0; /* False has no digits */
		}
		return;
	}
	if (is_type(type, runtime, py.float_type_from_runtime)) {
		if (!bpf_probe_read_user(&a->value, sizeof(a->value), (const void *)(obj + py.float_value)))
			a->kind = PT_ARG_FLOAT;
		return;
	}
	if (is_type(type, runtime, py.set_type_from_runtime)) {
		if (!bpf_probe_read_user(&size, sizeof(size), (const void *)(obj + py.set_used))) {
			a->kind = PT_ARG_SET;
			a->size = size;
		}
		return;
	}
	if (bpf_probe_read_user(&flags, sizeof(flags), (const void *)(type + py.type_flags)))
		return;
	if (flags & PT_TPFLAGS_LONG_SUBCLASS) {
		/* lv_tag: digit count << 3 | sign (0 positive, 1 zero, 2 negative). */
		if (bpf_probe_read_user(&tag, sizeof(tag), (const void *)(obj + py.long_tag)))
			return;
		a->kind = PT_ARG_INT;
		a->value = tag & 3;
		a->size = tag >> 3;
		read_text(a, obj + py.long_digits, (tag >> 3) * 4);
		return;
	}
	if (flags & PT_TPFLAGS_UNICODE_SUBCLASS) {
		if (bpf_probe_read_user(&state, sizeof(state), (const void *)(obj + py.unicode_state)) ||
		    bpf_probe_read_user(&size, sizeof(size), (const void *)(obj + py.unicode_length)))
			return;
		if (!(state & UNICODE_STATE_COMPACT) || size < 0)
			return; /* a legacy string: its text is elsewhere */
		width = (state >> 2) & 7;
		if (width != 1 && width != 2 && width != 4)
			return;
		a->kind = PT_ARG_STR;
		a->width = width;
		a->size = size;
		read_text(a, obj + ((state & UNICODE_STATE_ASCII) ? py.unicode_ascii_data : py.unicode_compact_data),
			  (__u64)size * width);
		return;
	}
	if (flags & PT_TPFLAGS_BYTES_SUBCLASS) {
		if (bpf_probe_read_user(&size, sizeof(size), (const void *)(obj + py.var_size)) || size < 0)
			return;
		a->kind = PT_ARG_BYTES;
		a->size = size;
		read_text(a, obj + py.bytes_data, size);
		return;
	}
	if (flags & (PT_TPFLAGS_LIST_SUBCLASS | PT_TPFLAGS_TUPLE_SUBCLASS | PT_TPFLAGS_DICT_SUBCLASS)) {
		if (bpf_probe_read_user(&size, sizeof(size),
					(const void *)(obj + ((flags & PT_TPFLAGS_DICT_SUBCLASS) ? py.dict_used
												  : py.var_size))))
			return;
		a->kind = (flags & PT_TPFLAGS_LIST_SUBCLASS)    ? PT_ARG_LIST
			  : (flags & PT_TPFLAGS_TUPLE_SUBCLASS) ? PT_ARG_TUPLE
								: PT_ARG_DICT;
		a->size = size;
		return;
	}
	/* A class by its name; anything else by its type's name and its address. */
	a->kind = (flags & PT_TPFLAGS_TYPE_SUBCLASS) ? PT_ARG_CLASS : PT_ARG_OBJECT;
	a->value = obj;
	if (a->kind == PT_ARG_CLASS)
		type = obj;
	if (!bpf_probe_read_user(&ptr, sizeof(ptr), (const void *)(type + py.type_name)) && ptr) {
		n = bpf_probe_read_user_str(a->text, PT_ARG_TEXT_MAX, (const void *)ptr);
		if (n > 0)
			a->text_len = n - 1;
	}
}

struct arg_walk {
	__u64 slots;   /* the frame's localsplus */
	__u64 runtime; /* _PyRuntime's address */
	__u32 count;
	struct call_with_args *out;
};

/* One argument (a bpf_loop callback). Returns 1 to stop. */
static long read_arg(__u32 i, struct arg_walk *w)
{
	struct pt_arg *a;
	__u64 slot = 0;
	__u32 index;

	if (i >= w->count || i >= PT_ARGS_MAX)
		return 1;
	index = i;
	barrier_var(index); /* keeps the mask below, which the verifier needs */
	a = &w->out->args[index & (PT_ARGS_MAX - 1)];
	a->kind = PT_ARG_UNREAD;
	a->width = 0;
	a->text_len = 0;
	a->_pad = 0;
	a->value = 0;
	a->size = 0;
	if (!bpf_probe_read_user(&slot, sizeof(slot), (const void *)(w->slots + 8 * i)))
		read_value(slot & ~STACKREF_TAG_MASK, w->runtime, a);
	return 0;
}

static __always_inline void fill_frame(struct pt_frame_record *rec, __u16 kind, __u16 flags, __u64 pid_tgid,
				       __u64 seq, const struct frame_facts *f, int lineno)
{
	fill_header(&rec->h, kind, flags, pid_tgid, seq);
	rec->code = f->code;
	rec->frame = f->frame;
	rec->caller_frame = f->caller_frame;
	rec->caller_code = f->caller_code;
	rec->caller_instr = f->caller_instr;
	rec->lineno = lineno;
}

/* A call and the values of its first `count` arguments, in one record. */
static __always_inline void emit_call_with_args(__u64 pid_tgid, __u64 seq, __u16 flags,
						 const struct frame_facts *f, int lineno, __u32 count,
						 __u64 runtime)
{
	struct arg_walk w = { .slots = f->frame + py.frame_localsplus, .runtime = runtime };
	__u32 zero = 0, size;

	w.out = bpf_map_lookup_elem(&args_scratch, &zero);
	if (!w.out)
		return;
	w.count = count > PT_ARGS_MAX ? PT_ARGS_MAX : count;
	fill_frame(&w.out->rec, PT_REC_CALL, flags | PT_FRAME_ARGS, pid_tgid, seq, f, lineno);
	bpf_loop(PT_ARGS_MAX, read_arg, &w, 0);
	size = sizeof(struct pt_frame_record) + (w.count & 15) * sizeof(struct pt_arg);
	if (size > sizeof(struct call_with_args))
		return;
	if (bpf_ringbuf_output(&events, w.out, size, BPF_RB_NO_WAKEUP))
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
}

static __always_inline int emit_frame(struct pt_regs *ctx, __u16 kind, __u64 filename,
				      __u64 funcname, int lineno)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct thread_info *info;
	struct frame_facts f = {};
	struct pt_frame_record *rec;
	struct code_seen *seen;
	__u16 flags = 0;
	__u32 nargs = 0;
	__u64 seq;
	__u8 owner;
	bool generator_like;

	if (!active)
		return 0;
	info = thread_info_for(tid);
	if (!info)
		return 0;

	read_current_frame(ctx, info, tid, &f);
	if (f.code) {
		seen = described(f.code, filename, funcname);
		if (seen) {
			f.read = 1;
			f.code_flags = seen->flags;
			nargs = seen->nargs;
		} else if (code_is_the_probes(f.code, funcname)) {
			f.read = 1;
			bpf_probe_read_user(&f.code_flags, sizeof(f.code_flags),
					    (const void *)(f.code + py.code_flags));
			nargs = describe_code(pid_tgid, info, f.code, f.code_flags, true, filename, funcname);
		} else {
			__sync_fetch_and_add(&stats.frame_mismatches, 1);
		}
	}

	if (f.read && !info->stack_sent) {
		/* A new frame's callers, or a returning frame and its callers. */
		send_running_stack(pid_tgid, info,
				   kind == PT_REC_CALL ? read_u64(f.frame + py.frame_previous) : f.frame,
				   f.init_shim);
	}

	if (!f.read) {
		f.code = synthetic_code_key(filename, funcname);
		f.frame = 0;
		flags |= PT_FRAME_UNREAD;
		if (!described(f.code, filename, funcname))
			describe_code(pid_tgid, info, f.code, 0, false, filename, funcname);
	} else {
		generator_like = f.code_flags &
				 (PT_CO_GENERATOR | PT_CO_COROUTINE | PT_CO_ASYNC_GENERATOR);
		if (kind == PT_REC_CALL) {
			/* Calling a generator function runs its frame only up
			 * to RETURN_GENERATOR, on the thread: later runs are
			 * owned by the generator object. */
			owner = PT_FRAME_OWNED_BY_THREAD;
			if (generator_like)
				bpf_probe_read_user(&owner, sizeof(owner),
						    (const void *)(f.frame + py.frame_owner));
			if (generator_like && owner == PT_FRAME_OWNED_BY_THREAD)
				flags |= PT_FRAME_GEN_CREATE;
			else
				read_caller(f.frame, &f);
		} else if (f.code == f.init_shim) {
			flags |= PT_FRAME_SHIM;
		} else if (generator_like) {
			/* Userspace may have to restore this run, which had no
			 * entry probe if a throw() or close() started it. */
			read_caller(f.frame, &f);
		}
	}

	seq = take_seq(info);
	if (kind == PT_REC_CALL && f.read && nargs && !(flags & PT_FRAME_GEN_CREATE) && py.frame_localsplus) {
		emit_call_with_args(pid_tgid, seq, flags, &f, lineno, nargs, f.runtime);
		return 0;
	}
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
		return 0;
	}
	fill_frame(rec, kind, flags, pid_tgid, seq, &f, lineno);
	submit(rec);
	return 0;
}

SEC("usdt")
int BPF_USDT(on_function_entry, const char *filename, const char *funcname, int lineno)
{
	return emit_frame(ctx, PT_REC_CALL, (__u64)filename, (__u64)funcname, lineno);
}

SEC("usdt")
int BPF_USDT(on_function_return, const char *filename, const char *funcname, int lineno)
{
	return emit_frame(ctx, PT_REC_RETURN, (__u64)filename, (__u64)funcname, lineno);
}

/* Only what on_fork reads of the kernel's task_struct; CO-RE finds the
 * offsets in the running kernel's BTF. */
struct task_struct {
	int pid;
	int tgid;
} __attribute__((preserve_access_index));

enum pid_type { PIDTYPE_PID, PIDTYPE_TGID };
extern int bpf_send_signal_task(struct task_struct *task, int sig, enum pid_type type,
				__u64 value) __ksym __weak;

#define SIGSTOP_NUMBER 19

/*
 * A traced process forks: follow the new process. It is stopped before it
 * runs (kernel 6.13+), so that userspace can attach the probes to it first,
 * and userspace is told. New threads need nothing: the probes of a process
 * cover all its threads.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 parent_tgid = pid_tgid >> 32, child_tgid = child->tgid;
	struct thread_info *info;
	struct pt_process_record *rec;
	__u64 seq;

	if (child->pid != child_tgid || !bpf_map_lookup_elem(&traced, &parent_tgid))
		return 0;
	bpf_map_update_elem(&traced, &child_tgid, &parent_tgid, BPF_ANY);
	info = thread_info_for((__u32)pid_tgid);
	if (!info)
		return 0;
	seq = take_seq(info);
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
		return 0; /* the child runs on untraced: nobody will let it go */
	}
	fill_header(&rec->h, PT_REC_PROCESS, 0, pid_tgid, seq);
	rec->child_pid = child_tgid;
	rec->stopped = bpf_send_signal_task &&
		       bpf_send_signal_task(child, SIGSTOP_NUMBER, PIDTYPE_TGID, 0) == 0;
	submit(rec);
	return 0;
}

/* A thread of a traced process ends: send its name, the one it ended with. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct thread_info *info;
	struct pt_thread_exit_record *rec;
	__u64 seq;

	if (!bpf_map_lookup_elem(&traced, &tgid))
		return 0;
	info = bpf_map_lookup_elem(&threads, &(__u32){ (__u32)pid_tgid });
	if (!info)
		return 0; /* it never ran Python code under the probes */
	seq = take_seq(info);
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
		return 0;
	}
	fill_header(&rec->h, PT_REC_THREAD_EXIT, 0, pid_tgid, seq);
	bpf_get_current_comm(rec->comm, sizeof(rec->comm));
	submit(rec);
	return 0;
}

static __always_inline int emit_import(__u16 kind, const char *module, int found)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct thread_info *info;
	struct pt_import_record *rec;
	__u64 seq;

	if (!active)
		return 0;
	info = thread_info_for((__u32)pid_tgid);
	if (!info)
		return 0;
	seq = take_seq(info);
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
		return 0;
	}
	fill_header(&rec->h, kind, 0, pid_tgid, seq);
	rec->found = found;
	rec->_pad = 0;
	bpf_probe_read_user_str(rec->module, sizeof(rec->module), module);
	submit(rec);
	return 0;
}

SEC("usdt")
int BPF_USDT(on_import_start, const char *module)
{
	return emit_import(PT_REC_IMPORT_START, module, 0);
}

SEC("usdt")
int BPF_USDT(on_import_done, const char *module, int found)
{
	return emit_import(PT_REC_IMPORT_DONE, module, found);
}
