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
	__u32 _pad;
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

/* Sends a code record for `code` and remembers that it was sent. `read`
 * says that `code` is a real code object (not a synthetic key). */
static __always_inline void describe_code(__u64 pid_tgid, struct thread_info *info, __u64 code,
					  __u32 code_flags, bool read, __u64 filename, __u64 funcname)
{
	struct code_seen now = { .filename = filename, .name = funcname, .flags = code_flags };
	struct pt_code_record *rec;
	__u8 *linetable_out;
	__u32 zero = 0, len = 0;
	__u64 full_len = 0;

	rec = bpf_map_lookup_elem(&scratch, &zero);
	if (!rec)
		return;
	linetable_out = (__u8 *)(rec + 1);

	fill_header(&rec->h, PT_REC_CODE, 0, pid_tgid, take_seq(info));
	rec->code = code;
	rec->first_lineno = -1;
	rec->code_flags = code_flags;
	bpf_probe_read_user_str(rec->filename, sizeof(rec->filename), (const void *)filename);
	bpf_probe_read_user_str(rec->name, sizeof(rec->name), (const void *)funcname);
	rec->qualname[0] = 0;
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
		return;
	}
	bpf_map_update_elem(&codes, &code, &now, BPF_ANY);
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
		} else if (code_is_the_probes(f.code, funcname)) {
			f.read = 1;
			bpf_probe_read_user(&f.code_flags, sizeof(f.code_flags),
					    (const void *)(f.code + py.code_flags));
			describe_code(pid_tgid, info, f.code, f.code_flags, true, filename, funcname);
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
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		__sync_fetch_and_add(&stats.ringbuf_drops, 1);
		return 0;
	}
	fill_header(&rec->h, kind, flags, pid_tgid, seq);
	rec->code = f.code;
	rec->frame = f.frame;
	rec->caller_frame = f.caller_frame;
	rec->caller_code = f.caller_code;
	rec->caller_instr = f.caller_instr;
	rec->lineno = lineno;
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
