// SPDX-License-Identifier: MIT
#include "options.h"

#include <charconv>
#include <cmath>
#include <cstdint>

#include "trace_export.h"

namespace pytrace {

const char* const kPytestUsage = R"(usage: trace_pytest [pytest arguments...] [options]

Runs `python -m pytest` with the given arguments under CPython's USDT probes
and records the calls each test makes, one subtree per test, labelled with
its node id. Needs root. Exits with pytest's exit code.

Tracer options may stand anywhere; `--` ends them, and every other argument
goes to pytest unchanged (so pytest's -v, -k, -p, -x ... keep their meaning).

options:
  -o, --output FILE      write the trace as JSON to FILE (default:
                         pytest_trace_output.json; - is standard output)
  --scope DIR            directory whose files are the user's code (default:
                         the current directory); give it again for more; it
                         wins over the default exclusions
  --no-external-calls    do not log calls from the user's code into other code
  --no-imports           drop import entries (module bodies, importlib frames)
  --show-dunders         also log dunder methods other than __init__/__call__
                         and generator-expression frames (hidden by default)
  --python PATH          interpreter to run pytest with (default: $VIRTUAL_ENV's
                         when sudo keeps it, else a .venv in the current
                         directory or above, else the one setup.sh installed)
  --ring-buffer-mb N     size of the kernel ring buffer, a power of two up to
                         2048 (default: 64)
  --no-patterns          do not fold repeated calls into pattern groups
  --format FORMAT        what -o writes: json, the trace document (default);
                         text, the call tree; or for other tools (docs/exports.md)
                         chrome (Perfetto UI), speedscope, collapsed (flame graphs)
  --no-color             no colours in the call tree (also NO_COLOR=1)
  --no-arg-values        do not record argument values (`arguments` is {})
  --no-kernel-filter     send every call from the kernel, even those that cannot
                         be logged (calls out of the scope made from out of
                         it); the trace is the same, the tracing slower
  --track-executed-lines also record the lines that run in the scope, as
                         executed_line entries among the calls (the program
                         runs a small script of the tool's for it)
  --wait-for-children    when the program exits, trace the processes it started
                         until they exit too (Ctrl-C stops); by default tracing
                         ends with the program and says which still ran
  -h, --help             show this help
  --version              show the version
)";

const char* const kProgramUsage = R"(usage: trace_program [options] SCRIPT [script arguments...] [options]
       trace_program [options] -m MODULE [module arguments...]
       trace_program --pid PID [--duration SECONDS] [options]
       trace_program --check [--python PATH]

Runs a Python script (or a module, as python -m does) under CPython's USDT
probes, or attaches to a running Python process, and records which
functions it calls, in what order, from where, how deep and for how long.
Needs root.

Tracer options may stand before or after the script; `--` ends them, and
every other argument goes to the script unchanged.

options:
  -o, --output FILE      write the trace as JSON to FILE (- is standard output;
                         default: print a call tree on stdout)
  --scope DIR            directory whose files are the user's code (default:
                         the script's directory, with -m the current one);
                         give it again for more; it wins over the default
                         exclusions (the standard library, site-packages)
  --no-external-calls    do not log calls from the user's code into other code
  --no-imports           drop import entries (module bodies, importlib frames)
  --show-dunders         also log dunder methods other than __init__/__call__
                         and generator-expression frames (hidden by default)
  --python PATH          interpreter to run (default: $VIRTUAL_ENV's when sudo
                         keeps it, else a .venv in the current or the script's
                         directory or above, else the one setup.sh installed)
  -p, --pid PID          attach to this running Python process instead; stop at
                         Ctrl-C, after --duration, or when it exits; it runs on
  --duration SECONDS     with --pid: stop tracing after this long
  --ring-buffer-mb N     size of the kernel ring buffer, a power of two up to
                         2048 (default: 64)
  --no-patterns          do not fold repeated calls into pattern groups
  --format FORMAT        what -o writes: json, the trace document (default);
                         text, the call tree; or for other tools (docs/exports.md)
                         chrome (Perfetto UI), speedscope, collapsed (flame graphs)
  --no-color             no colours in the call tree (also NO_COLOR=1)
  --no-arg-values        do not record argument values (`arguments` is {})
  --no-kernel-filter     send every call from the kernel, even those that cannot
                         be logged (calls out of the scope made from out of
                         it); the trace is the same, the tracing slower
  --track-executed-lines also record the lines that run in the scope, as
                         executed_line entries among the calls (the program
                         runs a small script of the tool's for it)
  --wait-for-children    when the program exits, trace the processes it started
                         until they exit too (Ctrl-C stops); by default tracing
                         ends with the program and says which still ran
  --check                check whether tracing works here: the kernel, the
                         privileges, and every Python interpreter to be found
                         (each traced once), with the fix for each problem
  -v, --verbose          show libbpf's debug messages
  -h, --help             show this help
  --version              show the version
)";

const char* const kWherePytestUsage =
    R"(usage: trace_where_pytest [pytest arguments...] --file F --line L --iterations N [options]

Runs `python -m pytest` with the given arguments under CPython's USDT probes
until line L of file F is about to run for the Nth time (on any thread), and
saves the stack of the thread that got there, with the id of the test it
happened in, as trace_where does. Then pytest ends there (exit code 0),
unless --continue; with --continue the exit code is pytest's. Needs root.
Arguments that are not the options below go to pytest unchanged.

options:
  --file F, --line L, --iterations N, --continue, --track-executed-lines,
  --python PATH, --no-arg-values  as for trace_where
  -o, --output FILE      default: trace_where_pytest_output_<F's name>.json
  --scope DIR            default: the current directory
  -h, --help             show this help
  --version              show the version
)";

