// SPDX-License-Identifier: MIT
#include "loader/probes.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <bpf/libbpf.h>

#include "core/error.h"
#include "core/load_log.h"
#include "pytrace_bpf.skel.h"

namespace pytrace {
namespace {

bool g_verbose = false;
// While loading: what libbpf says, to explain a refusal in one message.
std::string* g_load_log = nullptr;

int print_libbpf(enum libbpf_print_level level, const char* format, va_list args) {
  if (g_load_log && level != LIBBPF_DEBUG) {
    va_list copy;
    va_copy(copy, args);
    int length = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    if (length > 0) {
      std::vector<char> text(length + 1);
      va_copy(copy, args);
      std::vsnprintf(text.data(), text.size(), format, copy);
      va_end(copy);
      g_load_log->append(text.data(), length);
    }
  }
  if (!g_verbose) return 0;
  return std::vfprintf(stderr, format, args);  // libbpf's messages carry their own prefix
}

// Loads with libbpf's words kept in `log`.
class CapturedLoad {
 public:
  explicit CapturedLoad(std::string& log) { g_load_log = &log; }
  ~CapturedLoad() { g_load_log = nullptr; }
  CapturedLoad(const CapturedLoad&) = delete;
  CapturedLoad& operator=(const CapturedLoad&) = delete;
};

// libbpf returns -errno, or NULL with errno set; one place turns that into text.
std::string libbpf_error(int err) {
  char buffer[128];
  libbpf_strerror(err < 0 ? err : -err, buffer, sizeof(buffer));
  return buffer;
}

std::string kernel_release() {
  utsname name{};
  return uname(&name) == 0 ? name.release : "this kernel";
}

// "the kernel (6.1.0-37-amd64) refused on_function_entry: combined stack size ... Too large"
std::string refusal(int err, const std::string& log) {
  LoadFailure failure = find_load_failure(log);
  std::string text = "the kernel (" + kernel_release() + ") refused ";
  text += failure.program.empty() ? "the BPF programs" : "the BPF program " + failure.program;
  text += failure.reason.empty() ? ": " + libbpf_error(err) : ": " + failure.reason;
  return text;
}

}  // namespace

void Probes::SkeletonDeleter::operator()(pytrace_bpf* skeleton) const {
  pytrace_bpf__destroy(skeleton);
}
void Probes::LinkDeleter::operator()(bpf_link* link) const {
  bpf_link__destroy(link);
}
void Probes::RingDeleter::operator()(ring_buffer* ring) const {
  ring_buffer__free(ring);
}

void Probes::set_verbose(bool verbose) {
  g_verbose = verbose;
}

int Probes::open_and_load(const ProbeOptions& options, bool tracepoints, std::string& log) {
  log.clear();
  CapturedLoad capture(log);
  skeleton_.reset(pytrace_bpf__open());
  if (!skeleton_) throw Error("cannot open the BPF programs: " + libbpf_error(errno));
  skeleton_->rodata->py = options.offsets;
  // The verdicts need the frames: their code objects, and their callers'.
  if (!options.offsets.enabled) skeleton_->rodata->py.scope_filter = 0;
  filters_by_scope_ = skeleton_->rodata->py.scope_filter != 0;
  skeleton_->rodata->follow_forks = options.follow_forks;
  int err = bpf_map__set_max_entries(skeleton_->maps.events, static_cast<__u32>(options.ring_buffer_bytes));
  if (err) {
    throw Error("cannot size the ring buffer to " + std::to_string(options.ring_buffer_bytes) +
                " bytes: " + libbpf_error(err));
  }
  // With -v, the verifier's log and statistics (instructions, stack depth) for every program.
  if (g_verbose) {
    bpf_program* program;
    bpf_object__for_each_program(program, skeleton_->obj) bpf_program__set_log_level(program, 1 | 4);
  }
  bpf_program__set_autoload(skeleton_->progs.on_fork, tracepoints);
  bpf_program__set_autoload(skeleton_->progs.on_exit, tracepoints);
  return pytrace_bpf__load(skeleton_.get());
}

Probes::Probes(const ProbeOptions& options, RecordHandler handler) : handler_(std::move(handler)) {
  libbpf_set_print(print_libbpf);
  std::string log;
  bool tracepoints = options.tracepoints;
  int err = open_and_load(options, tracepoints, log);
  // Without the tracepoint programs, the others still trace one process.
  std::string refused = find_load_failure(log).program;
  if (err && tracepoints && (refused == "on_fork" || refused == "on_exit")) {
    tracepoint_problem_ = refusal(err, log);
    tracepoints = false;
    err = open_and_load(options, tracepoints, log);
  }
  if (err) {
    throw Error("cannot load the BPF programs: " + refusal(err, log) +
                (g_verbose ? "" : " (run with -v for the verifier's whole log)"));
  }
  if (tracepoints) {
    bpf_link* fork_link = bpf_program__attach(skeleton_->progs.on_fork);
    bpf_link* exit_link = bpf_program__attach(skeleton_->progs.on_exit);
    if (!fork_link || !exit_link)
      tracepoint_problem_ =
          "cannot attach to the sched_process_fork/exit tracepoints: " + libbpf_error(errno);
    for (bpf_link* link : {fork_link, exit_link}) {
      if (link) links_.emplace_back(link);
    }
  }
  follows_forks_ = options.follow_forks && tracepoint_problem_.empty() && tracepoints;
  ring_.reset(ring_buffer__new(bpf_map__fd(skeleton_->maps.events), &Probes::on_record, this, nullptr));
  if (!ring_) throw Error("cannot create the ring buffer: " + libbpf_error(errno));
  wakeups_.fd = epoll_create1(EPOLL_CLOEXEC);
  epoll_event event{};
  event.events = EPOLLIN | EPOLLET;
  if (wakeups_.fd < 0 ||
      epoll_ctl(wakeups_.fd, EPOLL_CTL_ADD, bpf_map__fd(skeleton_->maps.events), &event) != 0)
    throw Error(std::string("cannot wait for the ring buffer: ") + std::strerror(errno));
}

Probes::OwnedFd::~OwnedFd() {
  if (fd >= 0) close(fd);
}

void Probes::activate() {
  __atomic_store_n(&skeleton_->bss->active, 1, __ATOMIC_RELEASE);
}

void Probes::trace(pid_t pid) {
  __u32 key = static_cast<__u32>(pid), parent = 0;
  bpf_map__update_elem(skeleton_->maps.traced, &key, sizeof(key), &parent, sizeof(parent), BPF_ANY);
}

void Probes::hold_at_first_call(pid_t pid, bool stop) {
  __u32 key = static_cast<__u32>(pid);
  __u64 unseen = stop ? 0 : 1;  // HOLD_NOTE_ONLY
  int err = bpf_map__update_elem(skeleton_->maps.hold_at_first_call, &key, sizeof(key), &unseen,
                                 sizeof(unseen), BPF_ANY);
  if (err)
    throw Error("cannot ask the probes to stop process " + std::to_string(pid) + ": " + libbpf_error(err));
  __atomic_store_n(&skeleton_->bss->holds_pending, 1, __ATOMIC_RELEASE);
}

uint64_t Probes::held_thread_state(pid_t pid) const {
  __u32 key = static_cast<__u32>(pid);
  __u64 tstate = 0;
  bpf_map__lookup_elem(skeleton_->maps.hold_at_first_call, &key, sizeof(key), &tstate, sizeof(tstate), 0);
  return tstate > 1 ? tstate : 0;  // 0 and 1: not found yet
}

void Probes::end_hold(pid_t pid) {
  __u32 key = static_cast<__u32>(pid);
  bpf_map__delete_elem(skeleton_->maps.hold_at_first_call, &key, sizeof(key), 0);
  __u32 next = 0;
  if (bpf_map__get_next_key(skeleton_->maps.hold_at_first_call, nullptr, &next, sizeof(next)) != 0)
    __atomic_store_n(&skeleton_->bss->holds_pending, 0, __ATOMIC_RELEASE);
}

Probes::~Probes() = default;

// Detaching a uprobe waits for an RCU grace period (about 100 ms here, one
// after another for the six probe sites), and whoever closes the last
// descriptor of a probe waits. Once the traced program is gone the probes
// can fire no more, so a forked child keeps copies of the descriptors,
// waits until this process has closed its own, and closes the last ones
// while the tool exits.
void Probes::detach_in_background() {
  if (links_.empty()) return;
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return;  // the destructor detaches instead
  pid_t pid = fork();
  if (pid < 0) {
    close(ready[0]);
    close(ready[1]);
    return;
  }
  if (pid == 0) {
    close(ready[1]);
    // Let go of the terminal and of any pipe the tool writes into, so that
    // nobody waits for this process.
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd <= 2; ++fd) dup2(null_fd, fd);
    setsid();
    char byte;
    while (read(ready[0], &byte, 1) < 0 && errno == EINTR) {
    }
    links_.clear();  // the last descriptors: this is where the waiting happens
    _exit(0);
  }
  close(ready[0]);
  // A USDT link holds a perf event and a BPF link per probe site and does
  // not expose their descriptors: close every such descriptor of this
  // process (all of them are the links'), then free the links without
  // detaching.
  if (DIR* fds = opendir("/proc/self/fd")) {
    while (dirent* entry = readdir(fds)) {
      char target[64];
      std::string path = std::string("/proc/self/fd/") + entry->d_name;
      ssize_t length = readlink(path.c_str(), target, sizeof(target));
      std::string_view kind(target, length > 0 ? length : 0);
      if (kind == "anon_inode:[perf_event]" || kind == "anon_inode:bpf_link") {
        close(std::atoi(entry->d_name));
      }
    }
    closedir(fds);
  }
  for (auto& link : links_) bpf_link__disconnect(link.get());
  links_.clear();
  close(ready[1]);  // the child goes on
}

