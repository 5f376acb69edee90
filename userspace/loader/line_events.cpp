// SPDX-License-Identifier: MIT
#include "loader/line_events.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include "core/call_filter.h"
#include "core/error.h"

namespace pytrace {
namespace {

// A bytes literal: the roots are paths, whatever their encoding.
std::string python_bytes(const std::string& text) {
  std::string out = "b\"";
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", c);
      out += escaped;
    }
  }
  return out + "\"";
}

// The thread state's fields, read and written through ptrace while the
// program is stopped (this process is its tracer: no other permission is
// needed, whatever identity the tool has taken on since).
std::optional<uint64_t> peek(pid_t pid, uint64_t address) {
  errno = 0;
  long word = ptrace(PTRACE_PEEKDATA, pid, address, nullptr);
  if (errno) return std::nullopt;
  return static_cast<uint64_t>(word);
}

bool poke(pid_t pid, uint64_t address, uint64_t word) {
  return ptrace(PTRACE_POKEDATA, pid, address, word) == 0;
}

// Writes `bytes` at `address`, keeping what shares its first and last words.
bool write_bytes(pid_t pid, uint64_t address, const std::string& bytes) {
  for (size_t done = 0; done < bytes.size();) {
    uint64_t word_address = (address + done) & ~uint64_t{7};
    size_t offset = address + done - word_address;
    std::optional<uint64_t> word = peek(pid, word_address);
    if (!word) return false;
    size_t n = std::min(sizeof(uint64_t) - offset, bytes.size() - done);
    std::memcpy(reinterpret_cast<char*>(&*word) + offset, bytes.data() + done, n);
    if (!poke(pid, word_address, *word)) return false;
    done += n;
  }
  return true;
}

// PEP 768's request (Python/remote_debug.h): the script's path, the
// pending flag, then the eval breaker's "please stop" bit, which makes the
// thread run the script at its next check (the next call or loop jump).
std::string leave_request(pid_t pid, uint64_t tstate, const RemoteExecOffsets& o, const std::string& script) {
  constexpr uint64_t kPleaseStopBit = 1u << 5;  // _PY_EVAL_PLEASE_STOP_BIT
  if (!o.script_path_size) return "the interpreter has no remote-execution interface (PEP 768)";
  if (script.size() >= o.script_path_size) return "the script's path is too long: " + script;
  std::optional<uint64_t> interp = peek(pid, tstate + o.tstate_interp);
  std::optional<uint64_t> enabled = interp ? peek(pid, *interp + o.interp_remote_debug) : std::nullopt;
  if (!enabled) return "cannot read the program's interpreter state: " + std::string(std::strerror(errno));
  if (static_cast<int32_t>(*enabled) != 1) {
    return "the program runs with remote debugging disabled (PYTHON_DISABLE_REMOTE_DEBUG or "
           "-X disable_remote_debug), which executed lines need";
  }
  int32_t pending = 1;
  std::optional<uint64_t> breaker = peek(pid, tstate + o.eval_breaker);
  if (!write_bytes(pid, tstate + o.support + o.script_path, script + '\0') ||
      !write_bytes(pid, tstate + o.support + o.pending_call,
                   std::string(reinterpret_cast<char*>(&pending), 4)) ||
      !breaker || !poke(pid, tstate + o.eval_breaker, *breaker | kPleaseStopBit)) {
    return "cannot write the request into the program: " + std::string(std::strerror(errno));
  }
  return "";
}

}  // namespace

