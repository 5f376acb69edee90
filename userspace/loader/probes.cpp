// SPDX-License-Identifier: MIT
#include "loader/probes.h"

#include <poll.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>

#include <bpf/libbpf.h>

#include "core/error.h"
#include "pytrace_bpf.skel.h"

namespace pytrace {
namespace {

bool g_verbose = false;

int print_libbpf(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG && !g_verbose) return 0;
  return std::vfprintf(stderr, format, args);  // libbpf's messages carry their own prefix
}

// libbpf returns -errno, or NULL with errno set; one place turns that into text.
std::string libbpf_error(int err) {
  char buffer[128];
  libbpf_strerror(err < 0 ? err : -err, buffer, sizeof(buffer));
  return buffer;
}

std::string privilege_hint(int err) {
  err = err < 0 ? -err : err;
  return (err == EPERM || err == EACCES) ? " (not permitted: run as root)" : "";
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

Probes::Probes(const pt_python_offsets& offsets, size_t ring_buffer_bytes, RecordHandler handler)
    : handler_(std::move(handler)) {
  libbpf_set_print(print_libbpf);

  skeleton_.reset(pytrace_bpf__open());
  if (!skeleton_) throw Error("cannot open the BPF programs: " + libbpf_error(errno));
  skeleton_->rodata->py = offsets;
  int err = bpf_map__set_max_entries(skeleton_->maps.events, static_cast<__u32>(ring_buffer_bytes));
  if (err)
    throw Error("cannot size the ring buffer to " + std::to_string(ring_buffer_bytes) +
                " bytes: " + libbpf_error(err));
  err = pytrace_bpf__load(skeleton_.get());
  if (err) {
    throw Error("cannot load the BPF programs: " + libbpf_error(err) + privilege_hint(err) +
                " (run with -v for libbpf's log)");
  }
  ring_.reset(ring_buffer__new(bpf_map__fd(skeleton_->maps.events), &Probes::on_record, this, nullptr));
  if (!ring_) throw Error("cannot create the ring buffer: " + libbpf_error(errno));
}

Probes::~Probes() = default;

int Probes::on_record(void* ctx, void* data, size_t size) {
  auto* self = static_cast<Probes*>(ctx);
  self->handler_(std::span<const std::byte>(static_cast<const std::byte*>(data), size));
  return 0;
}

void Probes::attach(pid_t pid, const PythonElf& elf) {
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
      throw Error("cannot attach to python:" + std::string(target.probe) + " in " + elf.path + " for pid " +
                  std::to_string(pid) + ": " + libbpf_error(err) + privilege_hint(err));
    }
    links_.emplace_back(link);
  }
}

void Probes::poll(int timeout_ms, int extra_fd) {
  pollfd fds[2] = {{ring_buffer__epoll_fd(ring_.get()), POLLIN, 0}, {extra_fd, POLLIN, 0}};
  if (::poll(fds, extra_fd >= 0 ? 2 : 1, timeout_ms) < 0 && errno != EINTR) {
    throw Error(std::string("poll: ") + std::strerror(errno));
  }
  drain();
}

void Probes::drain() {
  int n = ring_buffer__consume(ring_.get());
  if (n < 0 && n != -EINTR) throw Error("reading the ring buffer: " + libbpf_error(n));
}

ProbeStats Probes::stats() const {
  const pt_stats& s = skeleton_->bss->stats;
  return ProbeStats{s.ringbuf_drops, s.tstate_misses, s.frame_mismatches, s.code_records};
}

}  // namespace pytrace
