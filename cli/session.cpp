// SPDX-License-Identifier: MIT
#include "session.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "core/console_writer.h"
#include "core/error.h"
#include "core/json_writer.h"
#include "core/local_time.h"
#include "core/trace_builder.h"
#include "core/where_writer.h"
#include "loader/child_process.h"
#include "loader/interpreter.h"
#include "loader/kernel_features.h"
#include "loader/line_events.h"
#include "loader/privileges.h"
#include "loader/probes.h"
#include "output_file.h"
#include "python_choice.h"
#include "status_line.h"
#include "trace_document.h"
#include "trace_export.h"

extern char** environ;

namespace pytrace {
namespace {

constexpr int kPollMs = 50;
constexpr int kHoldPollMs = 2;  // while the program is held at its start
// Traces this large say so while their calls are grouped.
constexpr size_t kBigTrace = 1000000;
// Where the spill file of the logged calls is made (unnamed, mode 0600):
// /var/tmp, which is meant for large files and is rarely in memory as /tmp
// can be; never TMPDIR, which the user running sudo may set.
constexpr const char* kSpillDirectory = "/var/tmp";

// The JSON document that --format chrome|speedscope|collapsed is made
// from: an unnamed file (mode 0600) in kSpillDirectory, opened before the
// program runs, so that a directory that cannot hold it is said first.
class ScratchDocument {
 public:
  explicit ScratchDocument(const std::string& format)
      : fd_(open(kSpillDirectory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) {
    if (fd_ < 0)
      throw Error("--format " + format + " needs a temporary file in " + kSpillDirectory +
                  " for the trace it is made from: " + std::strerror(errno));
  }
  ~ScratchDocument() { close(fd_); }
  ScratchDocument(const ScratchDocument&) = delete;
  ScratchDocument& operator=(const ScratchDocument&) = delete;

  int fd() const { return fd_; }
  // The file by a name that opens it again (it has no other).
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

// 1234567 -> "1,234,567".
std::string digits(uint64_t n) {
  std::string plain = std::to_string(n), text;
  for (size_t i = 0; i < plain.size(); ++i) {
    if (i > 0 && (plain.size() - i) % 3 == 0) text += ',';
    text += plain[i];
  }
  return text;
}

// Set by the signal handler, read by the polling loops.
volatile sig_atomic_t g_child_pid = 0;       // launch: the program, to pass stop requests on to
volatile sig_atomic_t g_interrupted = 0;     // the user pressed Ctrl-C (or sent SIGINT)
volatile sig_atomic_t g_stop_requested = 0;  // SIGTERM or SIGHUP

void on_signal(int sig, siginfo_t* info, void*) {
  if (sig == SIGINT) g_interrupted = 1;
  if (sig != SIGINT) g_stop_requested = 1;
  // A Ctrl-C at the terminal reaches the program too (same process group);
  // a signal sent to the tool alone is passed on.
  if (g_child_pid > 0 && !(sig == SIGINT && info->si_code == SI_KERNEL)) kill(g_child_pid, sig);
}

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_sigaction = on_signal;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &action, nullptr);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGQUIT, &ignore, nullptr);
}

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
}

// The program's environment: the tool's, with the JIT off (JIT-compiled
// code does not fire the probes) and, when it runs as the sudo user, that
// user's HOME and names.
std::vector<std::string> child_environment(const std::optional<RunAs>& user,
                                           const std::vector<std::string>& extra) {
  std::vector<std::string> replaced{"PYTHON_JIT=0"};
  if (user) {
    if (struct passwd* pw = getpwuid(user->uid)) {
      replaced.push_back(std::string("HOME=") + pw->pw_dir);
      replaced.push_back(std::string("USER=") + pw->pw_name);
      replaced.push_back(std::string("LOGNAME=") + pw->pw_name);
    }
  }
  replaced.insert(replaced.end(), extra.begin(), extra.end());
  auto name_of = [](const std::string& var) { return var.substr(0, var.find('=') + 1); };
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string var = *e;
    bool overridden = false;
    for (const auto& r : replaced) overridden |= name_of(r) == name_of(var);
    if (!overridden) env.push_back(var);
  }
  env.insert(env.end(), replaced.begin(), replaced.end());
  return env;
}

void report_losses(const std::string& tool, const TraceModel& model) {
  const StackStats& s = model.stack_stats;
  const ProbeStats& p = model.probe_stats;
  // The same lost records, counted by the kernel (a full ring buffer) and
  // by the reader (gaps in a thread's sequence numbers, which cannot show
  // the records lost after a thread's last one): the larger is the loss.
  uint64_t lost = std::max(p.ringbuf_drops, s.lost_records);
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
  if (p.scratch_busy) {
    std::cerr << tool << ": warning: " << p.scratch_busy
              << " code descriptions or running stacks were not sent (every work slot was in use)\n";
  }
  if (p.tstate_misses || p.frame_mismatches) {
    std::cerr << tool << ": warning: " << p.tstate_misses + p.frame_mismatches
              << " probe hits could not read their frame; their lines and returns are matched by name\n";
  }
  // A program ended at its breakpoint always has calls running: no news.
  if (s.open_at_end && !model.breakpoint_hit) {
    std::cerr << tool << ": note: " << s.open_at_end << " calls were still running when tracing ended\n";
  }
}

