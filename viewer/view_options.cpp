// SPDX-License-Identifier: MIT
#include "view_options.h"

#include <charconv>

#include "trace_export.h"

namespace pytrace::viewer {

const char* const kViewUsage =
    "usage: serve_visualization.sh TRACE.json [PORT] [--no-patterns] [--hide-imports] [--host ADDRESS]\n"
    "                              [--allow-host NAME]...\n"
    "\n"
    "       pytrace_view TRACE.json [PORT] [options]   (the same, without the script)\n"
    "\n"
    "Serves the interactive viewer for a trace written by trace_program -o or\n"
    "trace_pytest -o, on http://127.0.0.1:PORT/ (PORT defaults to 8080).\n"
    "\n"
    "  --no-patterns     start with the calls listed without pattern groups\n"
    "  --hide-imports    start with the calls made during imports hidden\n"
    "  --host ADDRESS    listen on ADDRESS instead of 127.0.0.1 (0.0.0.0: every\n"
    "                    interface; anyone who can reach it can read the trace\n"
    "                    and save files next to it)\n"
    "  --allow-host NAME also answer requests that name this host (the page is\n"
    "                    reached as http://NAME:PORT/); besides the address\n"
    "                    listened on, localhost when it is a loopback or every\n"
    "                    interface, and this machine's name when it is wider\n"
    "  -h, --help        this text\n"
    "\n"
    "       pytrace_view TRACE.json --export FORMAT -o FILE\n"
    "\n"
    "Writes the trace's calls for other tools instead (docs/exports.md); - is\n"
    "standard output. FORMAT is one of\n"
    "  chrome            Chrome trace events: Perfetto UI, chrome://tracing\n"
    "  speedscope        speedscope's file format (speedscope.app)\n"
    "  collapsed         collapsed stacks with self time in ns: flamegraph.pl,\n"
    "                    inferno, speedscope\n";

ViewOptions parse_view_options(const std::vector<std::string>& args) {
  ViewOptions options;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--no-patterns") {
      options.patterns = false;
    } else if (arg == "--hide-imports") {
      options.hide_imports = true;
    } else if (arg == "--host" || arg.starts_with("--host=")) {
      if (arg == "--host" && i + 1 >= args.size()) throw UsageError("--host needs an address");
      options.host = arg == "--host" ? args[++i] : arg.substr(7);
      if (options.host.empty()) throw UsageError("--host needs an address");
    } else if (arg == "--allow-host" || arg.starts_with("--allow-host=")) {
      if (arg == "--allow-host" && i + 1 >= args.size()) throw UsageError("--allow-host needs a host name");
      std::string name = arg == "--allow-host" ? args[++i] : arg.substr(13);
      if (name.empty() || name.find_first_of(" /:@") != std::string::npos)
        throw UsageError("--allow-host needs a host name (no port, no scheme), not '" + name + "'");
      options.allowed_hosts.push_back(name);
    } else if (arg == "--export" || arg.starts_with("--export=")) {
      if (arg == "--export" && i + 1 >= args.size()) throw UsageError("--export needs a format");
      options.export_format = arg == "--export" ? args[++i] : arg.substr(9);
      if (!parse_export_format(options.export_format))
        throw UsageError("--export takes chrome, speedscope or collapsed, not '" + options.export_format +
                         "'");
    } else if (arg == "-o" || arg == "--output" || arg.starts_with("--output=")) {
      if (arg.find('=') == std::string::npos && i + 1 >= args.size()) throw UsageError(arg + " needs a file");
      options.output = arg.find('=') == std::string::npos ? args[++i] : arg.substr(9);
      if (options.output.empty()) throw UsageError(arg + " needs a file");
    } else if (arg == "-h" || arg == "--help") {
      options.help = true;
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw UsageError("unknown option " + arg);
    } else {
      positional.push_back(arg);
    }
  }
  if (options.help) return options;
  if (positional.empty()) throw UsageError("no trace file given");
  if (positional.size() > 2) throw UsageError("unexpected argument " + positional[2]);
  options.trace = positional[0];
  if (options.export_format.empty() != options.output.empty())
    throw UsageError(options.output.empty() ? "--export needs -o FILE (- for standard output)"
                                            : "-o is for --export FORMAT");
  if (!options.export_format.empty() && positional.size() > 1)
    throw UsageError("--export writes a file; it takes no port");
  if (positional.size() == 2) {
    const std::string& text = positional[1];
    unsigned port = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535)
      throw UsageError("the port is a number from 1 to 65535, not '" + text + "'");
    options.port = static_cast<uint16_t>(port);
  }
  return options;
}

}  // namespace pytrace::viewer