// Two sys.monitoring tools: LINE events under the roots (the rest disabled
// where they first run), and PY_START/PY_RESUME on the code under the roots,
// with a callback in C that makes no call the probes see. The second is
// there for what it changes: with a frame's start instrumented, the
// interpreter reports its first line even when that line is the one the
// frame starts on (a class body, a lambda, a generator expression), as
// sys.settrace, the original tool's source, does. The first tool's own
// PY_START callback turns the second on for each code object, before its
// first line, then disables itself there.
std::string line_script_text(const std::vector<std::string>& roots, int lifeline_fd) {
  std::string literals;
  for (const std::string& root : roots) {
    std::string dir = root.ends_with('/') ? root : root + "/";
    literals += python_bytes(dir) + ", ";
  }
  std::string callback(kLineCallbackName);
  std::string no_tool_id(kNoLineToolIdName);
  return "# pytrace's executed-lines script (docs/probes.md, \"Executed lines\"). The\n"
         "# interpreter runs it at pytrace's request; pytrace's probes see every call\n"
         "# of " +
         callback +
         ", made by the frame whose line runs.\n"
         "import _operator\n"
         "import _thread\n"
         "import os\n"
         "import sys\n"
         "\n"
         "def __pytrace_install(monitoring, lifeline):\n"
         "    roots = tuple(root.decode(\"utf-8\", \"surrogateescape\") for root in (" +
         literals +
         "))\n"
         "    events = monitoring.events\n"
         "    DISABLE = monitoring.DISABLE\n"
         "    free = [tool for tool in (4, 3, 5) if monitoring.get_tool(tool) is None]\n"
         "    if len(free) < 2:\n"
         "        " +
         no_tool_id +
         "()\n"
         "        return\n"
         "    lines, starts = free[:2]\n"
         "\n"
         "    def " +
         callback +
         "(code, line):\n"
         "        if not code.co_filename.startswith(roots):\n"
         "            return DISABLE\n"
         "\n"
         "    def __pytrace_start__(code, offset):\n"
         "        if code.co_filename.startswith(roots):\n"
         "            monitoring.set_local_events(starts, code, events.PY_START | events.PY_RESUME)\n"
         "        return DISABLE\n"
         "\n"
         "    def __pytrace_wait_for_the_end():\n"
         "        try:\n"
         "            while os.read(lifeline, 1):\n"
         "                pass\n"
         "        except OSError:\n"
         "            pass\n"
         "        monitoring.free_tool_id(lines)\n"
         "        monitoring.free_tool_id(starts)\n"
         "        " +
         std::string(kLinesEndedName) +
         "()\n"
         "\n"
         "    os.set_inheritable(lifeline, False)\n"
         "    monitoring.use_tool_id(lines, \"pytrace\")\n"
         "    monitoring.use_tool_id(starts, \"pytrace\")\n"
         "    monitoring.register_callback(starts, events.PY_START, _operator.is_)\n"
         "    monitoring.register_callback(starts, events.PY_RESUME, _operator.is_)\n"
         "    monitoring.register_callback(lines, events.PY_START, __pytrace_start__)\n"
         "    monitoring.register_callback(lines, events.LINE, " +
         callback +
         ")\n"
         "    monitoring.set_events(lines, events.PY_START | events.LINE)\n"
         "    _thread.start_new_thread(__pytrace_wait_for_the_end, ())\n"
         "    # A forked child has the callbacks and the pipe, but no thread.\n"
         "    os.register_at_fork(after_in_child=lambda: "
         "_thread.start_new_thread(__pytrace_wait_for_the_end, ()))\n"
         "\n"
         "def " +
         no_tool_id +
         "():\n"
         "    pass\n"
         "\n"
         "def " +
         std::string(kLinesEndedName) +
         "():\n"
         "    pass\n"
         "\n"
         "__pytrace_install(sys.monitoring, " +
         std::to_string(lifeline_fd) + ")\n";
}

std::string line_starter_text(const std::string& path) {
  std::string literal = python_bytes(path);
  // _io, not open(): the builtin is set late in the interpreter's start.
  return "exec(compile(__import__(\"_io\").open(" + literal + ", \"rb\").read(), " + literal +
         ", \"exec\"), {})\n";
}

namespace {

bool write_new_file(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  bool written = fd >= 0 && write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (fd >= 0) close(fd);
  return written;
}

}  // namespace