// Probes the kernel, says once what each missing feature disables, and
// throws, naming them, when one that every probe needs is missing.
KernelFeatures check_kernel(const std::string& tool) {
  KernelFeatures kernel = probe_kernel_features();
  if (auto missing = kernel.missing(true); !missing.empty()) {
    std::string text = "this kernel (Linux " + kernel.release + ") lacks what the probes need:";
    for (const KernelFeature* f : missing)
      text += "\n  - " + f->name + " (Linux " + f->since + "+), for " + f->needed_for;
    throw Error(text + "\nUse a newer kernel (docs/probes.md lists what each is for).");
  }
  for (const KernelFeature* f : kernel.missing(false)) {
    std::cerr << tool << ": note: this kernel (Linux " << kernel.release << ") lacks " << f->name
              << " (Linux " << f->since << "+): " << f->needed_for << "\n";
  }
  return kernel;
}

// How the probes are loaded for a session. `follow_forks`: the probes go
// into the interpreter's file for every process and the programs let the
// traced ones through. Without argument values the programs leave the
// frames' local slots alone.
ProbeOptions probe_options(const SessionSpec& spec, const KernelFeatures& kernel, const Interpreter& python,
                           bool follow_forks) {
  ProbeOptions options;
  options.offsets = python.offsets.offsets;
  if (!spec.arg_values) options.offsets.arg_values = 0;
  // trace_where shows every frame of the stack, in the scope or not.
  options.offsets.scope_filter = spec.kernel_filter && !spec.breakpoint;
  options.ring_buffer_bytes = spec.ring_buffer_mb << 20;
  options.tracepoints = kernel.btf_tracepoints;
  options.follow_forks = follow_forks && kernel.btf_tracepoints;
  return options;
}

// What the launching and attaching sessions share once the interpreter is
// known: the probes, the pure pipeline behind them, and writing the result.
// `only_process`: attach the probes to that process alone; -1: to every
// process of the interpreter's file, following forks.
class Recorder {
 public:
  Recorder(const SessionSpec& spec, const KernelFeatures& kernel, const Interpreter& python,
           const std::vector<std::string>& scopes, const std::string& main_file, pid_t only_process)
      : spec_(spec),
        scope_(scopes, python.library_dirs),
        probes_(probe_options(spec, kernel, python, only_process == -1),
                [this](std::span<const std::byte> bytes) { builder_->add_bytes(bytes); }) {
    probes_.attach(python.probe_elf, only_process);
    if (probes_.follows_forks()) probe_file_ = python.probe_elf.path;
    if (!probes_.tracepoint_problem().empty()) {
      std::cerr << spec.tool
                << ": warning: " << (only_process == -1 ? "child processes will not be traced and " : "")
                << "threads that end while traced keep no name: " << probes_.tracepoint_problem() << "\n";
    }
    if (!python.offsets.offsets.enabled) {
      std::cerr
          << spec.tool << ": warning: cannot read " << python.executable << "'s frames ("
          << python.offsets.problem
          << "); returns are matched by name, some lines are unknown and argument values are not recorded\n";
    }
    info_.original_command = spec.original_command;
    info_.scope_path = scope_.root();
    info_.scope_paths = scope_.roots();
    info_.main_file = main_file;
    info_.python_executable = python.executable;
    info_.python_version = python.version;
    info_.external_calls = spec.external_calls;
    info_.imports = spec.imports;
    info_.show_dunders = spec.show_dunders;
    info_.arg_values = spec.arg_values && python.offsets.offsets.enabled;
    info_.executed_lines = spec.track_executed_lines;
    if (spec.track_executed_lines || spec.breakpoint) {
      LineWatch watch;
      if (spec.track_executed_lines) {
        watch.roots = scope_.roots();
        watch.excluded = scope_.exclusions();
      }
      watch.breakpoint = spec.breakpoint;
      watch.attached = only_process >= 0;
      // An attached process is never ended: the tool leaves it as it found
      // it, and a script that outlived the session must not end it either.
      if (watch.attached && watch.breakpoint) watch.breakpoint->stop = false;
      line_script_.emplace(watch);
    }
    if (!spec.export_format.empty()) scratch_.emplace(spec.export_format);
  }

  // The executed-lines script, or null.
  LineScript* line_script() { return line_script_ ? &*line_script_ : nullptr; }

  Probes& probes() { return probes_; }
  bool breakpoint_taken() const { return builder_ && builder_->breakpoint_taken(); }
  SessionInfo& info() { return info_; }
  uint64_t origin_ns() const { return origin_ns_; }

