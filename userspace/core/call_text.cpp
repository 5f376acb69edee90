// SPDX-License-Identifier: MIT
#include "core/call_text.h"

#include <algorithm>

namespace pytrace {
namespace {

constexpr size_t kMaxText = 150;
constexpr int kMaxLines = 10;

// Net bracket depth of a line, skipping string literals and comments.
int bracket_balance(std::string_view line) {
  int depth = 0;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote) {
      if (c == '\\')
        ++i;
      else if (c == quote)
        quote = 0;
      continue;
    }
    if (c == '#') break;
    if (c == '\'' || c == '"')
      quote = c;
    else if (c == '(' || c == '[' || c == '{')
      ++depth;
    else if (c == ')' || c == ']' || c == '}')
      --depth;
  }
  return depth;
}

std::string basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string call_source_text(const CallSite& site, SourceCache& sources) {
  const std::string& file = site.code->filename;
  if (file.find("<frozen") != std::string::npos) return "<frozen module call>";
  if (!file.empty() && file.front() == '<') return "<built-in or generated code>";

  std::string text;
  int depth = 0;
  int last = std::min(std::max(site.end_line, site.line), site.line + kMaxLines - 1);
  for (int n = site.line; n <= last; ++n) {
    auto line = sources.line(file, n);
    if (!line) break;
    std::string_view stripped = strip(*line);
    if (!text.empty() && !stripped.empty()) text += ' ';
    text += stripped;
    depth += bracket_balance(stripped);
    if (depth <= 0) break;
  }
  if (text.empty()) {
    return "<source unavailable: " + basename(file) + ":" + std::to_string(site.line) + ">";
  }
  if (text.size() > kMaxText) {
    size_t cut = kMaxText - 3;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
    text = text.substr(0, cut) + "...";
  }
  return text;
}

}  // namespace pytrace