LineScript::LineScript(const std::vector<std::string>& roots) {
  std::string pattern = (std::filesystem::temp_directory_path() / "pytrace-lines-XXXXXX").string();
  if (!mkdtemp(pattern.data()))
    throw Error("cannot make a directory for the executed-lines script: " +
                std::string(std::strerror(errno)));
  dir_ = pattern;
  path_ = dir_ + "/lines.py";
  starter_path_ = dir_ + "/start.py";
  if (pipe2(lifeline_, O_CLOEXEC) != 0) {
    int error = errno;
    remove_files();
    throw Error("cannot make the executed-lines script's pipe: " + std::string(std::strerror(error)));
  }
  if (!write_new_file(path_, line_script_text(roots, lifeline_[0])) ||
      !write_new_file(starter_path_, line_starter_text(path_)) || chmod(dir_.c_str(), 0755) != 0) {
    int error = errno;
    remove_files();
    throw Error("cannot write the executed-lines script " + path_ + ": " + std::strerror(error));
  }
}

LineScript::~LineScript() {
  remove_files();
  close_lifeline_read_end();
  if (lifeline_[1] >= 0) close(lifeline_[1]);
}

void LineScript::close_lifeline_read_end() {
  if (lifeline_[0] >= 0) close(lifeline_[0]);
  lifeline_[0] = -1;
}

void LineScript::remove_files() {
  unlink(path_.c_str());
  unlink(starter_path_.c_str());
  rmdir(dir_.c_str());
}

LaunchHold::LaunchHold(pid_t pid, Probes& probes) : pid_(pid), probes_(probes) {
  if (ptrace(PTRACE_SEIZE, pid_, nullptr, nullptr) != 0)
    throw Error("cannot hold the program at its start (ptrace): " + std::string(std::strerror(errno)));
  attached_ = true;
  probes_.hold_at_first_call(pid_);
}

LaunchHold::~LaunchHold() {
  if (!attached_) return;
  // Running or stopped, the program is let go and goes on; an exit stays
  // for whoever waits for the program.
  ptrace(PTRACE_INTERRUPT, pid_, nullptr, nullptr);
  siginfo_t info{};
  while (attached_ &&
         waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WSTOPPED | WNOWAIT | __WALL) == 0) {
    int status = 0;
    if (info.si_code != CLD_TRAPPED && info.si_code != CLD_STOPPED) break;
    if (waitpid(pid_, &status, WNOHANG | __WALL) != pid_ || !WIFSTOPPED(status)) continue;
    bool signal_stop = (status >> 16) == 0 && WSTOPSIG(status) != SIGURG;
    let_go(signal_stop ? WSTOPSIG(status) : 0);
  }
  probes_.end_hold(pid_);
}

void LaunchHold::let_go(int signal) {
  ptrace(PTRACE_DETACH, pid_, nullptr, signal);
  attached_ = false;
}

bool LaunchHold::try_request(const RemoteExecOffsets& offsets, const std::string& script,
                             std::string& problem) {
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WSTOPPED | WNOHANG | WNOWAIT | __WALL) != 0 ||
      info.si_pid == 0)
    return false;  // running
  if (info.si_code == CLD_EXITED || info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED) {
    attached_ = false;  // a dead process has no tracer
    probes_.end_hold(pid_);
    problem = "the program ended before its first Python call";
    return true;
  }
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG | __WALL) != pid_ || !WIFSTOPPED(status)) return false;
  int signal = WSTOPSIG(status);
  if ((status >> 16) == PTRACE_EVENT_STOP) {
    // Stopped by someone (SIGSTOP, SIGTSTP...): it stays stopped, untraced.
    let_go(0);
    probes_.end_hold(pid_);
    problem = "the program was stopped before its first Python call";
    return true;
  }
  uint64_t tstate = probes_.held_thread_state(pid_);
  if (signal != SIGURG || !tstate) {
    ptrace(PTRACE_CONT, pid_, nullptr, signal);  // someone else's signal: delivered
    return false;
  }
  problem = leave_request(pid_, tstate, offsets, script);
  let_go(0);  // the SIGURG was the probes': taken away
  probes_.end_hold(pid_);
  return true;
}

}  // namespace pytrace