const char* const kWhereUsage =
    R"(usage: trace_where SCRIPT [args...] --file F --line L --iterations N [options]
       trace_where -m MODULE [args...] --file F --line L --iterations N [options]
       trace_where --pid PID --file F --line L --iterations N [--duration SECONDS] [options]

Runs a Python script under CPython's USDT probes until line L of file F is
about to run for the Nth time (counted on every thread of the process), and
saves the stack of the thread that got there: the frames in the scope,
innermost first, each with its current line, where it was called from and
its argument values as they were when it was called. Then the program ends
(exit code 0, its output flushed; nothing more of it runs, not even its
finally blocks), unless --continue. Needs root.

options:
  --file F               the breakpoint's file (relative to the current directory)
  --line L               its line
  --iterations N         take the stack the Nth time the line runs
  -o, --output FILE      where to write the stack as JSON (default:
                         trace_where_output_<script name>.json; .json is
                         added when missing; - is standard output)
  --scope DIR            directory whose frames are shown (default: the
                         script's directory, with -m the current one); give
                         it again for more
  --continue             let the program run on after the Nth hit
  -p, --pid PID          a running Python process instead: its hits are
                         counted from the moment the tool's script runs in
                         it (its next call); it is never ended: the session
                         ends at the hit and the process runs on
  --duration SECONDS     with --pid: give up after this long
  --track-executed-lines also save which lines of the scope ran before it,
                         per file (metadata.executed_lines)
  --python PATH          interpreter to run (as trace_program)
  --no-arg-values        do not record argument values
  -h, --help             show this help
  --version              show the version
Never reached: the program runs to its end, nothing is written, and the
exit code is the program's.
)";

namespace {

struct ValueOption {
  const char* long_name;
  const char* short_name;  // may be null
};

// Longer than anyone traces, short enough to count in nanoseconds.
constexpr double kMaxSeconds = 365.0 * 24 * 3600;
// Linux's largest pid (PID_MAX_LIMIT).
constexpr uint64_t kMaxPid = 4194304;
// The ring buffer's size is a power of two that fits the kernel's 32 bits.
constexpr uint64_t kMaxRingBufferMb = 2048;

double parse_seconds(const std::string& option, const std::string& text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || !(value > 0) ||
      value > kMaxSeconds) {
    throw UsageError(option + " needs a number of seconds above 0 and at most a year (31536000), not '" +
                     text + "'");
  }
  return value;
}

// A whole number from 1 to `max`.
uint64_t parse_count(const std::string& option, const std::string& text, uint64_t max) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > max) {
    throw UsageError(option + " needs a whole number from 1 to " + std::to_string(max) + ", not '" + text +
                     "'");
  }
  return value;
}

}  // namespace

