// SPDX-License-Identifier: MIT
#include "output_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace pytrace {

OutputFile::OutputFile(const std::string& path, std::optional<RunAs> owner)
    : path_(std::filesystem::absolute(path).lexically_normal().string()), owner_(owner) {
  namespace fs = std::filesystem;
  fs::path parent = fs::path(path_).parent_path();
  std::error_code ec;
  if (fs::is_directory(path_, ec)) throw Error("cannot write output file " + path + ": it is a directory");
  fs::create_directories(parent, ec);
  if (ec)
    throw Error("cannot write output file " + path + ": cannot create " + parent.string() + ": " +
                ec.message());
  temp_path_ = path_ + ".partial-" + std::to_string(getpid());
  int fd = open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot write output file " + path + ": " + std::strerror(errno));
  close(fd);
}

OutputFile::~OutputFile() {
  if (!committed_) unlink(temp_path_.c_str());
}

void OutputFile::commit(const std::function<void(std::ostream&)>& write) {
  {
    std::ofstream out(temp_path_, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write output file " + path_ + ": " + std::strerror(errno));
    write(out);
    out.flush();
    if (!out) throw Error("writing " + path_ + " failed: " + std::strerror(errno));
  }
  // Give the file to the user who ran the tool through sudo.
  if (owner_ && chown(temp_path_.c_str(), owner_->uid, owner_->gid) != 0) {
    throw Error("cannot give " + path_ + " to uid " + std::to_string(owner_->uid) + ": " +
                std::strerror(errno));
  }
  if (rename(temp_path_.c_str(), path_.c_str()) != 0) {
    throw Error("cannot move the trace into " + path_ + ": " + std::strerror(errno));
  }
  committed_ = true;
}

}  // namespace pytrace
