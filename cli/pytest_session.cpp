// SPDX-License-Identifier: MIT
#include "pytest_session.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "core/test_runs.h"
#include "options.h"
#include "pytest_plugin.h"
#include "session.h"
#include "version.h"

namespace pytrace {
namespace {

constexpr const char* kPluginModule = "pytrace_pytest_plugin";

// Runs pytest as `python -m pytest` does, with the plugin (its source in
// PYTRACE_PYTEST_PLUGIN) already imported under its module name, so that
// `-p pytrace_pytest_plugin` finds it: no file of it is ever written.
constexpr const char* kBootstrap = R"(import os, runpy, sys, types
plugin = types.ModuleType("pytrace_pytest_plugin")
exec(compile(os.environ.pop("PYTRACE_PYTEST_PLUGIN"), "<pytrace_pytest_plugin>", "exec"), plugin.__dict__)
sys.modules[plugin.__name__] = plugin
sys.path[0] = os.getcwd()
runpy.run_module("pytest", run_name="__main__", alter_sys=True)
)";

// Where the plugin reports which test runs when: an unnamed file that the
// pytest process inherits, so that nothing is left on disk however the run
// ends.
class EventsFile {
 public:
  EventsFile() : fd_(memfd_create("pytrace-pytest-events", MFD_CLOEXEC)) {
    if (fd_ < 0) throw pytrace::Error(std::string("memfd_create: ") + strerror(errno));
  }
  ~EventsFile() { close(fd_); }
  EventsFile(const EventsFile&) = delete;
  EventsFile& operator=(const EventsFile&) = delete;

  int fd() const { return fd_; }
  // What the plugin wrote, up to kMaxBytes: the tests can write here too,
  // and grow the file (sparse) as far as they like.
  std::string contents(bool& cut) const {
    struct stat st {};
    size_t size = fstat(fd_, &st) == 0 && st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0;
    cut = size > kMaxBytes;
    std::string text(std::min(size, kMaxBytes), '\0');
    size_t done = 0;
    ssize_t n = 1;
    while (done < text.size() && (n = pread(fd_, text.data() + done, text.size() - done, done)) > 0)
      done += n;
    text.resize(done);
    return text;
  }
  static constexpr size_t kMaxBytes = 64 << 20;  // hundreds of thousands of tests

 private:
  int fd_;
};

// The test run that was going on on thread `tid` at `ts` (CLOCK_MONOTONIC).
const TestRun* run_at(const std::vector<TestRun>& runs, uint32_t tid, uint64_t ts) {
  for (const TestRun& run : runs)
    if (run.tid == tid && run.start_ns <= ts && ts < run.end_ns) return &run;
  return nullptr;
}

}  // namespace

int run_pytest_tool(const char* tool, int argc, char** argv, Front front) {
  namespace fs = std::filesystem;
  const char* kTool = tool;
  ProgramOptions options = parse_options(std::vector<std::string>(argv + 1, argv + argc), front);
  if (options.help) {
    std::cout << (front == Front::kWherePytest ? kWherePytestUsage : kPytestUsage);
    return 0;
  }
  if (options.version) {
    std::cout << kTool << " " << PYTRACE_VERSION << "\n";
    return 0;
  }
  std::error_code ec;
  std::string cwd = fs::current_path(ec).string();

  EventsFile events;
  LaunchSpec spec;
  apply_options(spec, options, kTool, argc, argv);
  spec.wait_for_children = options.wait_for_children;
  if (spec.scopes.empty()) spec.scopes.push_back(cwd);
  spec.project_dirs = {cwd};
  spec.output = options.output.value_or("pytest_trace_output.json");
  if (front == Front::kWherePytest) {
    // The original's default name: trace_where_pytest_output_<--file's name>.json.
    spec.output =
        options.output.value_or("trace_where_pytest_output_" + fs::path(*options.where_file).stem().string());
    if (*spec.output != "-" && !spec.output->ends_with(".json")) *spec.output += ".json";
    apply_breakpoint(spec, options);
  }
  spec.python = options.python;
  spec.required_module = "pytest";
  spec.description = "pytest";
  for (const auto& arg : options.script_args) spec.description += " " + arg;
  spec.python_args = {"-c", kBootstrap, "-p", kPluginModule};
  spec.python_args.insert(spec.python_args.end(), options.script_args.begin(), options.script_args.end());
  spec.extra_env = {std::string("PYTRACE_PYTEST_PLUGIN=") + kPytestPluginSource,
                    "PYTRACE_PYTEST_EVENTS_FD=" + std::to_string(events.fd())};
  spec.inherited_fds = {events.fd()};
  spec.complete_model = [&](TraceModel& model, uint64_t origin_ns) {
    bool cut = false;
    std::istringstream lines(events.contents(cut));
    if (cut)
      std::cerr << kTool << ": warning: the test events are larger than " << (EventsFile::kMaxBytes >> 20)
                << " MiB (the tests wrote into them?); the rest is ignored\n";
    size_t malformed = 0;
    std::vector<TestRun> runs = parse_test_events(lines, malformed);
    if (malformed) std::cerr << kTool << ": warning: " << malformed << " test events could not be read\n";
    group_calls_by_test(model, runs, origin_ns);
    if (model.breakpoint_hit) {
      if (const TestRun* run =
              run_at(runs, model.breakpoint_hit->tid, model.breakpoint_hit->ts_ns + origin_ns))
        model.breakpoint_hit->test = run->nodeid;
    }
  };
  return run_launch_session(spec);
}

}  // namespace pytrace