ProgramOptions parse_options(const std::vector<std::string>& args, Front front) {
  const bool pytest = front == Front::kPytest || front == Front::kWherePytest;
  const bool where = front == Front::kWhere || front == Front::kWherePytest;
  ProgramOptions options;
  bool have_script = pytest;  // trace_pytest has no script: everything else is pytest's
  auto take = [&](const std::string& arg) {
    if (!have_script) {
      options.script = arg;
      have_script = true;
    } else {
      options.script_args.push_back(arg);
    }
  };

  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      for (++i; i < args.size(); ++i) take(args[i]);
      break;
    }
    // "--name=value" or "--name value"
    std::string name = arg;
    std::optional<std::string> inline_value;
    if (arg.rfind("--", 0) == 0) {
      if (size_t eq = arg.find('='); eq != std::string::npos) {
        name = arg.substr(0, eq);
        inline_value = arg.substr(eq + 1);
      }
    }
    auto value = [&]() -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) throw UsageError(name + " needs a value");
      return args[++i];
    };
    auto flag = [&](bool& target, bool setting) {
      if (inline_value) throw UsageError(name + " takes no value");
      target = setting;
    };

    if (name == "-o" || name == "--output") {
      options.output = value();
      if (options.output->empty()) throw UsageError(name + " needs a file name (or - for standard output)");
    } else if (name == "--scope") {
      options.scopes.push_back(value());
      if (options.scopes.back().empty()) throw UsageError("--scope needs a directory");
    } else if (name == "--python") {
      options.python = value();
    } else if (!pytest && (name == "-p" || name == "--pid")) {  // pytest's -p loads a plugin
      options.pid = static_cast<int>(parse_count(name, value(), kMaxPid));
    } else if (!pytest && name == "--duration") {
      options.duration = parse_seconds(name, value());
    } else if (name == "--ring-buffer-mb") {
      options.ring_buffer_mb = parse_count(name, value(), kMaxRingBufferMb);
      if (options.ring_buffer_mb & (options.ring_buffer_mb - 1))
        throw UsageError(name +
                         " is a power of two (1, 2, 4 ... 2048), as the kernel's ring buffer is, not " +
                         std::to_string(options.ring_buffer_mb));
    } else if (name == "--no-external-calls") {
      flag(options.external_calls, false);
    } else if (name == "--no-imports") {
      flag(options.imports, false);
    } else if (name == "--show-dunders") {
      flag(options.show_dunders, true);
    } else if (name == "--no-patterns") {
      flag(options.patterns, false);
    } else if (name == "--no-color") {
      flag(options.color, false);
    } else if (name == "--format") {
      std::string format = value();
      if (format != "json" && format != "text" && !viewer::parse_export_format(format))
        throw UsageError("--format is json, text, chrome, speedscope or collapsed, not '" + format + "'");
      options.text_format = format == "text";
      options.export_format = format == "json" || format == "text" ? "" : format;
    } else if (name == "--no-arg-values") {
      flag(options.arg_values, false);
    } else if (!where && name == "--no-kernel-filter") {
      flag(options.kernel_filter, false);
    } else if (name == "--wait-for-children") {
      flag(options.wait_for_children, true);
    } else if (name == "--track-executed-lines") {
      flag(options.track_executed_lines, true);
    } else if (where && name == "--file") {
      options.where_file = value();
      if (options.where_file->empty()) throw UsageError("--file needs a file name");
    } else if (where && name == "--line") {
      options.where_line = static_cast<int>(parse_count(name, value(), INT32_MAX));
    } else if (where && name == "--iterations") {
      options.iterations = parse_count(name, value(), UINT32_MAX);
    } else if (where && name == "--continue") {
      flag(options.keep_running, true);
    } else if (!pytest && (name == "-v" || name == "--verbose")) {  // pytest's -v is its verbosity
      flag(options.verbose, true);
    } else if (!pytest && !have_script && name == "-m") {
      options.module = value();
      if (options.module->empty() || options.module->front() == '-')
        throw UsageError("-m needs a module name, as python -m does");
      have_script = true;  // what follows is the module's
    } else if (!pytest && !have_script && name == "--check") {
      flag(options.check, true);
    } else if (name == "-h" || name == "--help") {
      flag(options.help, true);
    } else if (name == "--version") {
      flag(options.version, true);
    } else if (!have_script && arg.size() > 1 && arg[0] == '-') {
      throw UsageError("unknown option " + arg +
                       " (options for the script go after the script, or after --)");
    } else {
      take(arg);
    }
  }
  if (options.help || options.version) return options;
  if (options.track_executed_lines && !where && (options.text_format || (!pytest && !options.output)))
    throw UsageError(
        "--track-executed-lines records executed_line entries in the JSON document: give -o FILE "
        "(not --format text)");
  if (!options.export_format.empty() && options.track_executed_lines)
    throw UsageError("--track-executed-lines records executed_line entries in the JSON document; --format " +
                     options.export_format + " has no place for them");
  if (!options.export_format.empty() && (where || !options.output))
    throw UsageError(where ? "trace_where writes its stack as JSON; --format " + options.export_format +
                                 " is for the traces of trace_program and trace_pytest"
                           : "--format " + options.export_format + " writes a file: give -o FILE");
  if (where && (!options.where_file || !options.where_line || !options.iterations))
    throw UsageError("the breakpoint needs --file F --line L --iterations N");
  if (pytest) return options;
  if (options.check) {
    if (have_script || options.pid)
      throw UsageError("--check traces nothing: give it no script, -m or --pid");
    return options;
  }
  if (options.pid && have_script) throw UsageError("give a script (or -m MODULE) or --pid, not both");
  if (!options.pid && !have_script)
    throw UsageError("no script given (or -m MODULE, or --pid PID to attach)");
  if (options.duration && !options.pid) throw UsageError("--duration goes with --pid");
  if (options.pid && options.python)
    throw UsageError("--python does not apply to --pid: the process has its own");
  if (options.pid && options.wait_for_children)
    throw UsageError("--wait-for-children does not apply to --pid, which traces that process only");
  return options;
}

}  // namespace pytrace
