// SPDX-License-Identifier: MIT
#include "loader/line_events.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

#include "core/call_filter.h"
#include "core/error.h"

namespace pytrace {
namespace {

// A bytes literal: the roots are paths, whatever their encoding.
std::string python_bytes(const std::string& text) {
  std::string out = "b\"";
  for (unsigned char c : text) {
    // '@' too: the template's placeholders must not appear in what fills it.
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '@') {
      out += static_cast<char>(c);
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", c);
      out += escaped;
    }
  }
  return out + "\"";
}

// The program's memory, a word at a time: through ptrace while it is held
// (this process is its tracer: no other permission is needed, whatever
// identity the tool has taken on since), or through its /proc/PID/mem, opened
// with the user's identity when the tool attached (what the user's own
// debugger could do, Yama's restrictions included, and bound to that very
// process image).
class ProcessMemory {
 public:
  static ProcessMemory traced(pid_t pid) { return ProcessMemory(pid, -1); }
  static ProcessMemory file(int mem_fd) { return ProcessMemory(-1, mem_fd); }

  std::optional<uint64_t> read(uint64_t address) const {
    uint64_t word = 0;
    if (pid_ >= 0) {
      errno = 0;
      word = static_cast<uint64_t>(ptrace(PTRACE_PEEKDATA, pid_, address, nullptr));
      if (errno) return std::nullopt;
      return word;
    }
    if (pread(mem_fd_, &word, sizeof(word), static_cast<off_t>(address)) != sizeof(word)) return std::nullopt;
    return word;
  }

  bool write(uint64_t address, uint64_t word) const {
    if (pid_ >= 0) return ptrace(PTRACE_POKEDATA, pid_, address, word) == 0;
    return pwrite(mem_fd_, &word, sizeof(word), static_cast<off_t>(address)) == sizeof(word);
  }

  // Writes `bytes` at `address`, keeping what shares its first and last words.
  bool write_bytes(uint64_t address, const std::string& bytes) const {
    for (size_t done = 0; done < bytes.size();) {
      uint64_t word_address = (address + done) & ~uint64_t{7};
      size_t offset = address + done - word_address;
      std::optional<uint64_t> word = read(word_address);
      if (!word) return false;
      size_t n = std::min(sizeof(uint64_t) - offset, bytes.size() - done);
      std::memcpy(reinterpret_cast<char*>(&*word) + offset, bytes.data() + done, n);
      if (!write(word_address, *word)) return false;
      done += n;
    }
    return true;
  }

 private:
  ProcessMemory(pid_t pid, int mem_fd) : pid_(pid), mem_fd_(mem_fd) {}

