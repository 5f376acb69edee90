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

/* Only what the programs read of the kernel's structures; CO-RE finds the
 * offsets in the running kernel's BTF. */
typedef struct {
	int counter;
} atomic_t;

struct signal_struct {
	atomic_t live; /* threads of the process that have not exited */
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	struct signal_struct *signal;
} __attribute__((preserve_access_index));

/* Set by userspace before load. */
const volatile struct pt_python_offsets py = {};
/* Trace the processes that traced processes fork (the probes are then
 * attached for every process of the interpreter's file). */
const volatile bool follow_forks = false;

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

/*
 * A frame's fields, and at an entry its first argument slots, read at once:
 * one read costs about as much as reading one field.
 */
#define FRAME_HEAD_MAX (PT_FRAME_READ_MAX - 8 * PT_ARGS_MAX)

struct frame_view {
	__u8 bytes[PT_FRAME_READ_MAX];
};

/* The fields only, for the frames around the probe's. */
struct frame_head {
	__u8 bytes[FRAME_HEAD_MAX];
};

/* A call record and the values of its arguments, built before it is sent:
 * its size depends on the code's argument count. */
struct call_with_args {
	struct pt_frame_record rec;
	struct pt_arg args[PT_ARGS_MAX];
};

/* What was last sent for a code key: resend when the address is reused.
 * A hit also stands for the check that the frame read is the probe's. */
struct code_seen {
	__u64 filename; /* the probe's string pointers */
	__u64 name;
	__u32 flags;	/* co_flags */
	__u32 nargs;	/* argument slots to send with each call */
	__u64 description; /* the number this description was sent with */
};

/* What a function probe passed: (filename, funcname, lineno). */
struct probe_hit {
	__u64 filename;
	__u64 funcname;
	int lineno;
	__u32 site;    /* libbpf's spec id: one per probe site */
	__u64 runtime; /* _PyRuntime's address: the site's address plus our cookie */
};

/* Facts about the frame behind a probe hit. */
struct frame_facts {
	__u64 init_shim; /* address of _Py_InitCleanup, 0 if unknown */
	__u64 code;
	__u64 frame;
	__u64 caller_frame;
	__u64 caller_code;
	__u32 caller_instr;
	__u32 code_flags;
	__u32 nargs; /* argument values to send with a call */
	__u64 description; /* of the code, as last sent; 0 if sent just now */
};

/*
 * What the programs keep per thread, and the space one probe hit works in.
 * The work space is here and not on the BPF stack, which must hold a
 * program and its bpf_loop callbacks in 512 bytes on kernels before
 * per-program private stacks (6.1, 6.12). It is per thread and not per CPU:
 * uprobe programs run with migration disabled but can be preempted, and a
 * per-CPU buffer could be overwritten by another thread's hit on the same
 * CPU. A thread runs one program at a time.
 */
struct thread_info {
	__u64 seq;	   /* last sequence number given to this thread */
	__u64 tstate;	   /* cached PyThreadState address, 0 if unknown */
	__u64 stack_sent;  /* the thread's running frames have been sent */
	struct probe_hit hit;	    /* the probe's arguments */
	struct frame_facts facts;   /* what was found behind them */
	struct frame_view frame;    /* the probe's frame */
	struct frame_head caller;   /* a frame on the way to its caller */
	struct call_with_args call; /* the call record being built */
	struct code_seen seen;	    /* the code being described */
};

/* Kept with the kernel's task: it goes when the thread goes, so a new thread
 * that gets the same id starts afresh. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_info);
} threads SEC(".maps");


struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct code_seen);
} codes SEC(".maps");

/* Descriptions sent so far: numbers them. */
__u64 descriptions = 0;

/*
 * Filtering in the kernel (docs/probes.md): userspace's verdict on each
 * code object's file, by code key, written once it has read the code's
 * description. A hash, not an LRU: a verdict that went away between a
 * call and its return would send the return of a call that was left out.
 * When it is full, codes without a verdict are sent, as before it existed.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct pt_scope_verdict);
} scope_verdicts SEC(".maps");

/* Probe hits left out by the verdicts, per CPU (no shared cache line). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits_left_out SEC(".maps");

/*
 * Space for the rare, large records: a code record with its line table
 * (up to 32 KiB) and a stack record. Too large to keep per thread, they are
 * built per CPU, in one of SCRATCH_SLOTS slots that a hit claims with an
 * atomic operation and releases when the record is sent: a hit preempted
 * while it fills a slot keeps it, and another hit on the same CPU takes
 * another slot (or, with all of them taken, counts a scratch_busy miss).
 */
#define SCRATCH_SLOTS 4 /* claim_scratch() tries each */

struct code_scratch {
	__u8 bytes[sizeof(struct pt_code_record) + PT_LINETABLE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SCRATCH_SLOTS);
	__type(key, __u32);
	__type(value, struct code_scratch);
} code_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SCRATCH_SLOTS);
	__type(key, __u32);
	__type(value, struct pt_stack_record);
} stack_scratch SEC(".maps");

/* Per CPU, a bit per slot of each scratch map: set while a hit uses it. */
struct scratch_claims {
	__u64 code;
	__u64 stack;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch_claims);
} claims SEC(".maps");

/*
 * The processes that are traced: the one started or attached to (added by
 * userspace) and its descendants, added when they are forked, before they
 * run, and removed when their last thread exits. The probes are attached to
 * the interpreter's file for every process that runs it; a hit of any other
 * process ends at this map. Value: the parent.
 */
#define MAX_TRACED_PROCESSES 65536

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_TRACED_PROCESSES);
	__type(key, __u32);
	__type(value, __u32);
} traced SEC(".maps");

/*
 * Processes whose thread state userspace wants, to leave a request with the
 * interpreter (executed lines, docs/probes.md): key the pid, value the
 * address of the PyThreadState of the thread that makes the next call (of
 * code from a file), 0 or HOLD_NOTE_ONLY until then. With 0 the process is
 * also stopped there, by a SIGURG, which userspace (its ptrace tracer)
 * takes away; without a tracer its default action is to be ignored, so a
 * program whose tracer is gone is never left stopped. `holds_pending`
 * saves every other call the map lookup.
 */
