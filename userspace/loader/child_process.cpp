// SPDX-License-Identifier: MIT
#include "loader/child_process.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace pytrace {
namespace {

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void child_fail(int error_fd, int error) {
  ssize_t ignored = write(error_fd, &error, sizeof(error));
  (void)ignored;
  _exit(127);
}

}  // namespace

std::vector<gid_t> groups_of(const RunAs& who) {
  std::vector<gid_t> groups{who.gid};
  struct passwd* pw = getpwuid(who.uid);
  if (!pw) return groups;
  int count = 64;
  groups.resize(count);
  if (getgrouplist(pw->pw_name, who.gid, groups.data(), &count) < 0) {
    groups.resize(count);
    getgrouplist(pw->pw_name, who.gid, groups.data(), &count);
  }
  groups.resize(count);
  return groups;
}

bool become(const RunAs& who, const std::vector<gid_t>& groups) {
  return setgroups(groups.size(), groups.data()) == 0 && setgid(who.gid) == 0 && setuid(who.uid) == 0;
}

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

GatedChild::GatedChild(std::vector<std::string> argv, std::vector<std::string> env,
                       std::optional<RunAs> run_as, const std::vector<int>& inherited_fds,
                       const std::vector<int>& unblocked_signals)
    : program_(argv.at(0)) {
  int gate[2], exec_error[2];
  if (pipe2(gate, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  if (pipe2(exec_error, O_CLOEXEC) != 0) {
    close(gate[0]);
    close(gate[1]);
    throw Error(std::string("pipe: ") + std::strerror(errno));
  }
  // Prepared before fork: the child may only make async-signal-safe calls.
  std::vector<char*> c_argv = c_strings(argv);
  std::vector<char*> c_env = c_strings(env);
  std::vector<gid_t> groups = run_as ? groups_of(*run_as) : std::vector<gid_t>{};
  sigset_t unblocked;
  sigemptyset(&unblocked);
  for (int signal : unblocked_signals) sigaddset(&unblocked, signal);

  pid_ = fork();
  if (pid_ < 0) {
    int error = errno;
    for (int fd : {gate[0], gate[1], exec_error[0], exec_error[1]}) close(fd);
    throw Error(std::string("fork: ") + std::strerror(error));
  }
  if (pid_ == 0) {
    close(gate[1]);
    close(exec_error[0]);
    // The tracer ignores SIGINT while the program runs; the program must not.
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    sigprocmask(SIG_UNBLOCK, &unblocked, nullptr);
    char go;
    if (read(gate[0], &go, 1) != 1) _exit(127);  // the tracer gave up
    if (run_as && !become(*run_as, groups)) child_fail(exec_error[1], errno);
    for (int fd : inherited_fds) fcntl(fd, F_SETFD, 0);
    execve(c_argv[0], c_argv.data(), c_env.data());
    child_fail(exec_error[1], errno);
  }
  close(gate[0]);
  close(exec_error[1]);
  gate_fd_ = gate[1];
  exec_error_fd_ = exec_error[0];
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
}

GatedChild::~GatedChild() {
  if (pid_ > 0 && !exit_code_) {
    kill_now();
    wait();
  }
  close_fd(gate_fd_);
  close_fd(exec_error_fd_);
  close_fd(pidfd_);
}

void GatedChild::release() {
  char go = 1;
  if (write(gate_fd_, &go, 1) != 1)
    throw Error(std::string("cannot start the program: ") + std::strerror(errno));
  close_fd(gate_fd_);
  // The error pipe closes on a successful exec (O_CLOEXEC) or carries errno.
  int error = 0;
  ssize_t n;
  do {
    n = read(exec_error_fd_, &error, sizeof(error));
  } while (n < 0 && errno == EINTR);
  close_fd(exec_error_fd_);
  if (n == sizeof(error)) {
    wait();
    throw Error("cannot run " + program_ + ": " + std::strerror(error));
  }
}

std::optional<int> GatedChild::poll_exit() {
  if (!exit_code_) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) record_exit(status);
  }
  return exit_code_;
}

int GatedChild::wait() {
  while (!exit_code_) {
    int status;
    pid_t r = waitpid(pid_, &status, 0);
    if (r == pid_)
      record_exit(status);
    else if (r < 0 && errno != EINTR)
      exit_code_ = 1;
  }
  return *exit_code_;
}

void GatedChild::record_exit(int wait_status) {
  exit_code_ = exit_code_of(wait_status);
  if (WIFSIGNALED(wait_status)) signal_ = WTERMSIG(wait_status);
}

void GatedChild::kill_now() {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, SIGKILL);
}

std::string run_and_capture(const std::vector<std::string>& argv_in, std::chrono::seconds timeout,
                            std::optional<RunAs> run_as, const std::vector<std::string>* env) {
  std::vector<std::string> argv = argv_in;
  std::vector<char*> c_argv = c_strings(argv);
  std::vector<std::string> env_copy = env ? *env : std::vector<std::string>{};
  std::vector<char*> c_env = c_strings(env_copy);
  std::vector<gid_t> groups = run_as ? groups_of(*run_as) : std::vector<gid_t>{};
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    throw Error(std::string("pipe: ") + std::strerror(errno));
  }
  pid_t pid = fork();
  if (pid < 0) throw Error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    if (run_as && !become(*run_as, groups)) _exit(126);
    if (env)
      execve(c_argv[0], c_argv.data(), c_env.data());
    else
      execv(c_argv[0], c_argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);

  std::string captured[2];
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buffer[4096];
      ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        captured[i].append(buffer, n);
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) throw Error(argv[0] + " did not answer within " + std::to_string(timeout.count()) + " s");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string why = WIFEXITED(status) && WEXITSTATUS(status) == 127 && captured[1].empty()
                          ? "it cannot be executed"
                          : "it exited with status " + std::to_string(exit_code_of(status));
    std::string detail = captured[1].empty() ? "" : ": " + captured[1].substr(0, 400);
    while (!detail.empty() && detail.back() == '\n') detail.pop_back();
    throw Error("running " + argv[0] + " failed (" + why + ")" + detail);
  }
  return captured[0];
}

}  // namespace pytrace