  pid_t pid_;
  int mem_fd_;
};

// PEP 768's request (Python/remote_debug.h): the script's path, the
// pending flag, then the eval breaker's "please stop" bit, which makes the
// thread run the script at its next check (the next call or loop jump).
std::string leave_request(const ProcessMemory& memory, uint64_t tstate, const RemoteExecOffsets& o,
                          const std::string& script) {
  constexpr uint64_t kPleaseStopBit = 1u << 5;  // _PY_EVAL_PLEASE_STOP_BIT
  if (!o.script_path_size) return "the interpreter has no remote-execution interface (PEP 768)";
  if (script.size() >= o.script_path_size) return "the script's path is too long: " + script;
  std::optional<uint64_t> interp = memory.read(tstate + o.tstate_interp);
  std::optional<uint64_t> enabled = interp ? memory.read(*interp + o.interp_remote_debug) : std::nullopt;
  if (!enabled) return "cannot read the program's interpreter state: " + std::string(std::strerror(errno));
  if (static_cast<int32_t>(*enabled) != 1) {
    return "the program runs with remote debugging disabled (PYTHON_DISABLE_REMOTE_DEBUG or "
           "-X disable_remote_debug), which executed lines need";
  }
  std::optional<uint64_t> pending_word = memory.read(tstate + o.support + o.pending_call);
  if (!pending_word) return "cannot read the program's thread state: " + std::string(std::strerror(errno));
  if (static_cast<int32_t>(*pending_word) != 0)
    return "another request to run a script is waiting in the program (a debugger, or another pytrace)";
  int32_t pending = 1;
  std::optional<uint64_t> breaker = memory.read(tstate + o.eval_breaker);
  if (!memory.write_bytes(tstate + o.support + o.script_path, script + '\0') ||
      !memory.write_bytes(tstate + o.support + o.pending_call,
                          std::string(reinterpret_cast<char*>(&pending), 4)) ||
      !breaker || !memory.write(tstate + o.eval_breaker, *breaker | kPleaseStopBit)) {
    return "cannot write the request into the program: " + std::string(std::strerror(errno));
  }
  return "";
}

// The script. One sys.monitoring tool: LINE events under the roots, and
// frame starts and resumes there too, for what watching them changes: the
// interpreter then reports a frame's first line even when the frame starts
// on it (a class body, a lambda, a generator expression), as sys.settrace,
// the original tool's source, does. Everything outside the roots is
// disabled where it first runs. Every 1000 callbacks it reads the pipe the
// tool holds the write end of: end-of-file, the tool is gone (even killed),
// and the callbacks go too, so the program is not left slower.
constexpr std::string_view kScriptTemplate =
    R"py(# pytrace's executed-lines script (docs/probes.md, "Executed lines"). The
# interpreter runs it at pytrace's request; pytrace's probes see every call
# of @CALLBACK@, made by the frame whose line runs.
import itertools
import os
import sys


def __pytrace_install(monitoring, lifeline):
    def text(path):
        return path.decode("utf-8", "surrogateescape")

    def alive(pid, start):
        """Process `pid` runs, and is the one that started at `start`."""
        try:
            fd = os.open("/proc/%s/stat" % pid, os.O_RDONLY)
            try:
                stat = os.read(fd, 4096)
            finally:
                os.close(fd)
            return stat.rsplit(b")", 1)[1].split()[19].decode() == start
        except (OSError, IndexError):
            return False

    # The scope as the tool's (core/scope.h): under a root, not under an
    # excluded directory the root is not inside, no site-packages below it;
    # the innermost root decides.
    excluded = [text(path) for path in (@EXCLUDED@)]
    scopes = sorted(((root, tuple(d + "/" for d in excluded if not (root == d or root.startswith(d + "/"))))
                     for root in (text(root) for root in (@ROOTS@))), key=lambda scope: -len(scope[0]))
    verdicts = {}  # file name -> in the scope

    def in_scope(filename):
        for root, outside in scopes:
            if filename.startswith(root + "/"):
                rest = filename[len(root):]
                return not (filename.startswith(outside) or "/site-packages/" in rest or "/dist-packages/" in rest)
        return False

    # trace_where's breakpoint: its file (as given, and with links resolved),
    # line, which hit, whether the program ends there.
    targets = tuple(text(path) for path in (@TARGETS@))
    home = os.getpid()
    target_line, nth_hit, stop = @TARGET_LINE@, @NTH_HIT@, @STOP@
    hits = itertools.count(1)  # next() is one call: no thread comes between
    events = monitoring.events
    DISABLE = monitoring.DISABLE
    # A tool id of an earlier pytrace session whose tool is gone is free
    # again (its own script frees it, but only at its next check).
    name = "pytrace @TOOL_PID@ @TOOL_START@"
    for tool in (4, 3, 5):
        owner = (monitoring.get_tool(tool) or "").split()
        if len(owner) == 3 and owner[0] == "pytrace" and not alive(owner[1], owner[2]):
            monitoring.free_tool_id(tool)
    tool = next((tool for tool in (4, 3, 5) if monitoring.get_tool(tool) is None), None)
    if tool is None:
        @NO_TOOL_ID@()
        return
    countdown = [1]
    pipe = None
    if lifeline >= 0:
        os.set_blocking(lifeline, False)
        os.set_inheritable(lifeline, False)
        pipe = os.fstat(lifeline)
        pipe = (pipe.st_dev, pipe.st_ino)

