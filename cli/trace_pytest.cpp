// SPDX-License-Identifier: MIT
// trace_pytest [pytest args...]: trace a pytest run, one subtree per test.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/error.h"
#include "core/test_runs.h"
#include "loader/privileges.h"
#include "options.h"
#include "pytest_plugin.h"
#include "session.h"
#include "version.h"

namespace {

constexpr const char* kTool = "trace_pytest";
constexpr const char* kPluginModule = "pytrace_pytest_plugin";

// A private directory holding the plugin and the file it reports into;
// removed when the run is over.
class PluginDir {
 public:
  explicit PluginDir(const std::optional<pytrace::RunAs>& user) {
    char pattern[] = "/tmp/pytrace-pytest-XXXXXX";
    if (!mkdtemp(pattern))
      throw pytrace::Error(std::string("cannot create a temporary directory: ") + strerror(errno));
    path_ = pattern;
    chmod(path_.c_str(), 0755);  // the user pytest runs as reads the plugin
    std::ofstream(plugin()) << kPytestPluginSource;
    int fd = open(events().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) throw pytrace::Error("cannot create " + events() + ": " + strerror(errno));
    if (user && fchown(fd, user->uid, user->gid) != 0) {
      close(fd);
      throw pytrace::Error("cannot give " + events() + " to uid " + std::to_string(user->uid));
    }
    close(fd);
  }
  ~PluginDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string plugin() const { return path_ + "/" + kPluginModule + ".py"; }
  std::string events() const { return path_ + "/events.jsonl"; }

 private:
  std::string path_;
};

int run(int argc, char** argv) {
  namespace fs = std::filesystem;
  using namespace pytrace;
  ProgramOptions options = parse_options(std::vector<std::string>(argv + 1, argv + argc), Front::kPytest);
  if (options.help) {
    std::cout << kPytestUsage;
    return 0;
  }
  if (options.version) {
    std::cout << kTool << " " << PYTRACE_VERSION << "\n";
    return 0;
  }
  std::error_code ec;
  fs::path scope = fs::absolute(options.scope.value_or(".")).lexically_normal();
  if (!fs::is_directory(scope, ec)) throw Error("scope directory does not exist: " + *options.scope);

  PluginDir plugin(invoking_user());
  LaunchSpec spec;
  apply_options(spec, options, kTool, argc, argv);
  spec.scope = scope.string();  // the current directory when not given
  spec.output = options.output.value_or("pytest_trace_output.json");
  spec.python = options.python.value_or(PYTRACE_DEFAULT_PYTHON);
  spec.required_module = "pytest";
  spec.description = "pytest";
  for (const auto& arg : options.script_args) spec.description += " " + arg;
  spec.python_args = {"-m", "pytest", "-p", kPluginModule};
  spec.python_args.insert(spec.python_args.end(), options.script_args.begin(), options.script_args.end());
  const char* pythonpath = getenv("PYTHONPATH");
  spec.extra_env = {
      "PYTHONPATH=" + plugin.path() + (pythonpath && *pythonpath ? std::string(":") + pythonpath : ""),
      "PYTRACE_PYTEST_EVENTS=" + plugin.events()};
  spec.complete_model = [&](TraceModel& model, uint64_t origin_ns) {
    std::ifstream events(plugin.events());
    size_t malformed = 0;
    std::vector<TestRun> runs = parse_test_events(events, malformed);
    if (malformed) std::cerr << kTool << ": warning: " << malformed << " test events could not be read\n";
    group_calls_by_test(model, runs, origin_ns);
  };
  return run_launch_session(spec);
}

}  // namespace

int main(int argc, char** argv) {
  return pytrace::run_tool(kTool, [&] { return run(argc, argv); });
}