  // From here on records are expected; times count from now.
  void start(pid_t pid) {
    info_.pid = static_cast<uint32_t>(pid);
    info_.start_time = iso_time_now();
    origin_ns_ = monotonic_ns();
    FilterOptions filter;
    filter.external_calls = spec_.external_calls;
    filter.imports = spec_.imports;
    filter.show_dunders = spec_.show_dunders;
    filter.main_file = info_.main_file;
    filter.line_script = line_script_ ? line_script_->path() : "";
    filter.executed_lines = spec_.track_executed_lines;
    if (spec_.breakpoint) {
      std::vector<std::string> files{spec_.breakpoint->file};
      std::error_code ec;
      std::string resolved = std::filesystem::canonical(spec_.breakpoint->file, ec).string();
      if (!ec && resolved != files.front()) files.push_back(resolved);
      filter.breakpoint = FilterOptions::Breakpoint{files, spec_.breakpoint->line};
    }
    filter.origin_ns = origin_ns_;
    // The logged calls go to a spill file, not the tracer's own memory (core/spill.h).
    if (std::string problem = SpillFile::open(kSpillDirectory); !problem.empty())
      std::cerr << spec_.tool << ": note: the calls are kept in memory: " << problem << "\n";
    builder_ = std::make_unique<TraceBuilder>(scope_, filter, sources_);
    if (probes_.filters_by_scope())
      builder_->filter_by_scope([this](uint64_t code, uint64_t description, ScopeVerdict scope) {
        probes_.set_scope_verdict(code, description, scope);
      });
    builder_->set_root_process(info_.pid);
    probes_.trace(pid);
    probes_.activate();
    // The probes are in the file, for every process that runs it: say who
    // else pays for them.
    if (int others = probe_file_.empty() ? 0 : count_processes_running(probe_file_, pid)) {
      std::cerr << spec_.tool << ": note: " << others
                << (others == 1 ? " other process runs " : " other processes run ") << probe_file_
                << "; while tracing, each of its calls takes a probe trap (about 1 us), "
                << "though nothing of it is recorded\n";
    }
  }

  // Reads what arrived, waiting at most `timeout_ms` for more.
  void poll(int wake_fd, int timeout_ms = kPollMs) {
    probes_.poll(timeout_ms, wake_fd);
    if (status_.due()) show_progress();
  }

  // The program has exited: traces the processes it started until they
  // have too, or until Ctrl-C.
  void wait_for_children() {
    for (;;) {
      std::vector<uint32_t> running = still_running();
      if (running.empty() || g_interrupted || g_stop_requested) return;
      if (status_.due())
        status_.show(spec_.tool + ": the program has exited; tracing the " + digits(running.size()) +
                     (running.size() == 1 ? " process" : " processes") +
                     " it started until they end (Ctrl-C stops)");
      probes_.poll(kPollMs, -1);
    }
  }

  // Reads what is left, detaches the probes and builds the model.
  std::unique_ptr<TraceModel> stop() {
    status_.clear();
    probes_.drain();
    report_still_running();
    info_.duration_ns = monotonic_ns() - origin_ns_;
    info_.end_time = iso_time_now();
    ProbeStats probe_stats = probes_.stats();
    probes_.detach_in_background();
    name_live_threads();
    std::unique_ptr<TraceModel> model = builder_->finish();
    model->session = info_;
    model->probe_stats = probe_stats;
    return model;
  }

  // Writes the trace and lets go of the model without freeing it: the tool
  // ends once the trace is written, freeing millions of entries one by one
  // would only make the user wait longer (7% of the time spent after a
  // 600k-call program ends), and the system takes the memory back at once.
  void write(std::unique_ptr<TraceModel> owned, std::optional<OutputFile>& output) {
    TraceModel& model = *owned.release();
    report_losses(spec_.tool, model);
    if (spec_.breakpoint) return write_breakpoint_stack(model, output);
    const auto& roots = scope_.roots();
    for (size_t i = 0; i < roots.size(); ++i) {
      if (i >= model.scopes_used.size() || !model.scopes_used[i])
        std::cerr << spec_.tool << ": warning: no code that ran was in the scope " << roots[i] << "\n";
    }
    size_t total = model.total_entries();
    status_.restart();
    if (spec_.patterns) {
      if (total >= kBigTrace)
        status_.show(spec_.tool + ": grouping the repeated calls of " + digits(total) + " calls");
      model.find_patterns(PatternOptions{});
      status_.clear();
    }
    if (output && spec_.text_format) {
      output->commit([&](std::ostream& out) { write_console_tree(model, scope_, out); });
    } else if (output && !spec_.export_format.empty()) {
      write_other_format(model, *output);
    } else if (output) {
      output->commit([&](std::ostream& out) {
        write_json(model, scope_, sources_, out, [&](size_t written) {
          if (status_.due())
            status_.show(spec_.tool + ": writing " + output->path() + ": " +
                         std::to_string(100 * written / total) + "% of " + digits(total) + " calls");
        });
      });
      status_.clear();
    } else {
      const char* no_color = getenv("NO_COLOR");
      const char* term = getenv("TERM");
      ConsoleOptions console;
      console.color = spec_.color && isatty(STDOUT_FILENO) && !(no_color && *no_color) &&
                      !(term && std::string(term) == "dumb");
      std::cout.flush();
      write_console_tree(model, scope_, std::cout, console);
      std::cout.flush();
    }
    std::cerr << spec_.tool << ": traced " << model.total_entries() << " calls in " << model.threads.size()
              << (model.threads.size() == 1 ? " thread" : " threads") << " ("
              << format_duration(model.session.duration_ns) << ")\n";
    if (output && !output->is_stdout())
      std::cerr << spec_.tool << ": trace written to " << output->path() << "\n";
  }

