// SPDX-License-Identifier: MIT
#include "loader/interpreter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "loader/child_process.h"
#include "loader/privileges.h"
#include "version.h"

namespace pytrace {
namespace {

// -I: ignore the environment and the user's site directory; -S: no site.
constexpr const char* kQuery = R"(import sys, sysconfig, json
v = sys.version_info
print(json.dumps({
  "version": "%d.%d.%d" % tuple(v[:3]), "major": v[0], "minor": v[1],
  "executable": sys.executable,
  "stdlib": sysconfig.get_path("stdlib"), "platstdlib": sysconfig.get_path("platstdlib"),
  "shared": bool(sysconfig.get_config_var("Py_ENABLE_SHARED")),
  "libdir": sysconfig.get_config_var("LIBDIR") or "",
  "soname": sysconfig.get_config_var("INSTSONAME") or sysconfig.get_config_var("LDLIBRARY") or ""}))
)";

std::string find_on_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return name;
}

bool has_function_probes(const PythonElf& elf) {
  return !elf.find("python", "function__entry").empty() && !elf.find("python", "function__return").empty();
}

// Where the __init__ shim's code object and the type objects argument
// values are told apart by are, relative to _PyRuntime (0: unknown).
void set_runtime_symbols(Interpreter& interp) {
  const PythonElf& elf = interp.probe_elf;
  pt_python_offsets& o = interp.offsets.offsets;
  auto from_runtime = [&](const std::optional<uint64_t>& address) -> int64_t {
    if (!elf.runtime_address || !address) return 0;
    return static_cast<int64_t>(*address - *elf.runtime_address);
  };
  o.init_shim_from_runtime = from_runtime(elf.init_shim_address);
  o.none_type_from_runtime = from_runtime(elf.none_type);
  o.bool_type_from_runtime = from_runtime(elf.bool_type);
  o.float_type_from_runtime = from_runtime(elf.float_type);
  o.set_type_from_runtime = from_runtime(elf.set_type);
  o.cell_type_from_runtime = from_runtime(elf.cell_type);
  o.long_type_from_runtime = from_runtime(elf.long_type);
  o.unicode_type_from_runtime = from_runtime(elf.unicode_type);
  o.bytes_type_from_runtime = from_runtime(elf.bytes_type);
  o.list_type_from_runtime = from_runtime(elf.list_type);
  o.tuple_type_from_runtime = from_runtime(elf.tuple_type);
  o.dict_type_from_runtime = from_runtime(elf.dict_type);
}

}  // namespace

const std::string kHowToGetOne =
    "Use a CPython 3.15 built with --with-dtrace: `sudo scripts/setup.sh` installs one at " +
    std::string(PYTRACE_DEFAULT_PYTHON) +
    ", or pass --python PATH (docs/python.md: how to get one elsewhere).";

std::string unusable_version_reason(int major, int minor) {
  if (major != 3) return "only CPython 3 is supported";
  if (minor == 11) {
    return "in CPython 3.11 the function__entry probe fires only for frames entered from C "
           "(cpython issue 98894), so calls between Python functions are invisible";
  }
  if (minor >= 12 && minor <= 14) {
    return "CPython 3.12 to 3.14 have no function probes (PEP 669 removed them; they return "
           "in 3.15)";
  }
  if (minor < 11) return "this tracer reads CPython 3.15's frame layout";
  return "";
}

Interpreter inspect_interpreter(const std::string& requested, std::optional<RunAs> user) {
  std::string path = find_on_path(requested);
  struct stat st;
  int found;
  bool executable;
  {
    ActingAs as_user(user);  // what the user may not see or run, the tool does not tell apart
    found = stat(path.c_str(), &st);
    executable =
        found == 0 && S_ISREG(st.st_mode) && faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) == 0;
  }
  if (found != 0) {
    bool is_default = requested == PYTRACE_DEFAULT_PYTHON;
    throw Error("Python interpreter not found: " + requested +
                (is_default
                     ? " (the default; run `sudo scripts/setup.sh` to install it, or pass --python PATH)"
                     : ""));
  }
  if (!executable) throw Error("not an executable file: " + path);

  nlohmann::json info;
  try {
    std::string out = run_and_capture({path, "-I", "-S", "-c", kQuery}, std::chrono::seconds(30), user);
    info = nlohmann::json::parse(out);
  } catch (const nlohmann::json::exception&) {
    throw Error(path + " did not answer like a CPython interpreter");
  } catch (const Error& e) {
    throw Error("cannot use " + path + " as the Python interpreter: " + e.what());
  }

  Interpreter interp;
  interp.executable = std::filesystem::absolute(path).string();
  interp.version = info.value("version", "");
  interp.major = info.value("major", 0);
  interp.minor = info.value("minor", 0);
  std::string reason = unusable_version_reason(interp.major, interp.minor);
  if (!reason.empty()) {
    throw Error(path + " is Python " + interp.version + ", which cannot be traced: " + reason + ". " +
                kHowToGetOne);
  }
  for (const char* key : {"stdlib", "platstdlib"}) {
    std::string dir = info.value(key, "");
    if (!dir.empty()) interp.library_dirs.push_back(dir);
  }

  // The probes live in the executable, or in libpython for shared builds
  // (where the interpreter, run as the user, says it is).
  ActingAs as_user(user);
  std::vector<std::string> candidates{std::filesystem::canonical(path).string()};
  if (info.value("shared", false) && !info.value("soname", std::string()).empty()) {
    std::error_code ec;
    auto lib = std::filesystem::canonical(
        info.value("libdir", std::string()) + "/" + info.value("soname", std::string()), ec);
    if (!ec) candidates.push_back(lib.string());
  }
  std::string checked;
  for (const auto& file : candidates) {
    PythonElf elf = read_python_elf(file);
    if (has_function_probes(elf)) {
      interp.probe_elf = std::move(elf);
      break;
    }
    checked += (checked.empty() ? "" : " or ") + file;
  }
  if (interp.probe_elf.path.empty()) {
    throw Error(path + " (Python " + interp.version + ") was built without DTrace/SystemTap probes: no " +
                "python:function__entry note in " + checked + " (configure --with-dtrace). " + kHowToGetOne);
  }
  interp.offsets = parse_debug_offsets(interp.probe_elf.runtime_head);
  set_runtime_symbols(interp);
  return interp;
}

