// SPDX-License-Identifier: MIT
// Numbers, durations and names as the page writes them; the call types'
// symbols and colours. Pure: used by the page and by the Node unit tests.

// Bits of the model's flags column (CallFlag in viewer/trace_document.h).
export const FLAG_EXTERNAL = 1;
export const FLAG_IMPORT = 2;
export const FLAG_BEFORE_TRACE = 4;
export const FLAG_TEST = 8;
export const FLAG_NO_DURATION = 16;
export const FLAG_TEST_FAILED = 32;
export const FLAG_TEST_SKIPPED = 64;

// Symbol, colour and description per call type (the original tool's legend,
// with this tool's `method` and `test`).
export const CALL_TYPES = {
  function_call: ["🔧", "#28a745", "Regular function calls within scope"],
  method: ["⚙️", "#17a2b8", "Method calls on objects"],
  class_method: ["🏗️", "#6f42c1", "Class method calls"],
  class_instantiation: ["🏭", "#fd7e14", "Class __init__ methods"],
  class_declaration: ["🎨", "#e83e8c", "Class definitions (class bodies)"],
  special_method: ["✨", "#6c757d", "Dunder methods (__str__, __repr__, …)"],
  callable_object: ["📞", "#20c997", "__call__ method invocations"],
  lambda_function: ["λ", "#c2255c", "Anonymous lambda functions"],
  module_execution: ["📦", "#b08800", "The traced script's module body"],
  import: ["📥", "#dc3545", "Module bodies run by an import"],
  external_call: ["🔗", "#6e7781", "Calls into code outside the scope"],
  comprehension: ["🔄", "#495057", "List/dict/set comprehensions, generator expressions"],
  test: ["🧪", "#8250df", "A pytest test: its setup, call and teardown"],
  unknown: ["❓", "#6c757d", "Unclassified call type"],
};

export function typeStyle(type) {
  return Object.hasOwn(CALL_TYPES, type) ? CALL_TYPES[type] : CALL_TYPES.unknown;
}

// A test entry's outcome, from its flags.
export function testOutcome(flags) {
  return flags & FLAG_TEST_FAILED ? "failed" : flags & FLAG_TEST_SKIPPED ? "skipped" : "passed";
}

const numberFormat = new Intl.NumberFormat("en-US");
export function fmtNum(n) {
  return numberFormat.format(n);
}

// Nanoseconds for a reader; a negative duration is a call that never returned.
export function fmtDuration(ns) {
  if (ns < 0) return "running";
  if (ns < 1e3) return ns + " ns";
  if (ns < 1e6) return (ns / 1e3).toFixed(1) + " µs";
  if (ns < 1e9) return (ns / 1e6).toFixed(1) + " ms";
  return (ns / 1e9).toFixed(2) + " s";
}

// A point in time (ns) on an axis whose ticks are `step` ns apart: in the
// unit of its size, with as many decimals as the step needs.
export function fmtTime(ns, step) {
  const units = [
    [1e9, "s"],
    [1e6, "ms"],
    [1e3, "µs"],
    [1, "ns"],
  ];
  const [size, name] = units.find(([size]) => Math.abs(ns) >= size) || units[units.length - 1];
  const decimals = Math.min(6, Math.max(0, Math.ceil(-Math.log10(step / size) - 1e-9)));
  return (ns / size).toFixed(decimals) + " " + name;
}

export function titleCase(type) {
  return type
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(" ");
}

// A long text cut in the middle, so that both ends stay readable:
// "/usr/lib/python3.15/…/json/decoder.py:332".
export function shortenMiddle(text, max) {
  if (text.length <= max) return text;
  const tail = Math.ceil((max - 1) * 0.6);
  return text.slice(0, max - 1 - tail) + "…" + text.slice(text.length - tail);
}

// A thread as the tree's and the timeline's headers name it.
export function threadLabel(t) {
  return (
    String(t.thread_id) + (t.name ? " (" + t.name + ")" : "") + ", pid " + t.pid + ", " + fmtNum(t.calls) +
    (t.calls === 1 ? " call" : " calls")
  );
}

// A size in bytes for a reader: "824 bytes", "3.2 MiB".
export function fmtBytes(bytes) {
  if (bytes < 1024) return bytes + (bytes === 1 ? " byte" : " bytes");
  if (bytes < 1048576) return (bytes / 1024).toFixed(1) + " KiB";
  return (bytes / 1048576).toFixed(1) + " MiB";
}