 private:
  // The trace in another tool's format: the JSON document is written to the
  // scratch file first and read back as pytrace_view --export reads a
  // trace, so that the tool and the viewer export alike.
  void write_other_format(TraceModel& model, OutputFile& output) {
    FdBuffer buffer(scratch_->fd());
    std::ostream json(&buffer);
    status_.show(spec_.tool + ": writing the trace for " + output.path());
    write_json(model, scope_, sources_, json, [](size_t) {});
    json.flush();
    if (buffer.error())
      throw Error("cannot write " + output.path() + ": the trace it is made from could not be written in " +
                  kSpillDirectory + ": " + std::strerror(buffer.error()));
    viewer::TraceDocument doc = viewer::TraceDocument::load(scratch_->path(), false, {}, kSpillDirectory);
    viewer::ExportFormat format = *viewer::parse_export_format(spec_.export_format);
    status_.show(spec_.tool + ": writing " + output.path() + " (" + spec_.export_format + ")");
    output.commit([&](std::ostream& out) {
      viewer::write_export(doc, format, {}, true, [&](std::string_view piece) {
        out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
      });
    });
    status_.clear();
  }

  // calls logged, records read and their rate, records lost so far.
  void show_progress() {
    TraceBuilder::Progress now = builder_->progress();
    double seconds = status_.elapsed();
    double rate = (now.records - shown_records_) / std::max(1e-3, seconds - shown_seconds_);
    shown_records_ = now.records;
    shown_seconds_ = seconds;
    uint64_t lost = std::max(now.lost, probes_.stats().ringbuf_drops);
    status_.show(spec_.tool + ": " + digits(now.calls) + " calls logged, " + digits(now.records) +
                 " records (" + digits(static_cast<uint64_t>(rate)) + "/s), " + digits(lost) + " lost");
  }

  // The traced processes other than the first that have not ended; one
  // whose end record was lost is found gone here.
  std::vector<uint32_t> still_running() {
    std::vector<uint32_t> running;
    for (uint32_t pid : builder_->running_processes()) {
      if (pid == info_.pid || (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH))
        builder_->mark_ended(pid);
      else
        running.push_back(pid);
    }
    return running;
  }

  // Processes the program started that outlive the tracing: their later
  // calls are not in the trace, and the trace says so (running_at_end).
  void report_still_running() {
    std::vector<uint32_t> running = still_running();
    if (running.empty()) return;
    std::string pids;
    for (size_t i = 0; i < running.size() && i < 10; ++i)
      pids += (i ? ", " : "") + std::to_string(running[i]);
    if (running.size() > 10) pids += ", ...";
    std::cerr
        << spec_.tool << ": note: " << running.size()
        << (running.size() == 1 ? " process the program started was" : " processes the program started were")
        << " still running when tracing ended (" << pids
        << "); what they did after that is not in the trace (--wait-for-children traces until they end)\n";
  }

  // Threads that ended sent their names; those still running are named
  // by the kernel's record of them.
  void name_live_threads() {
    for (const auto& [tid, pid] : builder_->live_threads()) {
      std::ifstream comm("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/comm");
      std::string name;
      if (comm && std::getline(comm, name)) builder_->set_thread_name(tid, name);
    }
  }

  // trace_where: the stack, reported on stdout and written to the output;
  // nothing is written when the breakpoint was not reached often enough.
  void write_breakpoint_stack(const TraceModel& model, std::optional<OutputFile>& output) {
    const LineWatch::Breakpoint& where = *spec_.breakpoint;
    BreakpointSpec breakpoint{where.file, where.line, where.iterations};
    std::string place = where.file + ":" + std::to_string(where.line);
    if (!model.breakpoint_hit) {
      std::cerr << spec_.tool << ": the breakpoint " << place << " ran " << model.breakpoint_hits
                << (model.breakpoint_hits == 1 ? " time" : " times") << ", not " << where.iterations
                << ": no stack to save, nothing written\n";
      return;
    }
    // The report on stdout, unless the document goes there.
    std::ostream& report = output && output->is_stdout() ? std::cerr : std::cout;
    std::cout.flush();
    write_where_report(model, breakpoint, scope_, sources_, report);
    report.flush();
    if (!output) return;
    output->commit([&](std::ostream& out) { write_where_json(model, breakpoint, scope_, sources_, out); });
    if (!output->is_stdout()) std::cerr << spec_.tool << ": stack written to " << output->path() << "\n";
  }