    def ours(fd):
        """The descriptor is still the tool's pipe, not a file the program
        opened under the same number after closing it."""
        try:
            now = os.fstat(fd)
        except OSError:
            return False
        return (now.st_dev, now.st_ino) == pipe

    def tool_is_there():
        if lifeline < 0:
            return alive("@TOOL_PID@", "@TOOL_START@")
        if not ours(lifeline):
            return False
        try:
            return os.read(lifeline, 1) != b""
        except BlockingIOError:
            return True  # nothing to read: the tool holds the pipe open
        except OSError:
            return False

    # Every 1000 callbacks: is the tool still there? If not, the callbacks go.
    def check_tool():
        countdown[0] = @CHECK_EVERY@
        if tool_is_there():
            return
        monitoring.free_tool_id(tool)
        if lifeline >= 0 and ours(lifeline):
            os.close(lifeline)
        @LINES_ENDED@()

    def @CALLBACK@(code, line):
        filename = code.co_filename
        if line == target_line and filename in targets:
            # Counted in the process the tool started or attached to only:
            # a forked copy has its callbacks, but is not it.
            if os.getpid() == home and next(hits) == nth_hit:
                if not tool_is_there():  # the program is not ended for a tool that is gone
                    check_tool()
                    return
                @BREAKPOINT@()
                if stop:
                    __pytrace_stop__()
            countdown[0] -= 1
            if not countdown[0]:
                check_tool()
            return
        inside = verdicts.get(filename)
        if inside is None:
            inside = verdicts[filename] = in_scope(filename)
        if not inside:
            return DISABLE
        countdown[0] -= 1
        if not countdown[0]:
            check_tool()

    # LINE events are turned on code object by code object, at a frame's
    # start, for the code in the scope (and the breakpoint's file): code
    # outside it costs one callback per code object, not one per line.
    # Frame starts stay watched where that changes something: the
    # interpreter then reports a frame's first line when the frame starts on
    # it (a class body, a lambda: its first two line-table entries are on one
    # line; a generator expression, whose start has no line), as
    # sys.settrace does.
    def watched(code):
        filename = code.co_filename
        inside = verdicts.get(filename)
        if inside is None:
            inside = verdicts[filename] = in_scope(filename)
        return inside or filename in targets

    def __pytrace_start__(code, offset):
        if not watched(code):
            return DISABLE
        if not monitoring.get_local_events(tool, code):
            monitoring.set_local_events(tool, code, events.LINE)
        lines = [line for _, _, line in itertools.islice(code.co_lines(), 2)]
        if len(lines) == 2 and None not in lines and lines[0] != lines[1]:
            return DISABLE

    def __pytrace_resume__(code, offset):
        if not watched(code):
            return DISABLE

