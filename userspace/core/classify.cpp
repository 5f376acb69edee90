// SPDX-License-Identifier: MIT
#include "core/classify.h"

#include <string>

namespace pytrace {
namespace {

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// importlib's frozen bootstrap, or a path with a directory whose name starts
// with "importlib" (importlib/, importlib_metadata/).
bool is_importlib_file(std::string_view file) {
  if (starts_with(file, "<frozen importlib.")) return true;
  size_t pos = 0;
  while ((pos = file.find("/importlib", pos)) != std::string_view::npos) {
    pos += 1;
    if (file.find('/', pos) != std::string_view::npos) return true;
  }
  return false;
}

// Defined directly in a class body: the qualified name's second-to-last
// part is a class name rather than "<locals>" (a function's locals).
bool defined_in_class(const CodeInfo& code) {
  std::string_view q = code.qualname;
  size_t last_dot = q.rfind('.');
  if (last_dot == std::string_view::npos) return false;
  std::string_view owner = q.substr(0, last_dot);
  size_t owner_dot = owner.rfind('.');
  std::string_view owner_last = owner_dot == std::string_view::npos ? owner : owner.substr(owner_dot + 1);
  return owner_last != "<locals>";
}

enum class Decorated { kNone, kClassMethod, kStaticMethod };

// co_firstlineno of a decorated function is its first decorator's line, so
// the decorators are the lines from there to the def.
Decorated method_decorator(const CodeInfo& code, SourceCache& sources) {
  constexpr int kMaxDecoratorLines = 40;
  for (int n = code.first_lineno; n > 0 && n < code.first_lineno + kMaxDecoratorLines; ++n) {
    auto raw = sources.line(code.filename, n);
    if (!raw) break;
    std::string_view text = strip(*raw);
    if (starts_with(text, "def ") || starts_with(text, "async def ")) break;
    if (!starts_with(text, "@")) continue;  // a continuation of a decorator's arguments
    std::string_view name = strip(text.substr(1));
    name = name.substr(0, name.find_first_of("( \t#"));
    if (name == "classmethod" || name == "builtins.classmethod") return Decorated::kClassMethod;
    if (name == "staticmethod" || name == "builtins.staticmethod") return Decorated::kStaticMethod;
  }
  return Decorated::kNone;
}

}  // namespace

bool is_hidden_dunder(std::string_view name) {
  return name.size() > 4 && starts_with(name, "__") && name.substr(name.size() - 2) == "__" &&
         name != "__init__" && name != "__call__";
}

bool is_comprehension(std::string_view name) {
  return name == "<genexpr>" || name == "<listcomp>" || name == "<dictcomp>" || name == "<setcomp>";
}

std::string_view line_context(const CodeInfo& code, std::string_view source) {
  size_t start = source.find_first_not_of(" \t");
  std::string_view text = start == std::string_view::npos ? std::string_view{} : source.substr(start);
  // A comment, or a line that is a string literal (a docstring): prefixes
  // r, b, u, f (any case, any order), then a quote.
  size_t quote = text.find_first_not_of("rRbBuUfF");
  if (text.starts_with('#') ||
      (quote != std::string_view::npos && quote <= 2 && (text[quote] == '"' || text[quote] == '\''))) {
    return "comment";
  }
  if (code.name == "<module>") {
    for (std::string_view keyword : {"def ", "async def ", "class ", "@"})
      if (text.starts_with(keyword)) return "definition";
    for (std::string_view keyword : {"import ", "from "})
      if (text.starts_with(keyword)) return "import";
    if (text.starts_with("try:") || text.starts_with("finally:") || text.starts_with("else:") ||
        (text.starts_with("except") && text.ends_with(':'))) {
      return "control";
    }
    return "module_runtime";
  }
  return is_class_body(code) ? "class_body" : "function_runtime";
}

bool is_class_body(const CodeInfo& code) {
  return code.flags_known && !code.flags.function && code.name != "<module>";
}

CallType classify_call(const CallFacts& facts, SourceCache& sources) {
  const CodeInfo& code = facts.code;
  const std::string_view name = code.name;

  if (name == "<module>") {
    return facts.is_main_module ? CallType::kModuleExecution : CallType::kImport;
  }
  if (is_importlib_file(code.filename) || contains(facts.caller_file, "<frozen importlib._bootstrap")) {
    return CallType::kImport;
  }
  if (is_class_body(code)) return CallType::kClassDeclaration;
  if (name == "__init__") return CallType::kClassInstantiation;
  if (name == "__call__") return CallType::kCallableObject;
  if (is_hidden_dunder(name)) return CallType::kSpecialMethod;
  if (name == "<lambda>") return CallType::kLambdaFunction;
  if (is_comprehension(name)) return CallType::kComprehension;
  if (facts.is_external) return CallType::kExternalCall;
  if (defined_in_class(code)) {
    switch (method_decorator(code, sources)) {
      case Decorated::kClassMethod:
        return CallType::kClassMethod;
      case Decorated::kStaticMethod:
        return CallType::kFunctionCall;
      case Decorated::kNone:
        return CallType::kMethod;
    }
  }
  return CallType::kFunctionCall;
}

bool counts_calls(CallType type) {
  switch (type) {
    case CallType::kFunctionCall:
    case CallType::kMethod:
    case CallType::kClassMethod:
    case CallType::kClassInstantiation:
    case CallType::kSpecialMethod:
    case CallType::kCallableObject:
    case CallType::kLambdaFunction:
    case CallType::kExternalCall:
      return true;
    default:
      return false;
  }
}

}  // namespace pytrace