  const SessionSpec& spec_;
  Scope scope_;
  SourceCache sources_;
  std::unique_ptr<TraceBuilder> builder_;
  StatusLine status_;
  uint64_t shown_records_ = 0;
  double shown_seconds_ = 0;  // created by start(), when the time origin is known
  Probes probes_;
  std::string probe_file_;  // the file the probes are in for every process, or ""
  SessionInfo info_;
  std::optional<LineScript> line_script_;
  std::optional<ScratchDocument> scratch_;  // with --format for other tools
  uint64_t origin_ns_ = 0;
};

std::string signal_name(int sig) {
  const char* abbrev = sig > 0 ? sigabbrev_np(sig) : nullptr;
  return abbrev ? std::string("SIG") + abbrev : "";
}

// The program in `pid`'s script, as its command line names it, or "".
std::string script_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i].empty() || args[i][0] == '-') {
      if (args[i] == "-m" || args[i] == "-c") return "";
      continue;
    }
    fs::path script = fs::path(args[i]).is_absolute() ? fs::path(args[i]) : cwd / args[i];
    return fs::is_regular_file(script, ec) ? script.lexically_normal().string() : "";
  }
  return "";
}

// Throws unless the user (acting as them: see ActingAs) may read process
// `pid`'s memory, as a debugger of theirs could: their own process, not
// one that dropped privileges, nor another user's.
void require_may_read(pid_t pid, const std::optional<RunAs>& user) {
  if (!user) return;
  int fd = open(("/proc/" + std::to_string(pid) + "/environ").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    return;
  }
  if (errno == EACCES || errno == EPERM)
    throw Error("pid " + std::to_string(pid) + " is not yours to trace: uid " + std::to_string(user->uid) +
                " may not read its memory (another user's process, or one that changed its identity)");
}

void require_module(const Interpreter& python, const std::string& module, std::optional<RunAs> user,
                    const std::vector<std::string>& env) {
  try {
    // Found, not imported: importing pytest takes longer than finding it.
    run_and_capture(
        {python.executable, "-c",
         "import importlib.util, sys; sys.exit(importlib.util.find_spec('" + module + "') is None)"},
        std::chrono::seconds(60), user, &env);
  } catch (const Error&) {
    throw Error(module + " is not importable by " + python.executable +
                ". Install it for that interpreter (`" + python.executable + " -m pip install " + module +
                "`; a virtualenv made with --system-site-packages also sees the one its base interpreter "
                "has), or pass --python with one that has it");
  }
}

}  // namespace

void apply_options(SessionSpec& spec, const ProgramOptions& options, const char* tool, int argc,
                   char** argv) {
  spec.tool = tool;
  spec.original_command = tool;
  for (int i = 1; i < argc; ++i) spec.original_command += std::string(" ") + argv[i];
  {
    ActingAs as_user(invoking_user());  // the user's view: no telling what exists where they cannot look
    std::error_code ec;
    for (const auto& scope : options.scopes) {
      if (!std::filesystem::is_directory(scope, ec)) throw Error("scope directory does not exist: " + scope);
      spec.scopes.push_back(std::filesystem::absolute(scope).lexically_normal().string());
    }
  }
  spec.output = options.output;
  spec.external_calls = options.external_calls;
  spec.imports = options.imports;
  spec.show_dunders = options.show_dunders;
  spec.arg_values = options.arg_values;
  spec.kernel_filter = options.kernel_filter;
  spec.track_executed_lines = options.track_executed_lines;
  spec.patterns = options.patterns;
  spec.text_format = options.text_format;
  spec.export_format = options.export_format;
  spec.color = options.color;
  spec.verbose = options.verbose;
  spec.ring_buffer_mb = options.ring_buffer_mb;
}

void apply_program(LaunchSpec& spec, const ProgramOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string cwd = fs::current_path(ec).string();
  if (options.module) {
    // As python -m: the module is found from the current directory.
    spec.module = *options.module;
    spec.python_args = {"-m", *options.module};
    spec.description = "-m " + *options.module;
    if (spec.scopes.empty()) spec.scopes.push_back(cwd);
    spec.project_dirs = {cwd};
  } else {
    fs::path script = fs::absolute(options.script).lexically_normal();
    {
      ActingAs as_user(invoking_user());  // as the program will: the user's view of the file
      if (!fs::exists(script, ec)) throw Error("script not found: " + options.script);
      if (!fs::is_regular_file(script, ec)) throw Error("not a regular file: " + options.script);
      if (faccessat(AT_FDCWD, script.c_str(), R_OK, AT_EACCESS) != 0)
        throw Error("cannot read script " + options.script + ": " + std::strerror(errno));
    }
    spec.python_args = {script.string()};
    spec.main_file = script.string();
    spec.description = script.string();
    if (spec.scopes.empty()) spec.scopes.push_back(script.parent_path().string());
    spec.project_dirs = {script.parent_path().string(), cwd};
  }
  spec.python_args.insert(spec.python_args.end(), options.script_args.begin(), options.script_args.end());
}

