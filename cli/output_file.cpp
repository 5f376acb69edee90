// SPDX-License-Identifier: MIT
#include "output_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <streambuf>
#include <vector>

#include "core/error.h"
#include "io/compression.h"
#include "loader/privileges.h"

namespace pytrace {
namespace {

namespace fs = std::filesystem;

// What the helper answers once it has prepared the file.
struct Prepared {
  int error = 0;       // errno of the step that failed, 0 when the file is open
  bool usage = false;  // the target itself is wrong (exit code 2)
  char message[480] = {};
};

std::string kind_of(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

// Sends `prepared`, and the file's descriptor when it is open.
void send_prepared(int socket, const Prepared& prepared, int fd) {
  iovec data{const_cast<Prepared*>(&prepared), sizeof(prepared)};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &fd, sizeof(int));
  }
  while (sendmsg(socket, &message, 0) < 0 && errno == EINTR) {
  }
}

// Receives what send_prepared sent; `fd` is -1 without a descriptor.
bool receive_prepared(int socket, Prepared& prepared, int& fd) {
  iovec data{&prepared, sizeof(prepared)};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t n;
  while ((n = recvmsg(socket, &message, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  fd = -1;
  if (cmsghdr* header = CMSG_FIRSTHDR(&message);
      header && header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS)
    std::memcpy(&fd, CMSG_DATA(header), sizeof(int));
  return n == static_cast<ssize_t>(sizeof(prepared));
}

// The helper, with the user's identity: prepares the file, then waits for
// the word to link it into place, or for the tool to go away.
[[noreturn]] void run_agent(int socket, const fs::path& target, const std::optional<RunAs>& user) {
  // The tool handles Ctrl-C and its like; the helper ends when the tool does.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) signal(sig, SIG_IGN);
  Prepared prepared;
  auto fail = [&](int error, bool usage, const std::string& text) {
    prepared.error = error ? error : EINVAL;
    // A place the user may not write is a wrong target, like a device node.
    prepared.usage = usage || error == EACCES || error == EPERM || error == EROFS;
    std::snprintf(prepared.message, sizeof(prepared.message), "%s", text.c_str());
    send_prepared(socket, prepared, -1);
    _exit(1);
  };
  // The user's effective identity, for every file operation and for the
  // disk space used; the real and saved ids stay root's, so that the traced
  // program, running as the user, cannot stop or kill this process. (The
  // helper ends with _exit: it is never root again.)
  std::optional<ActingAs> as_user;
  try {
    as_user.emplace(user);
  } catch (const Error& e) {
    fail(EPERM, false, e.what());
  }

  const std::string name = target.filename().string();
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);  // as the user: only where they may
  if (ec) fail(ec.value(), false, "cannot create " + target.parent_path().string() + ": " + ec.message());
  int dir = open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    fail(errno, false, "cannot open " + target.parent_path().string() + ": " + std::strerror(errno));

  struct stat existing {};
  if (fstatat(dir, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISREG(existing.st_mode))
      fail(EEXIST, true,
           target.string() + " is " + kind_of(existing.st_mode) + ", not a file to write a trace to");
    if (faccessat(dir, name.c_str(), W_OK, AT_EACCESS) != 0)
      fail(errno, true, "the user may not write " + target.string() + ": " + std::strerror(errno));
  } else if (errno != ENOENT) {
    fail(errno, false, "cannot look at " + target.string() + ": " + std::strerror(errno));
  }

  // An unnamed file vanishes with its last descriptor: nothing is left
  // behind if the tool is killed. File systems without O_TMPFILE get a
  // hidden named one, removed unless committed. Hidden names are random:
  // another process cannot take one in advance.
  auto hidden_name = [&] {
    uint64_t random = 0;
    getrandom(&random, sizeof random, 0);
    char suffix[24];
    std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(random));
    return "." + name + ".partial-" + suffix;
  };
  std::string temp = hidden_name();
  bool named = false;
  int file = openat(dir, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (file < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    named = true;
    file = openat(dir, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  }
  if (file < 0)
    fail(errno, false, "cannot write in " + target.parent_path().string() + ": " + std::strerror(errno));
  send_prepared(socket, prepared, file);

  char word = 0;
  ssize_t n;
  while ((n = read(socket, &word, 1)) < 0 && errno == EINTR) {
  }
  int error = 0;
  if (n == 1 && word == 'c') {
    // Linked under a hidden name, then renamed over the target: the target
    // is replaced whole, never written through.
    std::string fd_path = "/proc/self/fd/" + std::to_string(file);
    bool linked = named;
    for (int attempt = 0; !linked && attempt < 8; ++attempt) {
      if (attempt) temp = hidden_name();
      linked = linkat(AT_FDCWD, fd_path.c_str(), dir, temp.c_str(), AT_SYMLINK_FOLLOW) == 0;
      error = linked ? 0 : errno;
      if (error != EEXIST) break;
    }
    if (linked && renameat(dir, temp.c_str(), dir, name.c_str()) != 0) {
      error = errno;
      unlinkat(dir, temp.c_str(), 0);  // ours: it was linked or created above
    }
    while (write(socket, &error, sizeof(error)) < 0 && errno == EINTR) {
    }
  } else if (named) {
    unlinkat(dir, temp.c_str(), 0);
  }
  _exit(error ? 1 : 0);
}

}  // namespace

OutputFile::OutputFile(const std::string& path, std::optional<RunAs> user) : path_(path) {
  if (path.empty()) throw UsageError("-o needs a file name (or - for standard output)");
  if (path == "-") {
    file_ = STDOUT_FILENO;
    return;
  }
  fs::path target = fs::absolute(path).lexically_normal();
  path_ = target.string();
  if (target.filename().empty() || target.filename() == "." || target.filename() == "..")
    throw UsageError("-o " + path + " names a directory, not a file");

  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0)
    throw Error(std::string("socketpair: ") + std::strerror(errno));
  // Forked before the tool starts any thread, so the helper may use the
  // whole library.
  agent_pid_ = fork();
  if (agent_pid_ < 0) {
    int error = errno;
    close(sockets[0]);
    close(sockets[1]);
    throw Error(std::string("fork: ") + std::strerror(error));
  }
  if (agent_pid_ == 0) {
    close(sockets[0]);
    run_agent(sockets[1], target, user);
  }
  close(sockets[1]);
  agent_ = sockets[0];
  Prepared prepared;
  if (!receive_prepared(agent_, prepared, file_) || (prepared.error == 0 && file_ < 0)) {
    prepared.error = EIO;
    std::snprintf(prepared.message, sizeof(prepared.message), "its helper process failed");
  }
  if (prepared.error) {
    std::string message = "cannot write output file " + path + ": " + prepared.message;
    close(agent_);
    agent_ = -1;
    waitpid(agent_pid_, nullptr, 0);
    agent_pid_ = -1;
    if (prepared.usage) throw UsageError(message, false);
    throw Error(message);
  }
}

OutputFile::~OutputFile() {
  if (file_ >= 0 && file_ != STDOUT_FILENO) close(file_);
  if (agent_ >= 0) close(agent_);  // the helper sees the end and drops the file
  if (agent_pid_ > 0) {
    while (waitpid(agent_pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

void OutputFile::commit(const std::function<void(std::ostream&)>& write) {
  FdBuffer buffer(file_);
  Compression compression = is_stdout() ? Compression::kNone : compression_for_name(path_);
  bool compressed = true;
  if (compression == Compression::kNone) {
    std::ostream out(&buffer);
    write(out);
    out.flush();
  } else {
    CompressingBuffer compressor(compression, buffer);
    std::ostream out(&compressor);
    write(out);
    compressed = compressor.finish();
  }
  if (buffer.error()) throw Error("writing " + path_ + " failed: " + std::strerror(buffer.error()));
  if (!compressed)
    throw Error(std::string("writing ") + path_ + " failed: " + compression_name(compression) +
                " compression failed");
  if (is_stdout()) return;
  char word = 'c';
  int error = EIO;
  if (::write(agent_, &word, 1) != 1 || read(agent_, &error, sizeof(error)) != sizeof(error)) error = EIO;
  if (error) throw Error("cannot put the trace in place as " + path_ + ": " + std::strerror(error));
}

}  // namespace pytrace
