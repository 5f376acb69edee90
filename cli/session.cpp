// SPDX-License-Identifier: MIT
#include "session.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "core/console_writer.h"
#include "core/error.h"
#include "core/json_writer.h"
#include "core/trace_builder.h"
#include "loader/child_process.h"
#include "loader/interpreter.h"
#include "loader/privileges.h"
#include "loader/probes.h"
#include "output_file.h"

extern char** environ;

namespace pytrace {
namespace {

constexpr int kPollMs = 50;

volatile sig_atomic_t g_child_pid = 0;

// Terminal signals reach the program directly (same process group); the
// tracer outlives it to write the trace. Other stop requests are passed on.
void forward_signal(int sig) {
  if (g_child_pid > 0) kill(g_child_pid, sig);
}

void install_signal_handlers() {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ignore, nullptr);
  sigaction(SIGQUIT, &ignore, nullptr);
  struct sigaction forward {};
  forward.sa_handler = forward_signal;
  sigaction(SIGTERM, &forward, nullptr);
  sigaction(SIGHUP, &forward, nullptr);
}

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
}

// Local time, ISO 8601 with microseconds and the UTC offset.
std::string iso_time_now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm local;
  localtime_r(&ts.tv_sec, &local);
  char date[32], offset[8];
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &local);
  strftime(offset, sizeof(offset), "%z", &local);  // +hhmm
  char out[64];
  std::snprintf(out, sizeof(out), "%s.%06ld%.3s:%s", date, ts.tv_nsec / 1000, offset, offset + 3);
  return out;
}

std::vector<std::string> child_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string var = *e;
    if (var.rfind("PYTHON_JIT=", 0) != 0) env.push_back(var);
  }
  env.push_back("PYTHON_JIT=0");  // JIT-compiled code does not fire the probes
  return env;
}

void report_losses(const std::string& tool, const TraceModel& model) {
  const StackStats& s = model.stack_stats;
  const ProbeStats& p = model.probe_stats;
  uint64_t lost = p.ringbuf_drops + s.lost_records;
  if (lost) {
    std::cerr << tool << ": warning: " << lost
              << " records were lost (ring buffer full); the trace is incomplete. "
                 "A larger --ring-buffer-mb helps.\n";
  }
  uint64_t unmatched = s.unmatched_returns + s.closed_without_return + s.unknown_code;
  if (unmatched) {
    std::cerr << tool << ": warning: " << unmatched
              << " calls or returns could not be matched (see metadata.loss in the JSON)\n";
  }
  if (p.tstate_misses || p.frame_mismatches) {
    std::cerr << tool << ": warning: " << p.tstate_misses + p.frame_mismatches
              << " probe hits could not read their frame; their lines and returns are "
                 "matched by name\n";
  }
  if (s.open_at_end) {
    std::cerr << tool << ": note: " << s.open_at_end << " calls were still running when the program ended\n";
  }
}

}  // namespace

int run_launch_session(const LaunchSpec& spec) {
  std::optional<RunAs> user = invoking_user();
  std::optional<OutputFile> output;
  if (spec.output) output.emplace(*spec.output, user);

  require_bpf_privileges(spec.tool);
  Interpreter python = inspect_interpreter(spec.python);
  if (!python.offsets.offsets.enabled) {
    std::cerr << spec.tool << ": warning: cannot read " << python.executable << "'s frames ("
              << python.offsets.problem << "); returns are matched by name and some lines are unknown\n";
  }

  Scope scope(spec.scope, python.library_dirs);
  SourceCache sources;
  FilterOptions filter{spec.external_calls, spec.imports, spec.show_dunders, spec.main_file, 0};
  // The builder is created once the time origin is known; records that
  // arrive earlier cannot exist (the program has not started).
  std::unique_ptr<TraceBuilder> builder;
  Probes::set_verbose(spec.verbose);
  Probes probes(python.offsets.offsets, spec.ring_buffer_mb << 20,
                [&](std::span<const std::byte> bytes) { builder->add_bytes(bytes); });

  std::vector<std::string> argv{python.executable};
  argv.insert(argv.end(), spec.python_args.begin(), spec.python_args.end());
  GatedChild child(argv, child_environment(), user);
  g_child_pid = child.pid();
  install_signal_handlers();
  probes.attach(child.pid(), python.probe_elf);

  std::cerr << spec.tool << ": tracing "
            << (spec.main_file.empty() ? spec.python_args.front() : spec.main_file) << " with Python "
            << python.version << " (scope " << scope.root() << ")\n";
  SessionInfo info;
  info.original_command = spec.original_command;
  info.scope_path = scope.root();
  info.main_file = spec.main_file;
  info.python_executable = python.executable;
  info.python_version = python.version;
  info.pid = static_cast<uint32_t>(child.pid());
  info.start_time = iso_time_now();
  info.external_calls = spec.external_calls;
  info.imports = spec.imports;
  info.show_dunders = spec.show_dunders;
  filter.origin_ns = monotonic_ns();
  builder = std::make_unique<TraceBuilder>(scope, filter, sources);

  child.release();
  while (!child.poll_exit()) probes.poll(kPollMs, child.exit_fd());
  probes.drain();
  int exit_code = *child.poll_exit();
  g_child_pid = 0;

  info.duration_ns = monotonic_ns() - filter.origin_ns;
  ProbeStats probe_stats = probes.stats();
  probes.detach_in_background();
  info.end_time = iso_time_now();
  info.exit_code = exit_code;
  std::unique_ptr<TraceModel> model = builder->finish();
  model->session = info;
  model->probe_stats = probe_stats;

  if (model->stack_stats.records == 0) {
    throw Error("no probe of " + python.probe_elf.path +
                " fired while the program ran, so nothing was traced. Its probes do not work "
                "on this system (is the JIT forced on, or are uprobes disabled?)");
  }
  report_losses(spec.tool, *model);

  size_t calls = model->total_entries();
  if (output) {
    output->commit([&](std::ostream& out) { write_json(*model, scope, sources, out); });
  } else {
    std::cout.flush();
    write_console_tree(*model, scope, std::cout);
    std::cout.flush();
  }
  std::cerr << spec.tool << ": traced " << calls << " calls in " << model->threads.size()
            << (model->threads.size() == 1 ? " thread" : " threads") << " ("
            << format_duration(info.duration_ns) << ", exit code " << exit_code << ")\n";
  if (output) std::cerr << spec.tool << ": trace written to " << output->path() << "\n";
  return exit_code;
}

}  // namespace pytrace
