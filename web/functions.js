// SPDX-License-Identifier: MIT
// Where time went: per function (its file and qualified name) the shown
// calls, their total and self time, mean and longest; and the tests of a
// trace_pytest trace (which have a list of their own). Pure.
import { FLAG_TEST, testOutcome } from "./format.js";
import { fileOf } from "./model.js";

// A call's duration; one that never returned lasts until the model says it ended.
function durationOf(model, call) {
  const d = model.duration[call];
  if (d >= 0) return d;
  return model.hasTimes ? model.endTime(call) - model.start[call] : 0;
}

// One row per function with shown calls:
//   calls  how many
//   total  time inside the function: a recursive call's time counts once,
//          in its outermost call
//   self   time in the function's own code: the calls' durations less
//          those of the shown calls they made
//   mean   a call's mean duration; max the longest call
// `calls` of each row lists its calls in document order.
export function functionStats(model, filtered) {
  const m = model;
  const { functionOf, example } = m.functions();
  const count = example.length;
  const calls = new Int32Array(count);
  const total = new Float64Array(count);
  const self = new Float64Array(count);
  const sum = new Float64Array(count);
  const max = new Float64Array(count);
  const open = new Int32Array(count); // calls of the function open at this point of the walk
  const stack = []; // shown calls enclosing the current one
  const { shown } = filtered;
  for (let i = 0; i < m.n; i++) {
    while (stack.length && i >= m.end[stack[stack.length - 1]]) open[functionOf[stack.pop()]]--;
    if (!shown[i] || m.flags[i] & FLAG_TEST) continue;
    const f = functionOf[i];
    const d = durationOf(m, i);
    calls[f]++;
    sum[f] += d;
    if (d > max[f]) max[f] = d;
    self[f] += d;
    if (stack.length) self[functionOf[stack[stack.length - 1]]] -= d;
    if (open[f] === 0) total[f] += d;
    open[f]++;
    stack.push(i);
  }
  const rows = [];
  for (let f = 0; f < count; f++) {
    if (!calls[f]) continue;
    const call = example[f];
    rows.push({
      function: f,
      qualname: m.str(m.qualname[call]),
      location: m.str(m.location[call]), // its first call's
      file: fileOf(m.str(m.location[call])),
      calls: calls[f],
      total: total[f],
      self: Math.max(0, self[f]),
      mean: sum[f] / calls[f],
      max: max[f],
    });
  }
  return rows;
}

// The shown calls of function f, in document order.
export function callsOfFunction(model, filtered, f) {
  const { functionOf } = model.functions();
  const found = [];
  for (let i = 0; i < model.n; i++) if (functionOf[i] === f && filtered.shown[i]) found.push(i);
  return found;
}

// Rows sorted by a column, ties kept in their order.
export function sortRows(rows, key, descending = true) {
  const sign = descending ? -1 : 1;
  const compare = (a, b) => (typeof a[key] === "string" ? a[key].localeCompare(b[key]) : a[key] - b[key]);
  return rows.slice().sort((a, b) => sign * compare(a, b));
}

// The tests of a trace_pytest trace, in the order they ran.
export function testList(model) {
  const tests = [];
  for (let i = 0; i < model.n; i++) {
    const flags = model.flags[i];
    if (!(flags & FLAG_TEST)) continue;
    tests.push({
      call: i,
      name: model.str(model.qualname[i]),
      outcome: testOutcome(flags),
      duration: model.duration[i],
    });
  }
  return tests;
}