int Probes::on_record(void* ctx, void* data, size_t size) {
  auto* self = static_cast<Probes*>(ctx);
  self->handler_(std::span<const std::byte>(static_cast<const std::byte*>(data), size));
  return 0;
}

void Probes::attach(const PythonElf& elf, pid_t pid) {
  struct Target {
    bpf_program* program;
    const char* probe;
    bool needs_runtime;  // reads frames: give it the distance to _PyRuntime
  };
  const Target targets[] = {
      {skeleton_->progs.on_function_entry, "function__entry", true},
      {skeleton_->progs.on_function_return, "function__return", true},
      {skeleton_->progs.on_import_start, "import__find__load__start", false},
      {skeleton_->progs.on_import_done, "import__find__load__done", false},
  };
  for (const Target& target : targets) {
    auto notes = elf.find("python", target.probe);
    if (notes.empty()) {
      if (target.needs_runtime) throw Error(elf.path + " has no python:" + target.probe + " probe");
      continue;  // import probes are optional
    }
    // The program finds _PyRuntime at (probe address + cookie): the cookie is
    // the distance between the two in the file, which loading preserves.
    LIBBPF_OPTS(bpf_usdt_opts, opts);
    if (target.needs_runtime && elf.runtime_address) {
      opts.usdt_cookie = *elf.runtime_address - notes.front()->address;
    }
    bpf_link* link =
        bpf_program__attach_usdt(target.program, pid, elf.path.c_str(), "python", target.probe, &opts);
    if (!link) {
      int err = errno;
      throw Error("cannot attach to python:" + std::string(target.probe) + " in " + elf.path + ": " +
                  libbpf_error(err));
    }
    links_.emplace_back(link);
  }
}

