// SPDX-License-Identifier: MIT
#include "core/load_log.h"

#include <vector>

namespace pytrace {
namespace {

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

// "libbpf: prog 'NAME': REST" -> NAME, with REST in `rest`.
std::string_view program_of(std::string_view line, std::string_view& rest) {
  constexpr std::string_view kPrefix = "libbpf: prog '";
  if (!line.starts_with(kPrefix)) return {};
  line.remove_prefix(kPrefix.size());
  size_t quote = line.find("': ");
  if (quote == std::string_view::npos) return {};
  rest = line.substr(quote + 3);
  return line.substr(0, quote);
}

// The verifier ends its log with statistics; the line before them says why.
bool is_statistics(std::string_view line) {
  return line.empty() || line.starts_with("processed ") || line.starts_with("verification time") ||
         line.starts_with("stack depth");
}

}  // namespace

LoadFailure find_load_failure(std::string_view libbpf_output) {
  std::vector<std::string_view> lines = lines_of(libbpf_output);
  LoadFailure failure;
  for (size_t i = 0; i < lines.size() && failure.program.empty(); ++i) {
    std::string_view rest;
    std::string_view program = program_of(lines[i], rest);
    if (!program.empty() && rest.starts_with("BPF program load failed")) failure.program = program;
  }
  if (failure.program.empty()) return failure;

  // Its log: from "prog 'NAME': -- BEGIN PROG LOAD LOG --" to "-- END PROG LOAD LOG --".
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view rest;
    if (program_of(lines[i], rest) != failure.program || rest != "-- BEGIN PROG LOAD LOG --") continue;
    std::string_view reason;
    for (size_t j = i + 1; j < lines.size() && lines[j] != "-- END PROG LOAD LOG --"; ++j) {
      if (!is_statistics(lines[j])) reason = lines[j];
    }
    failure.reason = reason;
    break;
  }
  return failure;
}

}  // namespace pytrace