#define SIGURG 23
#define HOLD_NOTE_ONLY 1

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} hold_at_first_call SEC(".maps");

__u32 holds_pending = 0;

struct pt_stats stats = {};
/* Set by userspace once every probe of the traced process is attached: an
 * entry probe attached before its return probe would otherwise send calls
 * that never return (attaching to a running process). */
__u32 active = 0;

static __always_inline __u64 read_u64(__u64 addr)
{
	__u64 value = 0;

	bpf_probe_read_user(&value, sizeof(value), (const void *)addr);
	return value;
}

/* The current thread's state if its process is traced, created zeroed on
 * its first record; 0 for any other process. A thread has state only while
 * its process is traced, so the common case costs one look-up. */
static __always_inline struct thread_info *traced_thread_info(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct thread_info *info = bpf_task_storage_get(&threads, task, 0, 0);
	__u32 tgid;

	if (info)
		return info;
	tgid = bpf_get_current_pid_tgid() >> 32;
	if (!bpf_map_lookup_elem(&traced, &tgid))
		return 0;
	return bpf_task_storage_get(&threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
}

/* Every record takes the next number, sent or lost, so userspace sees gaps.
 * Only the thread itself numbers its records: no atomic operation needed. */
static __always_inline __u64 take_seq(struct thread_info *info)
{
	return ++info->seq;
}

/* Claims a free slot of this CPU's `map` (one of the scratch maps), whose
 * claim bits are `bits`. Returns the slot's space and sets `slot`, or
 * returns 0, counted, when every slot is taken. (Written out: the verifier
 * cannot bound a loop of atomic operations.) */
static __always_inline void *claim_scratch(void *map, __u64 *bits, __u32 *slot)
{
	void *space;

	if (!(__sync_fetch_and_or(bits, 1) & 1))
		*slot = 0;
	else if (!(__sync_fetch_and_or(bits, 2) & 2))
		*slot = 1;
	else if (!(__sync_fetch_and_or(bits, 4) & 4))
		*slot = 2;
	else if (!(__sync_fetch_and_or(bits, 8) & 8))
		*slot = 3;
	else {
		__sync_fetch_and_add(&stats.scratch_busy, 1);
		return 0;
	}
	space = bpf_map_lookup_elem(map, slot);
	if (!space)
		__sync_fetch_and_and(bits, ~(1ULL << *slot));
	return space;
}

static __always_inline void release_scratch(__u64 *bits, __u32 slot)
{
	__sync_fetch_and_and(bits, ~(1ULL << slot));
}

static __always_inline struct scratch_claims *cpu_claims(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&claims, &zero);
}

static __always_inline void fill_header(struct pt_header *h, __u16 kind, __u16 flags,
					__u64 pid_tgid, __u64 seq)
{
	h->kind = kind;
	h->flags = flags;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->version = PYTRACE_WIRE_VERSION;
	h->seq = seq;
	h->ts_ns = bpf_ktime_get_ns();
}

/* Never wake the consumer: a wake-up per record doubles the cost of tracing,
 * and the consumer reads the ring buffer on a short timer instead. */
static __always_inline void submit(void *record)
{
	bpf_ringbuf_submit(record, BPF_RB_NO_WAKEUP);
}

struct tstate_walk {
	__u64 interp;
	__u64 tstate; /* the next to look at, then the one found */
	__u32 tid;
	bool found;
};

/* One step of the walk (a bpf_loop callback: verified once, not once per
 * step). Returns 1 to stop. */
static long tstate_walk_step(__u32 index, struct tstate_walk *w)
{
	if (!w->interp)
		return 1;
	if (!w->tstate) {
		w->interp = read_u64(w->interp + py.interp_next);
		w->tstate = w->interp ? read_u64(w->interp + py.interp_threads_head) : 0;
		return 0;
	}
	if (read_u64(w->tstate + py.tstate_native_thread_id) == w->tid) {
		w->found = true;
		return 1;
	}
	w->tstate = read_u64(w->tstate + py.tstate_next);
	return 0;
}