// 1st, 2nd, 3rd, 4th, 11th, 21st...
std::string ordinal(uint64_t n) {
  const char* suffix = n % 100 / 10 == 1 ? "th"
                       : n % 10 == 1     ? "st"
                       : n % 10 == 2     ? "nd"
                       : n % 10 == 3     ? "rd"
                                         : "th";
  return std::to_string(n) + suffix;
}

void apply_breakpoint(SessionSpec& spec, const ProgramOptions& options) {
  namespace fs = std::filesystem;
  ActingAs as_user(invoking_user());  // the user's view of the file
  std::error_code ec;
  fs::path file = fs::absolute(*options.where_file).lexically_normal();
  if (!fs::is_regular_file(file, ec)) throw Error("breakpoint file not found: " + *options.where_file);
  spec.breakpoint =
      LineWatch::Breakpoint{file.string(), *options.where_line, *options.iterations, !options.keep_running};
  spec.track_executed_lines = options.track_executed_lines;
  spec.patterns = false;
  std::cerr << spec.tool << ": breakpoint " << file.string() << ":" << *options.where_line
            << ": its stack is taken the " << ordinal(*options.iterations) << " time it runs; "
            << (options.pid            ? "the process runs on (attached)"
                : options.keep_running ? "the program goes on after it (--continue)"
                                       : "the program ends there")
            << "\n";
}

int run_tool(const char* tool, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::cerr << tool << ": error: " << e.what() << "\n";
    if (e.about_usage()) std::cerr << "(see " << tool << " --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << tool << ": " << e.what() << "\n";
    return 1;
  }
}

// Says when executed lines (or a breakpoint) were asked for and not (all)
// watched, also in the document (executed_lines_problem).
void report_executed_lines(const SessionSpec& spec, TraceModel& model, std::string problem) {
  const std::string& tool = spec.tool;
  if (problem.empty() && model.line_tool_ids_taken)
    problem = "the program took sys.monitoring's tool ids 3, 4 and 5 first, and the line callback needs one";
  else if (problem.empty() && !model.line_script_ran)
    problem = "the program never ran the tool's line script";
  if (problem.empty() && model.line_tracking_ended)
    problem =
        "they stopped being tracked before the program ended: it closed the descriptor the tool's "
        "line script reads";
  if (!problem.empty()) {
    std::cerr << tool << ": warning: "
              << (spec.breakpoint ? "the breakpoint is not watched" : "executed lines are not tracked")
              << ": " << problem << "\n";
  }
  model.session.executed_lines_problem = problem;
  if (model.processes.size() > 1 && spec.track_executed_lines) {
    std::cerr
        << tool << ": note: the processes the program started have executed lines only where they are "
        << "forked copies of it: a new interpreter (subprocess, multiprocessing's spawn) has calls only\n";
  }
}