Interpreter inspect_running_interpreter(int pid) {
  namespace fs = std::filesystem;
  const std::string proc = "/proc/" + std::to_string(pid);
  std::error_code ec;
  if (!fs::exists(proc, ec)) throw Error("no process with pid " + std::to_string(pid));
  std::string comm = "?";
  if (std::ifstream in(proc + "/comm"); in) std::getline(in, comm);
  const std::string who = "pid " + std::to_string(pid) + " (" + comm + ")";

  std::string exe = fs::read_symlink(proc + "/exe", ec).string();
  if (ec) {
    throw Error("cannot reach " + who + "'s files (" + proc + "/exe: " + ec.message() +
                "); it may be a kernel thread or in a namespace this tool cannot see");
  }
  // The executable and every libpython it maps, as this process can open them.
  std::vector<std::string> files{exe};
  std::vector<std::string> library_dirs;
  std::ifstream maps(proc + "/maps");
  if (!maps) throw Error("cannot read " + proc + "/maps: " + std::strerror(errno));
  for (std::string line; std::getline(maps, line);) {
    size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    std::string name = fs::path(path).filename().string();
    if (name.rfind("libpython3", 0) == 0 && std::find(files.begin(), files.end(), path) == files.end()) {
      files.push_back(path);
    }
    // An extension module of the standard library: .../lib/python3.X/lib-dynload/x.so
    if (size_t dynload = path.find("/lib-dynload/"); dynload != std::string::npos) {
      std::string dir = path.substr(0, dynload);
      if (std::find(library_dirs.begin(), library_dirs.end(), dir) == library_dirs.end())
        library_dirs.push_back(dir);
    }
  }

  Interpreter interp;
  interp.executable = exe;
  interp.library_dirs = library_dirs;
  bool looks_like_python = false;
  for (const auto& file : files) {
    looks_like_python |= fs::path(file).filename().string().find("python") != std::string::npos;
    PythonElf elf;
    try {
      elf = read_python_elf(proc + "/root" + file);
    } catch (const Error&) {
      continue;
    }
    if (has_function_probes(elf)) {
      interp.probe_elf = std::move(elf);
      break;
    }
  }
  if (interp.probe_elf.path.empty()) {
    if (!looks_like_python) throw Error(who + " is not a Python process (it runs " + exe + ")");
    throw Error(who + " runs " + exe + ", which was built without DTrace/SystemTap probes (no " +
                "python:function__entry note). " + kHowToGetOne);
  }
  interp.offsets = parse_debug_offsets(interp.probe_elf.runtime_head);
  uint64_t v = interp.offsets.version_hex;
  if (v == 0) {
    throw Error(who +
                " runs a Python without the _Py_DebugOffsets table of CPython 3.13+, so it is older "
                "than 3.13, whose probes do not fire. " +
                kHowToGetOne);
  }
  interp.major = static_cast<int>((v >> 24) & 0xff);
  interp.minor = static_cast<int>((v >> 16) & 0xff);
  interp.version = std::to_string(interp.major) + "." + std::to_string(interp.minor) + "." +
                   std::to_string((v >> 8) & 0xff);
  std::string reason = unusable_version_reason(interp.major, interp.minor);
  if (!reason.empty()) {
    throw Error(who + " runs Python " + interp.version + ", which cannot be traced: " + reason + ". " +
                kHowToGetOne);
  }
  if (library_dirs.empty()) {
    // No extension module mapped yet: assume the usual layout, PREFIX/bin/pythonX.Y.
    interp.library_dirs.push_back(fs::path(exe).parent_path().parent_path().string() + "/lib/python" +
                                  std::to_string(interp.major) + "." + std::to_string(interp.minor));
  }
  set_runtime_symbols(interp);
  return interp;
}

int count_processes_running(const std::string& file, int except_pid) {
  struct stat wanted {};
  if (stat(file.c_str(), &wanted) != 0) return 0;
  int count = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit) || std::stoi(name) == except_pid)
      continue;
    // A maps line: address perms offset dev inode path; the file is mapped
    // when a line has its device and inode.
    std::ifstream maps(entry.path() / "maps");
    for (std::string line; std::getline(maps, line);) {
      unsigned major = 0, minor = 0;
      unsigned long long inode = 0;
      if (std::sscanf(line.c_str(), "%*s %*s %*s %x:%x %llu", &major, &minor, &inode) == 3 &&
          inode == wanted.st_ino && makedev(major, minor) == wanted.st_dev) {
        ++count;
        break;
      }
    }
  }
  return count;
}

}  // namespace pytrace