    if not tool_is_there():
        return  # a request the tool left, run after it was gone
    monitoring.use_tool_id(tool, name)
    monitoring.register_callback(tool, events.LINE, @CALLBACK@)
    monitoring.register_callback(tool, events.PY_START, __pytrace_start__)
    monitoring.register_callback(tool, events.PY_RESUME, __pytrace_resume__)
    monitoring.set_events(tool, events.PY_START | events.PY_RESUME)
    # The frames running now started before: their code gets LINE events here.
    for frame in sys._current_frames().values():
        while frame is not None:
            if watched(frame.f_code) and not monitoring.get_local_events(tool, frame.f_code):
                monitoring.set_local_events(tool, frame.f_code, events.LINE)
            frame = frame.f_back


def @NO_TOOL_ID@():
    pass


def @LINES_ENDED@():
    pass


def @BREAKPOINT@():
    pass


def __pytrace_stop__():
    """trace_where ends the program at its breakpoint, its output flushed."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(0)


__pytrace_install(sys.monitoring, @LIFELINE@)
)py";

// This process's start time in clock ticks since boot (/proc/self/stat's
// 22nd field): with the pid, it names this process and no later one.
std::string own_start_time() {
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 1));
  std::string field;
  for (int i = 0; i < 20 && fields >> field; ++i) {
  }
  return field;
}

void replace_all(std::string& text, std::string_view name, std::string_view value) {
  for (size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + value.size()))
    text.replace(at, name.size(), value);
}

// The script's text, with the lifeline's descriptor in the program.
std::string line_script_text(const LineWatch& watch, int lifeline_fd) {
  std::string literals;
  for (const std::string& root : watch.roots)
    literals +=
        python_bytes(root.size() > 1 && root.ends_with('/') ? root.substr(0, root.size() - 1) : root) + ", ";
  const auto& breakpoint = watch.breakpoint;
  std::string text(kScriptTemplate);
  replace_all(text, "@ROOTS@", literals);
  std::string excluded;
  for (const std::string& dir : watch.excluded) excluded += python_bytes(dir) + ", ";
  replace_all(text, "@EXCLUDED@", excluded);
  std::string targets;
  if (breakpoint) {
    targets = python_bytes(breakpoint->file) + ", ";
    char resolved[PATH_MAX];
    if (realpath(breakpoint->file.c_str(), resolved) && breakpoint->file != resolved)
      targets += python_bytes(resolved) + ", ";
  }
  replace_all(text, "@TARGETS@", targets);
  // Attached, the tool's end is seen sooner: the process runs on after it.
  replace_all(text, "@CHECK_EVERY@", watch.attached ? "100" : "1000");
  replace_all(text, "@TARGET_LINE@", std::to_string(breakpoint ? breakpoint->line : 0));
  replace_all(text, "@NTH_HIT@", std::to_string(breakpoint ? breakpoint->iterations : 0));
  replace_all(text, "@STOP@", breakpoint && breakpoint->stop ? "True" : "False");
  replace_all(text, "@BREAKPOINT@", kBreakpointName);
  replace_all(text, "@CALLBACK@", kLineCallbackName);
  replace_all(text, "@NO_TOOL_ID@", kNoLineToolIdName);
  replace_all(text, "@LINES_ENDED@", kLinesEndedName);
  replace_all(text, "@LIFELINE@", std::to_string(watch.attached ? -1 : lifeline_fd));
  replace_all(text, "@TOOL_PID@", std::to_string(getpid()));
  replace_all(text, "@TOOL_START@", own_start_time());
  return text;
}

// Runs the script at `path` under its own name.
std::string line_starter_text(const std::string& path) {
  std::string literal = python_bytes(path);
  // _io, not open(): the builtin is set late in the interpreter's start.
  return "exec(compile(__import__(\"_io\").open(" + literal + ", \"rb\").read(), " + literal +
         ", \"exec\"), {})\n";
}

constexpr char kTmp[] = "/tmp";
constexpr std::string_view kDirPrefix = "pytrace-lines-";  // then the tool's pid, '-' and mkdtemp's letters

bool write_new_file(int dir_fd, const char* name, const std::string& text) {
  int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  bool written = fd >= 0 && write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (fd >= 0) close(fd);
  return written;
}

// Removes a script directory of root's by its parent's descriptor.
void remove_script_dir(int tmp_fd, const std::string& name) {
  int dir_fd = openat(tmp_fd, name.c_str(), O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir_fd < 0) return;
  struct stat st {};
  if (fstat(dir_fd, &st) == 0 && st.st_uid == 0) {
    for (const char* file : {"lines.py", "start.py"}) unlinkat(dir_fd, file, 0);
    unlinkat(tmp_fd, name.c_str(), AT_REMOVEDIR);
  }
  close(dir_fd);
}

// Directories left by a tool that was killed: its pid is gone.
void remove_stale_script_dirs(int tmp_fd) {
  DIR* dir = fdopendir(dup(tmp_fd));
  if (!dir) return;
  std::vector<std::string> stale;
  while (dirent* entry = readdir(dir)) {
    std::string_view name = entry->d_name;
    if (!name.starts_with(kDirPrefix)) continue;
    pid_t pid = static_cast<pid_t>(std::strtol(entry->d_name + kDirPrefix.size(), nullptr, 10));
    if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) stale.emplace_back(name);
  }
  closedir(dir);
  for (const std::string& name : stale) remove_script_dir(tmp_fd, name);
}

}  // namespace

// In /tmp, whatever TMPDIR says (it may be a directory the user can
// write): /tmp is sticky and root's, so no one else can rename or remove
// root's entry in it, and everything after mkdtemp goes by descriptor.
LineScript::LineScript(const LineWatch& watch) {
  tmp_fd_ = open(kTmp, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st {};
  if (tmp_fd_ < 0 || fstat(tmp_fd_, &st) != 0 || st.st_uid != 0 || !(st.st_mode & S_ISVTX)) {
    throw Error(
        "--track-executed-lines needs /tmp to be root's and sticky (mode 1777), to put the tool's "
        "script where the program can read it and nobody can change it");
  }
  remove_stale_script_dirs(tmp_fd_);
  std::string pattern =
      std::string(kTmp) + "/" + std::string(kDirPrefix) + std::to_string(getpid()) + "-XXXXXX";
  if (!mkdtemp(pattern.data()))
    throw Error("cannot make a directory for the executed-lines script: " +
                std::string(std::strerror(errno)));
  dir_name_ = pattern.substr(sizeof(kTmp));
  path_ = pattern + "/lines.py";
  starter_path_ = pattern + "/start.py";
  int dir_fd = openat(tmp_fd_, dir_name_.c_str(), O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  bool made = dir_fd >= 0 && pipe2(lifeline_, O_CLOEXEC) == 0 &&
              write_new_file(dir_fd, "lines.py", line_script_text(watch, lifeline_[0])) &&
              write_new_file(dir_fd, "start.py", line_starter_text(path_)) && fchmod(dir_fd, 0755) == 0;
  int error = errno;
  if (dir_fd >= 0) close(dir_fd);
  if (!made) {
    remove_script_dir(tmp_fd_, dir_name_);
    close(tmp_fd_);
    for (int fd : lifeline_)
      if (fd >= 0) close(fd);
    throw Error("cannot write the executed-lines script " + path_ + ": " + std::strerror(error));
  }
}

LineScript::~LineScript() {
  remove_script_dir(tmp_fd_, dir_name_);
  close(tmp_fd_);
  close_lifeline_read_end();
  if (lifeline_[1] >= 0) close(lifeline_[1]);
}

void LineScript::close_lifeline_read_end() {
  if (lifeline_[0] >= 0) close(lifeline_[0]);
  lifeline_[0] = -1;
}

std::string request_script(int mem_fd, uint64_t tstate, const RemoteExecOffsets& offsets,
                           const std::string& script) {
  return leave_request(ProcessMemory::file(mem_fd), tstate, offsets, script);
}

void cancel_request(int mem_fd, uint64_t tstate, const RemoteExecOffsets& o, const std::string& script) {
  ProcessMemory memory = ProcessMemory::file(mem_fd);
  uint64_t support = tstate + o.support;
  std::optional<uint64_t> pending = memory.read(support + o.pending_call);
  if (!pending || static_cast<int32_t>(*pending) != 1) return;  // run, or never ours
  std::string path(script.size() + 1, '\0');
  for (size_t done = 0; done < path.size(); done += sizeof(uint64_t)) {
    std::optional<uint64_t> word = memory.read(support + o.script_path + done);
    if (!word) return;
    std::memcpy(path.data() + done, &*word, std::min(sizeof(uint64_t), path.size() - done));
  }
  if (path != script + '\0') return;
  memory.write(support + o.pending_call, *pending & ~uint64_t{0xffffffff});
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
  problem = leave_request(ProcessMemory::traced(pid_), tstate, offsets, script);
  let_go(0);  // the SIGURG was the probes': taken away
  probes_.end_hold(pid_);
  return true;
}

}  // namespace pytrace