int run_launch_session(const LaunchSpec& spec) {
  std::optional<RunAs> user = invoking_user();
  require_bpf_privileges(spec.tool);
  std::optional<OutputFile> output;
  if (spec.output) output.emplace(*spec.output, user);
  Probes::set_verbose(spec.verbose);
  KernelFeatures kernel = check_kernel(spec.tool);
  PythonChoice choice = choose_python(spec.python, spec.project_dirs, user);
  for (const std::string& note : choice.passed_over) std::cerr << spec.tool << ": warning: " << note << "\n";
  Interpreter python = inspect_interpreter(choice.path, user);
  // The program's own environment: its module search sees what it will see.
  std::vector<std::string> env = child_environment(user, spec.extra_env);
  if (!spec.required_module.empty()) require_module(python, spec.required_module, user, env);
  std::string main_file =
      spec.module.empty() ? spec.main_file : module_main_file(python, spec.module, user, env);
  Recorder recorder(spec, kernel, python, spec.scopes, main_file, -1);

  std::vector<std::string> argv{python.executable};
  argv.insert(argv.end(), spec.python_args.begin(), spec.python_args.end());
  std::vector<int> inherited_fds = spec.inherited_fds;
  if (const LineScript* lines = recorder.line_script()) inherited_fds.push_back(lines->lifeline_fd());
  // A held program must get the probes' SIGURG, whatever mask it inherits.
  GatedChild child(argv, env, user, inherited_fds,
                   recorder.line_script() ? std::vector<int>{SIGURG} : std::vector<int>{});
  g_child_pid = child.pid();
  install_signal_handlers();

  std::string scopes;
  for (const std::string& scope : recorder.info().scope_paths) scopes += (scopes.empty() ? "" : ", ") + scope;
  std::cerr << spec.tool << ": tracing " << spec.description << " with Python " << python.version << " from "
            << choice.path << " (" << choice.why << "; scope " << scopes << ")\n";
  recorder.start(child.pid());
  std::optional<LaunchHold> hold;
  if (recorder.line_script()) hold.emplace(child.pid(), recorder.probes());
  // Root's work is done: from here on the tool reads the program's source
  // files and writes the trace with the user's identity, and the program
  // (running as the user) cannot signal it.
  ActingAs as_user(user);
  child.release();
  if (recorder.line_script()) recorder.line_script()->close_lifeline_read_end();
  std::string lines_problem;  // why executed lines are not tracked
  for (; hold; recorder.poll(child.exit_fd(), kHoldPollMs)) {
    if (hold->try_request(python.offsets.remote_exec, recorder.line_script()->starter_path(), lines_problem))
      hold.reset();
  }
  while (!child.poll_exit()) recorder.poll(child.exit_fd());
  int exit_code = *child.poll_exit();
  g_child_pid = 0;
  if (spec.wait_for_children) recorder.wait_for_children();

  SessionInfo& info = recorder.info();
  info.exit_code = exit_code;
  info.signal = signal_name(child.term_signal());
  info.interrupted = g_interrupted != 0;
  std::unique_ptr<TraceModel> model = recorder.stop();
  if (model->stack_stats.records == 0) {
    throw Error("no probe of " + python.probe_elf.path +
                " fired while the program ran, so nothing was traced. Its probes do not work "
                "on this system (is the JIT forced on, or are uprobes disabled?)");
  }
  if (recorder.line_script()) report_executed_lines(spec, *model, lines_problem);
  if (spec.complete_model) spec.complete_model(*model, recorder.origin_ns());
  recorder.write(std::move(model), output);
  std::cerr << spec.tool << ": the program exited with " << exit_code
            << (info.signal.empty() ? "" : " (" + info.signal + ")") << "\n";
  return exit_code;
}

std::string live_probe_check(const std::string& tool, const Interpreter& python,
                             const KernelFeatures& kernel) {
  // Known calls under a made-up file name, so that the scope holds them and
  // nothing else: the module body, then middle() calling leaf(), 3 times.
  constexpr const char* kProgram =
      "exec(compile('def leaf(n):\\n    return n + 1\\n\\ndef middle(n):\\n    return leaf(n) * 2\\n\\n"
      "for i in range(3):\\n    middle(i)\\n', '/pytrace-check/check.py', 'exec'), {'__name__': 'check'})";
  const std::vector<std::string> expected{"<module>", "  middle", "    leaf", "  middle",
                                          "    leaf", "  middle", "    leaf"};
  std::optional<RunAs> user = invoking_user();
  SessionSpec spec;
  spec.tool = tool;
  spec.ring_buffer_mb = 1;
  spec.patterns = false;
  Recorder recorder(spec, kernel, python, {"/pytrace-check"}, "", -1);
  GatedChild child({python.executable, "-I", "-S", "-c", kProgram}, child_environment(user, {}), user, {});
  recorder.start(child.pid());
  ActingAs as_user(user);  // as in run_launch_session
  child.release();
  // It makes 7 calls: an interpreter that takes long to is not one to use.
  const uint64_t deadline = monotonic_ns() + 30'000'000'000ull;
  while (!child.poll_exit() && monotonic_ns() < deadline) recorder.poll(child.exit_fd());
  if (!child.poll_exit()) child.kill_now();
  std::unique_ptr<TraceModel> model = recorder.stop();
  if (int code = child.wait(); code != 0)
    return "the check program failed (exit " + std::to_string(code) +
           (code == 137 ? ", killed after 30 s" : "") + ")";
  if (model->stack_stats.records == 0)
    return "no probe fired (is the JIT forced on with PYTHON_JIT=1 in its build, or are uprobes disabled?)";
  std::vector<std::string> seen;
  for (const ThreadTrace& thread : model->threads) {
    for (const TraceEntry& entry : thread.entries)
      seen.push_back(std::string(2 * entry.depth, ' ') + entry.code->name);
  }
  if (seen != expected) {
    std::string got;
    for (const auto& line : seen) got += (got.empty() ? "" : ", ") + line;
    return "the probes fired, but the calls came out wrong: [" + got + "]";
  }
  return "";
}

