// SPDX-License-Identifier: MIT
#include "check.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <regex>
#include <vector>

#include "core/error.h"
#include "loader/interpreter.h"
#include "loader/kernel_features.h"
#include "loader/privileges.h"
#include "python_choice.h"
#include "session.h"
#include "version.h"

namespace pytrace {
namespace {

namespace fs = std::filesystem;

struct Candidate {
  std::string path;
  std::string found_as;            // "--python", "on PATH", "pyenv" ...
  std::vector<std::string> other;  // other names of the same file
};

// An interpreter is an ELF file: launchers (pyenv's shims) are not counted
// apart from what they start.
bool is_elf(const fs::path& path) {
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);  // a FIFO in its place blocks nothing
  if (fd < 0) return false;
  constexpr char kMagic[4] = {0x7f, 'E', 'L', 'F'};
  struct stat st;
  char magic[4] = {};
  bool elf = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, magic, 4) == 4 &&
             std::memcmp(magic, kMagic, 4) == 0;
  close(fd);
  return elf;
}

// Executables named python3 or python3.N in `dir`, sorted.
std::vector<std::string> pythons_in(const fs::path& dir) {
  static const std::regex name("python3(\\.[0-9]+)?");
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (std::regex_match(entry.path().filename().string(), name)) found.push_back(entry.path().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

// `text` in lines of at most about 100 columns, indented under the status.
void detail(const std::string& text) {
  constexpr size_t kWidth = 88;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.size();
    if (end - start > kWidth) {
      end = text.rfind(' ', start + kWidth);
      if (end == std::string::npos || end <= start) end = std::min(text.size(), start + kWidth);
    }
    std::cout << "            " << text.substr(start, end - start) << "\n";
    start = end < text.size() && text[end] == ' ' ? end + 1 : end;
  }
}

// Every interpreter to be found, the one trace_program would choose first;
// one entry per file. Looked for with the user's identity; one found (not
// asked for, nor the one that would be used) is run only if nobody but
// the user and root can change it. `passed_over`: those left out, and why.
std::vector<Candidate> find_interpreters(const std::optional<std::string>& asked,
                                         const std::optional<RunAs>& user,
                                         std::vector<std::string>& passed_over) {
  ActingAs as_user(user);
  uid_t uid = user ? user->uid : geteuid();
  std::error_code ec;
  std::string cwd = fs::current_path(ec).string();
  PythonChoice chosen = choose_python(asked, {cwd}, user);
  passed_over = chosen.passed_over;
  std::vector<Candidate> named{{chosen.path, chosen.why, {}}};
  if (asked) {  // and the one that would be used without --python
    PythonChoice otherwise = choose_python(std::nullopt, {cwd}, user);
    named.push_back({otherwise.path, "without --python: " + otherwise.why, {}});
  }
  named.push_back({PYTRACE_DEFAULT_PYTHON, "installed by setup.sh", {}});

  std::vector<std::string> dirs;
  const char* path = std::getenv("PATH");
  for (std::string rest = path ? path : ""; !rest.empty();) {
    size_t colon = rest.find(':');
    dirs.push_back(rest.substr(0, colon));
    rest = colon == std::string::npos ? "" : rest.substr(colon + 1);
  }
  for (const char* dir : {"/usr/local/bin", "/usr/bin"}) dirs.push_back(dir);
  for (const auto& dir : dirs) {
    for (const auto& python : pythons_in(dir)) named.push_back({python, "on PATH", {}});
  }
  std::string home;
  if (struct passwd* pw = getpwuid(user ? user->uid : getuid())) home = pw->pw_dir;
  auto versions = [&](const fs::path& root, const std::string& found_as) {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(root, ec))
      found.push_back(entry.path() / "bin" / "python3");
    std::sort(found.begin(), found.end());
    for (const auto& python : found) named.push_back({python, found_as, {}});
  };
  if (!home.empty()) {
    versions(fs::path(home) / ".pyenv" / "versions", "pyenv");
    versions(fs::path(home) / ".local" / "share" / "uv" / "python", "uv");
    for (const char* conda : {"miniconda3", "anaconda3", "miniforge3"})
      named.push_back({home + "/" + conda + "/bin/python3", "conda", {}});
  }
  named.push_back({"/opt/conda/bin/python3", "conda", {}});

  std::vector<Candidate> unique;
  std::vector<fs::path> files;
  for (size_t i = 0; i < named.size(); ++i) {
    const Candidate& candidate = named[i];
    fs::path file = fs::canonical(candidate.path, ec);
    if (ec || !is_elf(file)) {
      if (i == 0) unique.push_back(candidate);  // only the one that would be used is said to be missing
      continue;
    }
    fs::path link = fs::absolute(candidate.path, ec);
    if (i > 0 && !(only_user_controls(link.parent_path(), uid) && only_user_controls(link, uid))) {
      std::string note =
          "not running " + candidate.path + ": someone else can change it or a directory above it";
      if (std::find(passed_over.begin(), passed_over.end(), note) == passed_over.end())
        passed_over.push_back(note);
      continue;
    }
    auto same = std::find(files.begin(), files.end(), file);
    if (same == files.end()) {
      files.push_back(file);
      unique.push_back(candidate);
    } else if (candidate.path != unique[same - files.begin()].path) {
      auto& other = unique[same - files.begin()].other;
      if (std::find(other.begin(), other.end(), candidate.path) == other.end())
        other.push_back(candidate.path);
    }
  }
  return unique;
}