/* Walks the interpreters' thread lists for the thread state of `tid`. */
static __always_inline __u64 find_tstate(__u64 runtime, __u32 tid)
{
	struct tstate_walk w = { .tid = tid };

	w.interp = read_u64(runtime + py.runtime_interpreters_head);
	w.tstate = w.interp ? read_u64(w.interp + py.interp_threads_head) : 0;
	bpf_loop(MAX_TSTATE_WALK, tstate_walk_step, &w, 0);
	return w.found ? w.tstate : 0;
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

/* The offsets are read-only data, constants to the verifier, which checks
 * every access to a view at them. */
static __always_inline __u64 bytes_u64(const __u8 *bytes, __u32 size, __u64 offset)
{
	__u64 value = 0;

	if (offset <= size - sizeof(value))
		__builtin_memcpy(&value, bytes + offset, sizeof(value));
	return value;
}

#define view_u64(v, offset) bytes_u64((v)->bytes, sizeof((v)->bytes), offset)
#define view_code(v) (view_u64(v, py.frame_executable) & ~STACKREF_TAG_MASK)
#define view_owner(v)                                                                      \
	(py.frame_owner < FRAME_HEAD_MAX ? (v)->bytes[py.frame_owner]                        \
					 : PT_FRAME_OWNED_BY_INTERPRETER)

enum frame_read { FRAME_UNREAD, FRAME_FIELDS, FRAME_FIELDS_AND_SLOTS };

/* Reads a frame's fields, and its first argument slots too when asked and
 * they can be read (a frame near the end of its stack chunk may have fewer
 * than PT_ARGS_MAX slots mapped after it). `v` has room for the slots when
 * they are asked for. */
static __always_inline enum frame_read read_frame(__u64 frame, __u8 *v, bool with_slots)
{
	__u64 head = py.frame_localsplus;

	if (!frame || !head || head > FRAME_HEAD_MAX)
		return FRAME_UNREAD;
	if (with_slots && !bpf_probe_read_user(v, head + 8 * PT_ARGS_MAX, (const void *)frame))
		return FRAME_FIELDS_AND_SLOTS;
	return bpf_probe_read_user(v, head, (const void *)frame) ? FRAME_UNREAD : FRAME_FIELDS;
}

/*
 * The caller is the nearest older frame that runs Python code: frames owned
 * by the interpreter (the C-stack entry frame of a call from C) and the
 * __init__ shim are skipped, as f_back skips them. Its instruction pointer
 * is on the CALL, so its line is the call site.
 */
static __always_inline void read_caller(struct thread_info *info, struct frame_facts *f)
{
	struct frame_head *caller = &info->caller;
	__u64 address = view_u64(&info->frame, py.frame_previous), code;

	for (int i = 0; i < 4; i++) {
		if (!read_frame(address, caller->bytes, false))
			return;
		code = view_code(caller);
		if (view_owner(caller) != PT_FRAME_OWNED_BY_INTERPRETER && code && code != f->init_shim) {
			f->caller_frame = address;
			f->caller_code = code;
			f->caller_instr = (view_u64(caller, py.frame_instr_ptr) - (code + py.code_adaptive)) / 2;
			return;
		}
		address = view_u64(caller, py.frame_previous);
	}
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

struct arg_names_walk {
	__u64 names; /* co_localsplusnames, a tuple */
	__u32 total;
	struct pt_code_record *rec;
};

/* One argument's name (a bpf_loop callback). Returns 1 to stop. */
static long read_arg_name(__u32 i, struct arg_names_walk *w)
{
	__u32 index = i;
	__u64 name;

	barrier_var(index); /* keeps the mask below, which the verifier needs */
	index &= PT_ARGS_MAX - 1;
	w->rec->arg_names[index][0] = 0;
	if (i >= w->total || !w->names)
		return 0;
	name = unicode_utf8(read_u64(w->names + py.tuple_items + 8 * index));
	if (name)
		bpf_probe_read_user_str(w->rec->arg_names[index], PT_ARG_NAME_MAX, (const void *)name);
	return 0;
}

/*
 * A co_filename without a UTF-8 form (CPython's probe then passes
 * "<unknown>"): its code units, for userspace to turn back into the path's
 * bytes. A str with a UTF-8 form is left to the probe's text.
 */
static __always_inline void read_code_units(__u64 obj, struct pt_code_record *rec)
{
	__u32 state = 0, width, bytes;
	__s64 length = 0;

	if (!obj || unicode_utf8(obj))
		return;
	if (bpf_probe_read_user(&state, sizeof(state), (const void *)(obj + py.unicode_state)) ||
	    bpf_probe_read_user(&length, sizeof(length), (const void *)(obj + py.unicode_length)))
		return;
	width = (state >> 2) & 7;
	if (!(state & UNICODE_STATE_COMPACT) || (width != 1 && width != 2 && width != 4) || length <= 0 ||
	    length > PT_FILENAME_MAX)
		return;
	bytes = (__u32)length * width;
	if (bytes > PT_FILENAME_MAX)
		bytes = PT_FILENAME_MAX;
	bytes &= ~(width - 1); /* whole code units */
	if (bpf_probe_read_user(rec->filename, bytes, (const void *)(obj + py.unicode_compact_data)))
		return;
	rec->filename_width = width;
	rec->filename_bytes = bytes;
}

/* The number of arguments of a code object (positional, keyword-only,
 * *args, **kwargs) and the names of the first PT_ARGS_MAX. */
static __always_inline __u32 read_arg_names(__u64 code, __u32 code_flags, struct pt_code_record *rec)
{
	__s32 counts[3] = {}; /* co_argcount, co_posonlyargcount, co_kwonlyargcount */
	struct arg_names_walk w = { .rec = rec };

	if (bpf_probe_read_user(counts, sizeof(counts), (const void *)(code + py.code_argcount)))
		return 0;
	if (counts[0] < 0 || counts[0] > 255 || counts[2] < 0 || counts[2] > 255)
		return 0;
	w.total = counts[0] + counts[2] + !!(code_flags & PT_CO_VARARGS) + !!(code_flags & PT_CO_VARKEYWORDS);
	rec->kwonly_count = counts[2];
	w.names = read_u64(code + py.code_localsplusnames);
	bpf_loop(PT_ARGS_MAX, read_arg_name, &w, 0);
	return w.total;
}

/* Sends a code record for `code` (a code object, or an odd synthetic key
 * for a frame that could not be read) and remembers that it was sent.
 * Returns the number of argument values to send with its calls. Not
 * inlined: its stack frame then counts once, not in each caller's (the
 * 512-byte limit covers a program and its callbacks together). */
static __noinline __u32 describe_code(struct thread_info *info, __u64 code, __u32 code_flags, __u64 filename,
				      __u64 funcname)
{
	struct code_seen *now = &info->seen;
	bool read = !(code & 1);
	struct scratch_claims *bits = cpu_claims();
	struct pt_code_record *rec;
	__u8 *linetable_out;
	__u32 slot = 0, len = 0;
	__u64 full_len = 0;
	long err;

	now->filename = filename;
	now->name = funcname;
	now->flags = code_flags;
	now->nargs = 0;
	now->description = __sync_fetch_and_add(&descriptions, 1) + 1;
	if (!bits)
		return 0;
	rec = claim_scratch(&code_scratch, &bits->code, &slot);
	if (!rec)
		return 0;
	linetable_out = (__u8 *)(rec + 1);

	fill_header(&rec->h, PT_REC_CODE, 0, bpf_get_current_pid_tgid(), take_seq(info));
	rec->code = code;
	rec->description = now->description;
	rec->first_lineno = -1;
	rec->code_flags = code_flags;
	bpf_probe_read_user_str(rec->filename, sizeof(rec->filename), (const void *)filename);
	bpf_probe_read_user_str(rec->name, sizeof(rec->name), (const void *)funcname);
	rec->qualname[0] = 0;
	rec->arg_count = 0;
	rec->kwonly_count = 0;
	rec->filename_width = 0;
	rec->filename_bytes = 0;
	if (read && py.arg_values) {
		rec->arg_count = read_arg_names(code, code_flags, rec);
		now->nargs = rec->arg_count > PT_ARGS_MAX ? PT_ARGS_MAX : rec->arg_count;
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
		read_code_units(read_u64(code + py.code_filename), rec);
		if (linetable)
			full_len = read_u64(linetable + py.bytes_size);
		len = full_len > PT_LINETABLE_MAX ? PT_LINETABLE_MAX : full_len;
		if (len && bpf_probe_read_user(linetable_out, len,
					       (const void *)(linetable + py.bytes_data)))
			len = 0;
	}
	rec->linetable_len = len;
	rec->linetable_full_len = full_len;

	/* With filtering in the kernel, the reader is woken to judge the new
	 * code soon: until it has, its calls are all sent. Code records are
	 * few (one per code object), a wake-up costs a few microseconds. */
	err = bpf_ringbuf_output(&events, rec, sizeof(*rec) + len,
				 py.scope_filter ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	release_scratch(&bits->code, slot);
	if (err) {
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
		return 0;
	}
	bpf_map_update_elem(&codes, &code, now, BPF_ANY);
	return now->nargs;
}

struct stack_walk {
	__u64 frame; /* next frame to look at */
	__u64 init_shim;
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
		describe_code(w->info, code, code_flags, filename, name);
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
	struct stack_walk w = { .frame = frame, .init_shim = init_shim, .info = info };
	struct scratch_claims *bits = cpu_claims();
	__u32 slot = 0;

	info->stack_sent = 1;
	if (!bits)
		return;
	w.rec = claim_scratch(&stack_scratch, &bits->stack, &slot);
	if (!w.rec)
		return;
	w.rec->depth = 0;
	w.rec->truncated = 0;
	bpf_loop(2 * PT_STACK_MAX, stack_walk_step, &w, 0);
	/* Without a depth, a thread that starts under the probes: nothing was running. */
	if (w.rec->depth) {
		fill_header(&w.rec->h, PT_REC_STACK, 0, pid_tgid, take_seq(info));
		if (bpf_ringbuf_output(&events, w.rec, sizeof(*w.rec), BPF_RB_NO_WAKEUP))
			__sync_fetch_and_add(&stats.ringbuf_drops, 1);
	}
	release_scratch(&bits->stack, slot);
}

/* Is `type` the type object exported at this distance from _PyRuntime? */
static __always_inline bool is_type(__u64 type, __u64 runtime, __s64 from_runtime)
{
	return from_runtime && type == runtime + from_runtime;
}

/* An object's first PT_OBJECT_READ bytes, read at once when they can be
 * (a small object at the end of a mapping cannot): its type and the
 * fields that tell its value or size. */
struct object_view {
	__u64 address;
	bool whole; /* bytes holds the object's head */
	__u8 bytes[PT_OBJECT_READ];
};

static __always_inline void read_object(__u64 address, struct object_view *o)
{
	o->address = address;
	o->whole = !bpf_probe_read_user(o->bytes, sizeof(o->bytes), (const void *)address);
}

/* A field of the object: from its head, or read on its own. Returns false
 * when it cannot be read. */
static __always_inline bool object_u64(const struct object_view *o, __u64 offset, __u64 *value)
{
	*value = 0;
	if (o->whole && offset <= sizeof(o->bytes) - sizeof(*value)) {
		__builtin_memcpy(value, o->bytes + offset, sizeof(*value));
		return true;
	}
	return !bpf_probe_read_user(value, sizeof(*value), (const void *)(o->address + offset));
}

/* Reads the object a slot holds and its type. False when nothing more can
 * be said of it: the slot is empty (said so in `a`), or it cannot be read. */
static __always_inline bool open_object(__u64 obj, struct object_view *o, __u64 *type, struct pt_arg *a)
{
	if (!obj) {
		a->kind = PT_ARG_EMPTY;
		return false;
	}
	read_object(obj, o);
	return object_u64(o, py.object_type, type) && *type;
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

/* Digits of an int found in its head (six 30-bit digits: up to 180 bits). */
#define INT_HEAD_DIGIT_BYTES 24

/* The flags of a type, known without a read for the exact types the
 * interpreter exports. Returns false when they cannot be read. */
static __always_inline bool type_flags(__u64 type, __u64 runtime, __u64 *flags)
{
	*flags = is_type(type, runtime, py.long_type_from_runtime)      ? PT_TPFLAGS_LONG_SUBCLASS
		 : is_type(type, runtime, py.unicode_type_from_runtime) ? PT_TPFLAGS_UNICODE_SUBCLASS
		 : is_type(type, runtime, py.bytes_type_from_runtime)   ? PT_TPFLAGS_BYTES_SUBCLASS
		 : is_type(type, runtime, py.list_type_from_runtime)    ? PT_TPFLAGS_LIST_SUBCLASS
		 : is_type(type, runtime, py.tuple_type_from_runtime)   ? PT_TPFLAGS_TUPLE_SUBCLASS
		 : is_type(type, runtime, py.dict_type_from_runtime)    ? PT_TPFLAGS_DICT_SUBCLASS
									  : 0;
	return *flags || !bpf_probe_read_user(flags, sizeof(*flags), (const void *)(type + py.type_flags));
}

/*
 * Describes the object an argument slot holds: simple values by value, a
 * container by its size, anything else by its type's name and its address.
 * Nothing is written to the target; a read that fails leaves PT_ARG_UNREAD.
 */
static __always_inline void read_value(__u64 obj, __u64 runtime, struct pt_arg *a)
{
	struct object_view o;
	__u64 type = 0, flags = 0, ptr = 0, tag = 0, field = 0, digit_bytes;
	__s64 size = 0;
	__u32 state, width;
	long n;

	if (!open_object(obj, &o, &type, a))
		return;
	if (is_type(type, runtime, py.cell_type_from_runtime)) {
		/* The argument is captured by a closure: its slot holds a cell. */
		if (!object_u64(&o, py.cell_ref, &obj) || !open_object(obj, &o, &type, a))
			return;
	}
	if (is_type(type, runtime, py.none_type_from_runtime)) {
		a->kind = PT_ARG_NONE;
		return;
	}
	if (is_type(type, runtime, py.bool_type_from_runtime)) {
		if (object_u64(&o, py.long_tag, &tag)) {
			a->kind = PT_ARG_BOOL;
			a->value = (tag >> 3) != 0; /* False has no digits */
		}
		return;
	}
	if (is_type(type, runtime, py.float_type_from_runtime)) {
		if (object_u64(&o, py.float_value, &a->value))
			a->kind = PT_ARG_FLOAT;
		return;
	}
	if (is_type(type, runtime, py.set_type_from_runtime)) {
		if (object_u64(&o, py.set_used, &field)) {
			a->kind = PT_ARG_SET;
			a->size = field;
		}
		return;
	}
	if (!type_flags(type, runtime, &flags))
		return;
	if (flags & PT_TPFLAGS_LONG_SUBCLASS) {
		/* lv_tag: digit count << 3 | sign (0 positive, 1 zero, 2 negative). */
		if (!object_u64(&o, py.long_tag, &tag))
			return;
		a->kind = PT_ARG_INT;
		a->value = tag & 3;
		a->size = tag >> 3;
		digit_bytes = (tag >> 3) * 4;
		if (o.whole && digit_bytes <= INT_HEAD_DIGIT_BYTES &&
		    py.long_digits <= PT_OBJECT_READ - INT_HEAD_DIGIT_BYTES) {
			__builtin_memcpy(a->text, o.bytes + py.long_digits, INT_HEAD_DIGIT_BYTES);
			a->text_len = digit_bytes;
		} else {
			read_text(a, obj + py.long_digits, digit_bytes);
		}
		return;
	}
	if (flags & PT_TPFLAGS_UNICODE_SUBCLASS) {
		if (!object_u64(&o, py.unicode_state, &field) ||
		    !object_u64(&o, py.unicode_length, (__u64 *)&size))
			return;
		state = (__u32)field;
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
		if (!object_u64(&o, py.var_size, (__u64 *)&size) || size < 0)
			return;
		a->kind = PT_ARG_BYTES;
		a->size = size;
		read_text(a, obj + py.bytes_data, size);
		return;
	}
	if (flags & (PT_TPFLAGS_LIST_SUBCLASS | PT_TPFLAGS_TUPLE_SUBCLASS | PT_TPFLAGS_DICT_SUBCLASS)) {
		if (!object_u64(&o, (flags & PT_TPFLAGS_DICT_SUBCLASS) ? py.dict_used : py.var_size, &field))
			return;
		a->kind = (flags & PT_TPFLAGS_LIST_SUBCLASS)    ? PT_ARG_LIST
			  : (flags & PT_TPFLAGS_TUPLE_SUBCLASS) ? PT_ARG_TUPLE
								: PT_ARG_DICT;
		a->size = field;
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
	struct thread_info *info; /* its frame holds the slots, its call gets the values */
	__u64 runtime;		  /* _PyRuntime's address */
	__u32 count;
};

/* One argument (a bpf_loop callback). Returns 1 to stop. */
static long read_arg(__u32 i, struct arg_walk *w)
{
	struct pt_arg *a;
	__u32 index;

	if (i >= w->count || i >= PT_ARGS_MAX)
		return 1;
	index = i;
	barrier_var(index); /* keeps the mask below, which the verifier needs */
	index &= PT_ARGS_MAX - 1;
	a = &w->info->call.args[index];
	a->kind = PT_ARG_UNREAD;
	a->width = 0;
	a->text_len = 0;
	a->_pad = 0;
	a->value = 0;
	a->size = 0;
	read_value(view_u64(&w->info->frame, py.frame_localsplus + 8 * index) & ~STACKREF_TAG_MASK,
		   w->runtime, a);
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

/* A call and the values of its first `count` arguments, in one record.
 * The thread's frame view holds the frame's slots when `slots_read`. */
static __always_inline void emit_call_with_args(struct thread_info *info, __u64 pid_tgid, __u64 seq,
						 __u16 flags, const struct frame_facts *f, bool slots_read,
						 int lineno, __u32 count, __u64 runtime)
{
	struct arg_walk w = { .info = info, .runtime = runtime };
	__u8 *slots = info->frame.bytes + py.frame_localsplus;
	__u32 size;

	if (py.frame_localsplus > FRAME_HEAD_MAX)
		return;
	w.count = count > PT_ARGS_MAX ? PT_ARGS_MAX : count;
	/* The frame was read without its slots: read as many as are needed. */
	if (!slots_read && bpf_probe_read_user(slots, 8 * w.count, (const void *)(f->frame + py.frame_localsplus)))
		__builtin_memset(slots, 0, 8 * PT_ARGS_MAX); /* read as empty slots */
	fill_frame(&info->call.rec, PT_REC_CALL, flags | PT_FRAME_ARGS, pid_tgid, seq, f, lineno);
	bpf_loop(PT_ARGS_MAX, read_arg, &w, 0);
	size = sizeof(struct pt_frame_record) + (w.count & 15) * sizeof(struct pt_arg);
	if (size > sizeof(struct call_with_args))
		return;
	if (bpf_ringbuf_output(&events, &info->call, size, BPF_RB_NO_WAKEUP))
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
}

/* The value of a register at the probe. */
static __always_inline __u64 register_value(struct pt_regs *ctx, short offset)
{
	__u64 value = 0;

#if defined(__TARGET_ARCH_x86)
	/* Direct context reads are much cheaper than a helper call. Each is
	 * an instruction of its own: clang would merge plain field reads into
	 * one read at a variable offset, which the verifier refuses. */
#define CTX_REG(field)                                                                   \
	case offsetof(struct pt_regs, field):                                            \
		asm volatile("%0 = *(u64 *)(%1 + %2)"                                    \
			     : "=r"(value)                                               \
			     : "r"(ctx), "i"(offsetof(struct pt_regs, field)));          \
		return value;
	switch (offset) {
	CTX_REG(rax) CTX_REG(rbx) CTX_REG(rcx) CTX_REG(rdx) CTX_REG(rsi) CTX_REG(rdi)
	CTX_REG(rbp) CTX_REG(r8) CTX_REG(r9) CTX_REG(r12) CTX_REG(r13) CTX_REG(r14) CTX_REG(r15)
	}
#undef CTX_REG
#endif
	bpf_probe_read_kernel(&value, sizeof(value), (const void *)ctx + offset);
	return value;
}

/* USDT argument `index`, as bpf_usdt_arg() computes it for the kinds of
 * argument spec it knows; for any other kind, bpf_usdt_arg() itself. */
static __always_inline __u64 usdt_value(struct pt_regs *ctx, const struct __bpf_usdt_arg_spec *arg, __u64 index)
{
	__u64 value = 0;
	long other = 0;

	switch (arg->arg_type) {
	case BPF_USDT_ARG_CONST:
		value = arg->val_off;
		break;
	case BPF_USDT_ARG_REG:
		value = register_value(ctx, arg->reg_off);
		break;
	case BPF_USDT_ARG_REG_DEREF:
		bpf_probe_read_user(&value, sizeof(value),
				    (const void *)(register_value(ctx, arg->reg_off) + arg->val_off));
		break;
	default:
		/* A kind added by a newer libbpf (the spec comes from the
		 * libbpf this program was built with): let it decode it. */
		return bpf_usdt_arg(ctx, index, &other) ? 0 : (__u64)other;
	}
	value <<= arg->arg_bitshift;
	return arg->arg_signed ? (__u64)((__s64)value >> arg->arg_bitshift) : value >> arg->arg_bitshift;
}


/* Reads the probe's arguments with one look-up of libbpf's spec of the
 * probe site; bpf_usdt_arg() and bpf_usdt_cookie() look it up again each. */
static __always_inline bool read_probe_hit(struct pt_regs *ctx, struct probe_hit *hit)
{
	struct __bpf_usdt_spec *spec;
	int id = __bpf_usdt_spec_id(ctx);

	spec = id < 0 ? 0 : bpf_map_lookup_elem(&__bpf_usdt_specs, &id);
	if (!spec || spec->arg_cnt < 3)
		return false;
	hit->filename = usdt_value(ctx, &spec->args[0], 0);
	hit->funcname = usdt_value(ctx, &spec->args[1], 1);
	hit->lineno = (int)usdt_value(ctx, &spec->args[2], 2);
	hit->runtime = PT_REGS_IP(ctx) + spec->usdt_cookie;
	hit->site = id;
	return true;
}

/*
 * Where a probe site keeps the frame it fires for. CPython's probes fire
 * in small functions that take the frame as their argument, and at the
 * probe it is still in a callee-saved register: reading it there saves
 * reading the thread state's current frame. Which register is the
 * compiler's choice, so it is learned: a register that held the frame the
 * thread state gave on FRAME_REGISTER_VOTES hits in a row is trusted, and
 * the frame it gives must still pass the check that its code is the
 * probe's (else the thread state is asked).
 */
#define FRAME_REGISTER_VOTES 32
/* Per probe site: the register's offset in struct pt_regs, and its votes. */
short frame_register_offset[BPF_USDT_MAX_SPEC_CNT] = {};
__u16 frame_register_votes[BPF_USDT_MAX_SPEC_CNT] = {};

/* The frame in the site's learned register, or 0. */
static __always_inline __u64 frame_from_register(struct pt_regs *ctx, __u32 site)
{
	site &= BPF_USDT_MAX_SPEC_CNT - 1;
	return frame_register_votes[site] >= FRAME_REGISTER_VOTES
		       ? register_value(ctx, frame_register_offset[site])
		       : 0;
}

/* Counts a vote for the register that holds `frame`, the thread state's. */
static __always_inline void learn_frame_register(struct pt_regs *ctx, __u32 site, __u64 frame)
{
	short offset = -1;

	site &= BPF_USDT_MAX_SPEC_CNT - 1;
#if defined(__TARGET_ARCH_x86)
	/* The callee-saved registers, where a value lives across a call. */
	if (ctx->rbx == frame)
		offset = offsetof(struct pt_regs, rbx);
	else if (ctx->rbp == frame)
		offset = offsetof(struct pt_regs, rbp);
	else if (ctx->r12 == frame)
		offset = offsetof(struct pt_regs, r12);
	else if (ctx->r13 == frame)
		offset = offsetof(struct pt_regs, r13);
	else if (ctx->r14 == frame)
		offset = offsetof(struct pt_regs, r14);
	else if (ctx->r15 == frame)
		offset = offsetof(struct pt_regs, r15);
#endif
	if (offset >= 0 && offset == frame_register_offset[site]) {
		if (frame_register_votes[site] < FRAME_REGISTER_VOTES)
			frame_register_votes[site]++;
	} else {
		frame_register_offset[site] = offset;
		frame_register_votes[site] = offset >= 0;
	}
}

/* How the current frame, as read, relates to the probe. */
enum frame_match {
	FRAME_OTHER,	 /* not the probe's, or unreadable */
	FRAME_DESCRIBED, /* the probe's, and its code was described */
	FRAME_NEW_CODE,	 /* the probe's, and its code must be described */
};

/*
 * Reads `frame` and checks that it is the probe's: its code was described
 * with the probe's strings, or its co_name is the probe's funcname. A frame
 * from a cached thread state that no longer runs this thread, or from a
 * register that does not hold the frame, fails the check.
 */
static __always_inline enum frame_match read_probe_frame(__u64 frame, const struct probe_hit *hit,
							 bool with_slots, struct frame_view *view,
							 bool *slots_read, struct frame_facts *f)
{
	enum frame_read got = read_frame(frame, view->bytes, with_slots);
	struct code_seen *seen;

	f->frame = frame;
	*slots_read = got == FRAME_FIELDS_AND_SLOTS;
	if (got == FRAME_UNREAD)
		return FRAME_OTHER;
	f->code = view_code(view);
	if (!f->code)
		return FRAME_OTHER;
	seen = described(f->code, hit->filename, hit->funcname);
	if (seen) {
		f->code_flags = seen->flags;
		f->nargs = seen->nargs;
		f->description = seen->description;
		return FRAME_DESCRIBED;
	}
	return code_is_the_probes(f->code, hit->funcname) ? FRAME_NEW_CODE : FRAME_OTHER;
}

/* The probe's frame, read through the thread's state (cached, or looked up
 * on the thread's first hit or when it runs another thread state now). */
static __always_inline enum frame_match frame_from_thread_state(struct pt_regs *ctx, struct thread_info *info,
								__u32 tid, const struct probe_hit *hit,
								bool with_slots, bool *slots_read,
								struct frame_facts *f)
{
	enum frame_match match = FRAME_OTHER;

	if (info->tstate)
		match = read_probe_frame(read_u64(info->tstate + py.tstate_current_frame), hit, with_slots,
					 &info->frame, slots_read, f);
	if (match == FRAME_OTHER && (!info->tstate || read_u64(info->tstate + py.tstate_native_thread_id) != tid)) {
		info->tstate = find_tstate(hit->runtime, tid);
		if (!info->tstate) {
			__sync_fetch_and_add(&stats.tstate_misses, 1);
			return FRAME_OTHER;
		}
		match = read_probe_frame(read_u64(info->tstate + py.tstate_current_frame), hit, with_slots,
					 &info->frame, slots_read, f);
	}
	if (match == FRAME_OTHER)
		__sync_fetch_and_add(&stats.frame_mismatches, 1);
	else
		learn_frame_register(ctx, hit->site, f->frame);
	return match;
}

/* Userspace's verdict on `code` as described with number `description`. */
static __always_inline __u32 scope_of(__u64 code, __u64 description)
{
	struct pt_scope_verdict *verdict;

	if (!description)
		return PT_SCOPE_UNKNOWN;
	verdict = bpf_map_lookup_elem(&scope_verdicts, &code);
	return verdict && verdict->description == description ? verdict->scope : PT_SCOPE_UNKNOWN;
}

/* The same for a caller's code, through its latest description: the caller
 * runs, so its code was described when its call was seen (or, attaching,
 * when the running frames were sent). A generator's calls are never left
 * out: a run of it resumed by throw() or close() fires no entry, and
 * userspace restores it from the first call it makes. */
static __always_inline __u32 caller_scope_of(__u64 code)
{
	struct code_seen *seen = bpf_map_lookup_elem(&codes, &code);

	if (!seen || (seen->flags & (PT_CO_GENERATOR | PT_CO_COROUTINE | PT_CO_ASYNC_GENERATOR)))
		return PT_SCOPE_UNKNOWN;
	return scope_of(code, seen->description);
}

/*
 * Whether this hit can be left out (docs/probes.md, "Filtering in the
 * kernel"): a call of code out of the scope, made by code out of the scope,
 * is never logged, nor is anything about it read. Userspace drops the same
 * calls by the same rule when the kernel sent them before it knew, so the
 * trees are the same either way. The rule must give the same answer at a
 * call and at its return: the caller of a frame does not change while it
 * runs, so the caller is read at the return too (only for code that is not
 * in the scope). A generator's runs are never left out: userspace keeps
 * where each one last yielded, to restore runs that had no entry probe; they
 * are sent without argument values. A subprogram of its own: the rest of
 * the probe's program is then verified once after it, not once for each
 * way through it.
 */
static __noinline bool leave_out(struct thread_info *info, __u16 kind, bool generator_like)
{
	struct frame_facts *f = &info->facts;
	__u32 scope;
	__u32 zero = 0;
	__u64 *count;

	if (!py.scope_filter || f->code == f->init_shim)
		return false;
	scope = scope_of(f->code, f->description);
	if (scope == PT_SCOPE_SEND)
		return false;
	/* A call (and a generator's return) has read its caller already. The
	 * return of code without a verdict takes its caller along, so that
	 * userspace can apply the rule. */
	if (kind == PT_REC_RETURN && !generator_like)
		read_caller(info, f);
	if (scope != PT_SCOPE_OUT || !f->caller_code || caller_scope_of(f->caller_code) != PT_SCOPE_OUT)
		return false;
	if (generator_like) {
		f->nargs = 0;
		return false;
	}
	count = bpf_map_lookup_elem(&hits_left_out, &zero);
	if (count) /* atomic: another hit on this CPU may preempt this one */
		__sync_fetch_and_add(count, 1);
	return true;
}

static __always_inline int emit_frame(struct pt_regs *ctx, __u16 kind)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	bool with_slots = kind == PT_REC_CALL && py.arg_values, slots_read = false;
	enum frame_match match = FRAME_OTHER;
	struct thread_info *info;
	struct frame_facts *f;
	struct probe_hit *hit;
	struct pt_frame_record *rec;
	__u16 flags = 0;
	__u64 seq, frame;
	bool generator_like;

	if (!active)
		return 0;
	info = traced_thread_info();
	if (!info)
		return 0;
	hit = &info->hit;
	if (!read_probe_hit(ctx, hit))
		return 0;
	f = &info->facts;
	__builtin_memset(f, 0, sizeof(*f));

	if (py.enabled) {
		if (py.init_shim_from_runtime)
			f->init_shim = hit->runtime + py.init_shim_from_runtime;
		frame = frame_from_register(ctx, hit->site);
		if (frame)
			match = read_probe_frame(frame, hit, with_slots, &info->frame, &slots_read, f);
		if (match == FRAME_OTHER)
			match = frame_from_thread_state(ctx, info, tid, hit, with_slots, &slots_read, f);
	}
	if (match == FRAME_NEW_CODE) {
		bpf_probe_read_user(&f->code_flags, sizeof(f->code_flags), (const void *)(f->code + py.code_flags));
		f->nargs = describe_code(info, f->code, f->code_flags, hit->filename, hit->funcname);
	}

	if (match != FRAME_OTHER && !info->stack_sent) {
		/* A new frame's callers, or a returning frame and its callers. */
		send_running_stack(pid_tgid, info,
				   kind == PT_REC_CALL ? view_u64(&info->frame, py.frame_previous) : f->frame,
				   f->init_shim);
	}

	if (match == FRAME_OTHER) {
		f->code = synthetic_code_key(hit->filename, hit->funcname);
		f->frame = 0;
		f->nargs = 0;
		flags |= PT_FRAME_UNREAD;
		if (!described(f->code, hit->filename, hit->funcname))
			describe_code(info, f->code, 0, hit->filename, hit->funcname);
	} else {
		generator_like = f->code_flags &
				 (PT_CO_GENERATOR | PT_CO_COROUTINE | PT_CO_ASYNC_GENERATOR);
		if (kind == PT_REC_CALL) {
			/* Calling a generator function runs its frame only up
			 * to RETURN_GENERATOR, on the thread: later runs are
			 * owned by the generator object. */
			if (generator_like && view_owner(&info->frame) == PT_FRAME_OWNED_BY_THREAD)
				flags |= PT_FRAME_GEN_CREATE;
			else
				read_caller(info, f);
		} else if (f->code == f->init_shim) {
			flags |= PT_FRAME_SHIM;
		} else if (generator_like) {
			/* Userspace may have to restore this run, which had no
			 * entry probe if a throw() or close() started it. */
			read_caller(info, f);
		}
		if (leave_out(info, kind, generator_like))
			return 0;
	}

	seq = take_seq(info);
	if (kind == PT_REC_CALL && f->nargs && !(flags & PT_FRAME_GEN_CREATE) && py.arg_values) {
		emit_call_with_args(info, pid_tgid, seq, flags, f, slots_read, hit->lineno, f->nargs,
				    hit->runtime);
		return 0;
	}
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
		return 0;
	}
	fill_frame(rec, kind, flags, pid_tgid, seq, f, hit->lineno);
	submit(rec);
	return 0;
}

/* python:function__entry(filename, funcname, lineno) */
/*
 * Stops the calling process if userspace asked for it (hold_at_first_call),
 * at its first call of code from a file: the interpreter's start runs only
 * frozen modules ("<frozen ...>"), and it must have finished (its io module
 * opens the script).
 */
static __noinline void hold_if_asked(struct pt_regs *ctx)
{
	struct thread_info *info = traced_thread_info();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 *held = bpf_map_lookup_elem(&hold_at_first_call, &tgid);
	__u64 tstate;
	char first = '<';

	if (!info || !held || (*held && *held != HOLD_NOTE_ONLY) || !read_probe_hit(ctx, &info->hit))
		return;
	bpf_probe_read_user(&first, 1, (const void *)info->hit.filename);
	if (first == '<')
		return;
	tstate = info->tstate ? info->tstate : find_tstate(info->hit.runtime, (__u32)bpf_get_current_pid_tgid());
	if (!tstate)
		return; /* asked again at the next call */
	if (!*held)
		bpf_send_signal_thread(SIGURG);
	*held = tstate;
}

SEC("usdt")
int on_function_entry(struct pt_regs *ctx)
{
	if (holds_pending)
		hold_if_asked(ctx);
	return emit_frame(ctx, PT_REC_CALL);
}

/* python:function__return(filename, funcname, lineno) */
SEC("usdt")
int on_function_return(struct pt_regs *ctx)
{
	return emit_frame(ctx, PT_REC_RETURN);
}

/*
 * A traced process forks: the new process is traced too, from its first
 * instruction (this runs before it does), and userspace is told. Nothing
 * stops it: the probes already cover every process of the interpreter's
 * file. New threads need nothing: they belong to a traced process.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 parent_tgid = pid_tgid >> 32, child_tgid = child->tgid;
	struct thread_info *info;
	struct pt_process_record *rec;
	__u64 seq;

	if (!follow_forks || child->pid != child_tgid || !bpf_map_lookup_elem(&traced, &parent_tgid))
		return 0;
	if (bpf_map_update_elem(&traced, &child_tgid, &parent_tgid, BPF_ANY)) {
		__sync_fetch_and_add(&stats.untraced_processes, 1);
		return 0;
	}
	info = traced_thread_info();
	if (!info)
		return 0;
	seq = take_seq(info);
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
		return 0;
	}
	fill_header(&rec->h, PT_REC_PROCESS, 0, pid_tgid, seq);
	rec->child_pid = child_tgid;
	rec->_pad = 0;
	submit(rec);
	return 0;
}

/* A thread of a traced process ends: send its name, the one it ended with.
 * When it is the process's last, the process is no longer traced (its pid
 * can be reused), and userspace is told even if this thread never ran
 * Python code under the probes (a child that exec'd another program): the
 * record then has no sequence number (0). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct thread_info *info;
	struct pt_thread_exit_record *rec;
	bool process_ended = task->signal->live.counter == 0;
	__u64 seq;

	if (!bpf_map_lookup_elem(&traced, &tgid))
		return 0;
	if (process_ended)
		bpf_map_delete_elem(&traced, &tgid);
	info = bpf_task_storage_get(&threads, bpf_get_current_task_btf(), 0, 0);
	if (!info && !process_ended)
		return 0; /* it never ran Python code under the probes */
	seq = info ? take_seq(info) : 0;
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
		return 0;
	}
	fill_header(&rec->h, PT_REC_THREAD_EXIT, 0, pid_tgid, seq);
	bpf_get_current_comm(rec->comm, sizeof(rec->comm));
	rec->process_ended = process_ended;
	rec->_pad = 0;
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
	info = traced_thread_info();
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