int run_attach_session(const AttachSpec& spec) {
  std::optional<RunAs> user = invoking_user();
  require_bpf_privileges(spec.tool);
  std::optional<OutputFile> output;
  if (spec.output) output.emplace(*spec.output, user);
  Probes::set_verbose(spec.verbose);
  KernelFeatures kernel = check_kernel(spec.tool);
  // The process is looked at as the user, who must be allowed to: tracing
  // reads its memory and writes it into the user's file.
  Interpreter python;
  std::string main_file;
  std::vector<std::string> scopes = spec.scopes;
  // Executed lines and breakpoints write a request into the process: through
  // its memory file, opened as the user, as their own debugger could.
  int memory = -1;
  {
    ActingAs as_user(user);
    require_may_read(spec.pid, user);
    if (spec.track_executed_lines || spec.breakpoint) {
      memory = open(("/proc/" + std::to_string(spec.pid) + "/mem").c_str(), O_RDWR | O_CLOEXEC);
      if (memory < 0)
        throw Error("pid " + std::to_string(spec.pid) + " may not be written to as its debugger would (" +
                    std::strerror(errno) + "): executed lines and breakpoints need that");
    }
    python = inspect_running_interpreter(spec.pid);
    main_file = script_of(spec.pid);
    if (scopes.empty()) {
      std::error_code ec;
      std::string scope =
          main_file.empty()
              ? std::filesystem::read_symlink("/proc/" + std::to_string(spec.pid) + "/cwd", ec).string()
              : std::filesystem::path(main_file).parent_path().string();
      if (scope.empty())
        throw Error("cannot tell pid " + std::to_string(spec.pid) + "'s directory: use --scope");
      scopes.push_back(scope);
    }
  }
  // From the attach on, Ctrl-C must end the session, not the tool.
  install_signal_handlers();
  Recorder recorder(spec, kernel, python, scopes, main_file, spec.pid);
  int target_exit = static_cast<int>(syscall(SYS_pidfd_open, spec.pid, 0));
  if (target_exit < 0)
    throw Error("cannot watch pid " + std::to_string(spec.pid) + ": " + std::strerror(errno));
  recorder.start(spec.pid);
  // Executed lines or a breakpoint: the request goes to the first thread the
  // probes see make a call, through that thread's state.
  bool request_pending = recorder.line_script() != nullptr;
  if (request_pending) recorder.probes().hold_at_first_call(spec.pid, /*stop=*/false);
  std::string lines_problem;
  ActingAs as_user(user);  // root's work is done, as in run_launch_session
  uint64_t requested = 0;  // the thread state the request was left in

  std::cerr << spec.tool << ": attached to pid " << spec.pid << " (Python " << python.version << ", scope "
            << recorder.info().scope_path << "); "
            << (spec.duration_s
                    ? "tracing for " + format_duration(static_cast<uint64_t>(*spec.duration_s * 1e9)) +
                          " or until Ctrl-C"
                    : std::string("tracing until Ctrl-C or until it exits"))
            << (spec.breakpoint ? ", or until the breakpoint's stack is taken" : "") << "\n";
  uint64_t deadline = spec.duration_s ? monotonic_ns() + static_cast<uint64_t>(*spec.duration_s * 1e9) : 0;
  std::string end_reason;
  while (end_reason.empty()) {
    recorder.poll(target_exit);
    if (uint64_t tstate = request_pending ? recorder.probes().held_thread_state(spec.pid) : 0) {
      lines_problem =
          request_script(memory, tstate, python.offsets.remote_exec, recorder.line_script()->starter_path());
      if (lines_problem.empty()) requested = tstate;
      recorder.probes().end_hold(spec.pid);
      request_pending = false;
    }
    pollfd exited{target_exit, POLLIN, 0};
    if (poll(&exited, 1, 0) > 0)
      end_reason = "exited";
    else if (g_interrupted)
      end_reason = "interrupted";
    else if (g_stop_requested)
      end_reason = "stopped";
    else if (deadline && monotonic_ns() >= deadline)
      end_reason = "duration";
    else if (recorder.breakpoint_taken())
      end_reason = "breakpoint";
  }
  close(target_exit);

  SessionInfo& info = recorder.info();
  info.attached = true;
  info.end_reason = end_reason;
  info.interrupted = end_reason == "interrupted";
  if (request_pending) {
    recorder.probes().end_hold(spec.pid);
    lines_problem = "the process made no Python call while traced";
  }
  std::unique_ptr<TraceModel> model = recorder.stop();
  if (requested && !model->line_script_ran) {
    // The thread never came back to Python: the request would run after the tool is gone.
    cancel_request(memory, requested, python.offsets.remote_exec, recorder.line_script()->starter_path());
    lines_problem = "the thread it was left with made no Python call while traced";
  }
  if (memory >= 0) close(memory);
  if (recorder.line_script()) report_executed_lines(spec, *model, lines_problem);
  recorder.write(std::move(model), output);
  std::cerr << spec.tool << ": "
            << (end_reason == "exited" ? "pid " + std::to_string(spec.pid) + " exited"
                                       : "detached from pid " + std::to_string(spec.pid) + ", which runs on")
            << "\n";
  return 0;
}

}  // namespace pytrace