void line(const char* status, const std::string& text) {
  std::cout << "  " << status << std::string(10 - std::string(status).size(), ' ') << text << "\n";
}

}  // namespace

int run_check(const std::string& tool, const std::optional<std::string>& python) {
  std::optional<RunAs> user = invoking_user();
  bool ok = true;

  std::cout << "Privileges\n";
  bool privileged = true;
  try {
    require_bpf_privileges(tool + " --check");
    line("ok", geteuid() == 0 ? "root" : "CAP_BPF and CAP_PERFMON");
    if (user) {
      const struct passwd* pw = getpwuid(user->uid);
      detail("programs run as the user who ran sudo, " + std::string(pw ? pw->pw_name : "?") + " (uid " +
             std::to_string(user->uid) + ")");
    }
  } catch (const Error& e) {
    privileged = ok = false;
    line("missing", "the privileges to load BPF programs");
    detail(e.what());
  }

  std::cout << "Kernel\n";
  std::optional<KernelFeatures> kernel;
  if (privileged) {
    kernel = probe_kernel_features();
    std::cout << "  Linux " << kernel->release << "\n";
    for (const KernelFeature& f : kernel->features) {
      line(f.present ? "ok" : f.required ? "missing" : "lacking", f.name + " (Linux " + f.since + "+)");
      if (!f.present) detail((f.required ? "needed for " : "without it ") + f.needed_for);
    }
    if (!kernel->missing(true).empty()) {
      ok = false;
      detail("fix: a newer kernel (docs/probes.md lists what each feature is for)");
    }
  } else {
    line("unknown", "finding out what the kernel offers takes the same privileges");
  }
  bool can_trace = privileged && kernel && kernel->missing(true).empty();

  std::cout << "Interpreters (* is the one " << tool << " would run from here)\n";
  std::vector<std::string> passed_over;
  std::vector<Candidate> found = find_interpreters(python, user, passed_over);
  for (const std::string& note : passed_over) line("skipped", note);
  bool advise = false;
  std::string usable;  // the first interpreter that can be traced
  for (size_t i = 0; i < found.size(); ++i) {
    const Candidate& candidate = found[i];
    std::string problem, facts;
    try {
      Interpreter interp = inspect_interpreter(candidate.path, user);
      facts = "Python " + interp.version + ", probes in " + interp.probe_elf.path;
      if (can_trace) {
        problem = live_probe_check(tool + " --check", interp, *kernel);
        if (problem.empty()) facts += "; traced a test program: its calls came out as they ran";
      } else {
        facts += "; not traced (see above)";
      }
    } catch (const std::exception& e) {
      problem = e.what();
      // The common advice is given once, at the end.
      if (problem.ends_with(kHowToGetOne)) {
        problem.resize(problem.size() - kHowToGetOne.size());
        while (problem.ends_with(' ')) problem.pop_back();
        advise = true;
      }
    }
    std::string name = (i == 0 ? "* " : "  ") + candidate.path + "  (" + candidate.found_as + ")";
    line(!problem.empty() ? "no" : can_trace ? "usable" : "probes", name);
    for (const auto& other : candidate.other) detail("also " + other);
    detail(problem.empty() ? facts : problem);
    if (i == 0 && !problem.empty()) ok = false;
    if (problem.empty() && can_trace && usable.empty()) usable = candidate.path;
  }
  std::cout << "\n";
  if (ok) {
    std::cout << "Tracing works here.\n";
  } else if (!can_trace) {
    std::cout << "Tracing does not work here yet: see above.\n";
  } else if (python && found.size() > 1 && usable == found[1].path) {
    std::cout << "Tracing does not work with " << found.front().path << ". Without --python, " << usable
              << " would be used, and it can be traced.\n";
  } else if (!usable.empty()) {
    std::cout << "Tracing does not work with " << found.front().path << ". " << usable
              << " can be traced: pass --python " << usable << ", or make your project's virtualenv with it ("
              << usable << " -m venv .venv).\n";
  } else {
    std::cout << "No interpreter here can be traced.\n";
    if (advise) detail(kHowToGetOne);
  }
  return ok ? 0 : 1;
}

}  // namespace pytrace