void Probes::poll(int timeout_ms, int wake_fd) {
  pollfd wake[2] = {{wakeups_.fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
  if (::poll(wake, wake_fd >= 0 ? 2 : 1, timeout_ms) < 0 && errno != EINTR) {
    throw Error(std::string("poll: ") + std::strerror(errno));
  }
  epoll_event taken;
  epoll_wait(wakeups_.fd, &taken, 1, 0);  // takes the edge, if there was one
  drain();
}

void Probes::set_scope_verdict(uint64_t code, uint64_t description, ScopeVerdict scope) {
  pt_scope_verdict verdict{description, static_cast<uint32_t>(scope), 0};
  // Full: the code keeps no verdict and its calls are all sent (counted).
  if (bpf_map__update_elem(skeleton_->maps.scope_verdicts, &code, sizeof(code), &verdict, sizeof(verdict),
                           BPF_ANY) != 0)
    ++verdicts_not_kept_;
}

void Probes::drain() {
  int n = ring_buffer__consume(ring_.get());
  if (n < 0 && n != -EINTR) throw Error("reading the ring buffer: " + libbpf_error(n));
}

ProbeStats Probes::stats() const {
  const pt_stats& s = skeleton_->bss->stats;
  ProbeStats stats{s.ringbuf_drops, s.tstate_misses, s.frame_mismatches, s.scratch_busy,
                   s.untraced_processes};
  stats.verdicts_not_kept = verdicts_not_kept_;
  // One counter per CPU.
  int cpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> per_cpu(cpus > 0 ? cpus : 0);
  uint32_t zero = 0;
  if (cpus > 0 && bpf_map__lookup_elem(skeleton_->maps.hits_left_out, &zero, sizeof(zero), per_cpu.data(),
                                       per_cpu.size() * sizeof(uint64_t), 0) == 0) {
    for (uint64_t n : per_cpu) stats.hits_left_out += n;
  }
  return stats;
}

}  // namespace pytrace
