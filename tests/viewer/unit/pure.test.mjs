// SPDX-License-Identifier: MIT
// The page's pure modules under Node: no browser, no server, no root.
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeModel } from "./fixture.mjs";
import { decodeModel } from "../../../web/model.js";
import { CALL_TYPES, FLAG_IMPORT, FLAG_TEST, FLAG_TEST_FAILED, fmtDuration, fmtTime, shortenMiddle, typeStyle } from "../../../web/format.js";
import { applyFilters, callsNamedLike, initialFilters, shownCallRanges } from "../../../web/filters.js";
import { GROUP_ALL, GROUP_COLLAPSED, GROUP_TEMPLATE, ROW_CALL, ROW_GROUP, ROW_TEMPLATE, ROW_THREAD, Rows } from "../../../web/rows.js";
import { callsOfFunction, functionStats, sortRows, testList } from "../../../web/functions.js";
import { callAt, emptyBoxes, laneLayout, panView, traceSpan, viewShowing, visibleBoxes, zoomView } from "../../../web/timeline_layout.js";

const all = (model) => applyFilters(model, initialFilters(model.json.options));

// main (0-1000) calls fib (100-600) which calls fib (150-400) which calls
// fib (200-300); then main calls load (700-900, an import) which calls
// helper (750-800).
function recursion() {
  return makeModel([
    { name: "main", parent: -1, start: 0, duration: 1000 },
    { name: "fib", parent: 0, start: 100, duration: 500 },
    { name: "fib", parent: 1, start: 150, duration: 250 },
    { name: "fib", parent: 2, start: 200, duration: 100 },
    { name: "load", parent: 0, start: 700, duration: 200, type: "import", flags: FLAG_IMPORT },
    { name: "helper", parent: 4, start: 750, duration: 50 },
  ]);
}

test("the decoder takes the columns as typed arrays and refuses a model cut short", () => {
  const m = recursion();
  assert.equal(m.n, 6);
  assert.ok(m.start instanceof Float64Array && m.parent instanceof Int32Array && m.flags instanceof Uint8Array);
  assert.deepEqual(Array.from(m.end), [6, 4, 4, 4, 6, 6]);
  assert.equal(m.str(m.qualname[4]), "load");
  assert.equal(m.hasTimes, true);
  const header = new TextEncoder().encode(JSON.stringify({ calls: { count: 4, columns: { parent: { type: "i32", offset: 0 } } }, groups: { count: 0, columns: {} } }) + "    ");
  const buffer = new ArrayBuffer(8 + header.length + 8);
  new DataView(buffer).setUint32(0, header.length, true);
  new Uint8Array(buffer, 8).set(header);
  assert.throws(() => decodeModel(buffer, buffer.byteLength), /cut short/);
});

test("names from the trace are text of any kind: non-ASCII, or a JavaScript object's own keys", () => {
  const m = makeModel([
    { name: "grüße", parent: -1, type: "constructor", start: 0, duration: 10 },
    { name: "__proto__", parent: 0, type: "toString", start: 1, duration: 2 },
  ]);
  assert.equal(m.str(m.qualname[0]), "grüße");
  assert.equal(m.str(m.qualname[1]), "__proto__");
  assert.equal(typeStyle(m.str(m.type[0])), CALL_TYPES.unknown);
  assert.equal(typeStyle("toString"), CALL_TYPES.unknown);
  assert.equal(functionStats(m, all(m)).length, 2);
});

test("a call that never returned ends where the next call after it starts, or with its thread", () => {
  const m = makeModel([
    { name: "main", parent: -1, start: 0, duration: 1000 },
    { name: "lost", parent: 0, start: 10, duration: -1 },
    { name: "inner", parent: 1, start: 20, duration: 30 },
    { name: "later", parent: 0, start: 100, duration: 50 },
    { name: "r", parent: -1, start: 2000, duration: -1 },
  ]);
  assert.equal(m.endTime(1), 100, "where later starts");
  assert.equal(m.endTime(4), 2000, "the thread's last start or end");
  const stats = Object.fromEntries(functionStats(m, all(m)).map((r) => [r.qualname, r]));
  assert.equal(stats.lost.self, 90 - 30);
  assert.equal(stats.main.self, 1000 - 90 - 50);
  // The timeline draws later beside lost, not under it.
  const boxes = visibleBoxes(m, all(m), 0, { t0: 0, t1: 1000 }, 1000, emptyBoxes());
  const at = (call) => boxes.call.indexOf(call);
  assert.ok(boxes.x1[at(1)] <= boxes.x0[at(3)]);
});

test("filters: hidden calls' children keep their place one level up, per thread", () => {
  const m = recursion();
  let f = all(m);
  assert.equal(f.count, 6);
  assert.deepEqual(Array.from(f.shownDepth), [0, 1, 2, 3, 1, 2]);
  assert.deepEqual(Array.from(f.laneDepth), [4]);
  f = applyFilters(m, { ...initialFilters({}), imports: false });
  assert.deepEqual(Array.from(f.shown), [1, 1, 1, 1, 0, 1]);
  assert.equal(f.shownDepth[5], 1, "helper takes load's depth");
  assert.equal(f.shownIn(4, 6), 1);
  f = applyFilters(m, { ...initialFilters({}), hiddenTypes: new Set(["function_call"]) });
  assert.deepEqual(Array.from(f.shown), [0, 0, 0, 0, 1, 0]);
  assert.equal(f.shownDepth[4], 0);
  assert.deepEqual(shownCallRanges(applyFilters(m, { ...initialFilters({}), imports: false }).shown), { ranges: [[0, 3], [5, 5]], count: 5 });
  assert.deepEqual(callsNamedLike(m, "FI"), [1, 2, 3]);
});

test("rows: groups with a header and template, period-1 groups as one row with × N, folds, the call index", () => {
  // main calls a() three times in a row (a period-1 group), then (b, c)
  // twice (period 2).
  const m = makeModel(
    [
      { name: "main", parent: -1 },
      { name: "a", parent: 0 },
      { name: "a", parent: 0 },
      { name: "a", parent: 0 },
      { name: "b", parent: 0 },
      { name: "c", parent: 0 },
      { name: "b", parent: 0 },
      { name: "c", parent: 0 },
    ],
    {
      groups: [
        { parent: 0, first: 1, last: 3, template_end: 2, period: 1, repetitions: 3, outer: -1 },
        { parent: 0, first: 4, last: 7, template_end: 6, period: 2, repetitions: 2, outer: -1 },
      ],
    }
  );
  const rows = new Rows(m);
  const state = { filtered: all(m), thread: -1, patterns: true, collapsed: new Uint8Array(m.n), groupMode: new Uint8Array(2).fill(GROUP_TEMPLATE) };
  const listed = () =>
    Array.from({ length: rows.count }, (_, r) => [["call", "group", "template", "thread"][rows.kind[r]], rows.ref[r], rows.level[r], rows.repeat[r]]);
  rows.build(state);
  assert.deepEqual(listed(), [
    ["call", 0, 0, -1],
    ["call", 1, 1, 0], // a × 3: no header
    ["group", 1, 1, -1],
    ["template", 1, 2, -1],
    ["call", 4, 2, -1],
    ["call", 5, 2, -1],
  ]);
  assert.equal(rows.rowOfCall[1], 1);
  assert.equal(rows.rowOfCall[2], -1);
  assert.equal(rows.nextCallRow(1, 1), 4, "the arrow keys skip headers");
  state.groupMode[0] = GROUP_ALL;
  state.groupMode[1] = GROUP_COLLAPSED;
  rows.build(state);
  assert.deepEqual(listed(), [
    ["call", 0, 0, -1],
    ["call", 1, 1, 0],
    ["call", 2, 1, -1],
    ["call", 3, 1, -1],
    ["group", 1, 1, -1],
  ]);
  state.collapsed[0] = 1;
  rows.build(state);
  assert.deepEqual(rows.callIds(), [0]);
  state.collapsed[0] = 0;
  state.patterns = false;
  rows.build(state);
  assert.deepEqual(rows.callIds(), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(rows.kind.slice(0, rows.count).every((k) => k === ROW_CALL), true);
  // A filtered first call: the group falls back to its header.
  state.patterns = true;
  state.groupMode.fill(GROUP_TEMPLATE);
  state.filtered = applyFilters(m, { ...initialFilters({}), hiddenTypes: new Set() });
  state.filtered.shown[1] = 0;
  rows.build(state);
  assert.equal(rows.kind[1], ROW_GROUP);
  assert.equal(rows.kind[2], ROW_TEMPLATE);
});

test("rows: one header per thread when there are several", () => {
  const m = makeModel([
    { name: "a", parent: -1, thread: 1 },
    { name: "b", parent: -1, thread: 2 },
  ]);
  const rows = new Rows(m).build({ filtered: all(m), thread: -1, patterns: true, collapsed: new Uint8Array(2), groupMode: new Uint8Array(0) });
  assert.deepEqual(Array.from(rows.kind.slice(0, rows.count)), [ROW_THREAD, ROW_CALL, ROW_THREAD, ROW_CALL]);
  rows.build({ filtered: applyFilters(m, { ...initialFilters({}), thread: 1 }), thread: 1, patterns: true, collapsed: new Uint8Array(2), groupMode: new Uint8Array(0) });
  assert.deepEqual(rows.callIds(), [1]);
});

test("functions: recursion counts once in total, self excludes shown children, sorted by self", () => {
  const m = recursion();
  const stats = functionStats(m, all(m));
  const byName = Object.fromEntries(stats.map((r) => [r.qualname, r]));
  assert.deepEqual(
    { calls: byName.fib.calls, total: byName.fib.total, self: byName.fib.self, mean: byName.fib.mean, max: byName.fib.max },
    { calls: 3, total: 500, self: 500 - 250 + 250 - 100 + 100, mean: 850 / 3, max: 500 }
  );
  assert.equal(byName.main.self, 1000 - 500 - 200);
  assert.equal(byName.load.self, 150);
  assert.deepEqual(sortRows(stats, "self").map((r) => r.qualname), ["fib", "main", "load", "helper"]);
  assert.deepEqual(sortRows(stats, "qualname", false).map((r) => r.qualname), ["fib", "helper", "load", "main"]);
  // load hidden: helper's time is main's own no more; load has no row.
  const filtered = applyFilters(m, { ...initialFilters({}), imports: false });
  const without = Object.fromEntries(functionStats(m, filtered).map((r) => [r.qualname, r]));
  assert.equal(without.load, undefined);
  assert.equal(without.main.self, 1000 - 500 - 50);
  assert.deepEqual(callsOfFunction(m, filtered, m.functions().functionOf[1]), [1, 2, 3]);
});

test("functions: a call that never returned lasts to its thread's end", () => {
  const m = makeModel([
    { name: "main", parent: -1, start: 0, duration: 1000 },
    { name: "wait", parent: 0, start: 400, duration: -1 },
  ]);
  const wait = functionStats(m, all(m)).find((r) => r.qualname === "wait");
  assert.equal(wait.total, 600);
});

test("functions: one per file and qualified name (a generator resumed at another line too), tests apart", () => {
  const m = makeModel([
    { name: "test_gen", parent: -1, start: 0, duration: 100, type: "test", flags: FLAG_TEST },
    { name: "gen", parent: 0, start: 10, duration: 5, location: "g.py:3" },
    { name: "gen", parent: 0, start: 20, duration: 5, location: "g.py:5" },
    { name: "gen", parent: 0, start: 30, duration: 5, location: "other.py:3" },
  ]);
  const rows = functionStats(m, all(m));
  assert.deepEqual(rows.map((r) => [r.qualname, r.file, r.calls]), [["gen", "g.py", 2], ["gen", "other.py", 1]]);
});

test("tests list: outcome and duration in the order they ran", () => {
  const m = makeModel([
    { name: "test_a", parent: -1, start: 0, duration: 30, type: "test", flags: FLAG_TEST },
    { name: "helper", parent: 0, start: 5, duration: 10 },
    { name: "test_b", parent: -1, start: 40, duration: 20, type: "test", flags: FLAG_TEST | FLAG_TEST_FAILED },
  ]);
  assert.deepEqual(testList(m), [
    { call: 0, name: "test_a", outcome: "passed", duration: 30 },
    { call: 2, name: "test_b", outcome: "failed", duration: 20 },
  ]);
});

test("timeline: boxes in view, sub-pixel calls merged a pixel at a time, subtrees out of view skipped", () => {
  // 1000 calls of 1 ns each under main, 10 ns apart: on 100 px they are
  // sub-pixel, one box per pixel.
  const calls = [{ name: "main", parent: -1, start: 0, duration: 10000 }];
  for (let k = 0; k < 1000; k++) calls.push({ name: "tick", parent: 0, start: k * 10, duration: 1 });
  const m = makeModel(calls);
  const f = all(m);
  const span = traceSpan(m);
  assert.deepEqual(span, { begin: 0, end: 10000 });
  let boxes = visibleBoxes(m, f, 0, { t0: 0, t1: 10000 }, 100, emptyBoxes());
  assert.equal(boxes.call.filter((_, k) => boxes.depth[k] === 1).length, 100);
  assert.ok(boxes.merged.slice(1).every(Boolean));
  assert.equal(boxes.call[0], 0);
  // Zoomed to 10 ticks on 1000 px: each is 100 px wide, none merged.
  boxes = visibleBoxes(m, f, 0, { t0: 5000, t1: 5100 }, 1000, emptyBoxes());
  const ticks = boxes.call.filter((c) => c > 0);
  assert.deepEqual(ticks, [501, 502, 503, 504, 505, 506, 507, 508, 509, 510, 511]);
  assert.equal(boxes.merged.some(Boolean), false);
  assert.equal(callAt(boxes, boxes.x0[2] + 1, 1), boxes.call[2]);
  assert.equal(callAt(boxes, 5, 7), -1);
  assert.deepEqual(laneLayout(m, f).lanes.map((l) => l.thread), [0]);
});

test("timeline: a hidden call's shown children are drawn at its depth", () => {
  const m = recursion();
  const f = applyFilters(m, { ...initialFilters({}), hiddenTypes: new Set(["import"]) });
  const boxes = visibleBoxes(m, f, 0, { t0: 0, t1: 1000 }, 1000, emptyBoxes());
  const helper = boxes.call.indexOf(5);
  assert.equal(boxes.depth[helper], 1);
  assert.equal(boxes.call.includes(4), false);
});

test("timeline: zoom keeps the time under the pointer, pan and zoom stay within the trace", () => {
  const span = { begin: 0, end: 1000 };
  const zoomed = zoomView({ t0: 0, t1: 1000 }, 0.5, 250, span);
  assert.deepEqual(zoomed, { t0: 125, t1: 625 });
  assert.deepEqual(panView(zoomed, 1000, span), { t0: 500, t1: 1000 });
  assert.deepEqual(zoomView(zoomed, 10, 300, span), { t0: 0, t1: 1000 });
  assert.equal(zoomView({ t0: 0, t1: 1000 }, 0.0001, 500, span).t1 - zoomView({ t0: 0, t1: 1000 }, 0.0001, 500, span).t0, 100);
  // A call in view is left as it is; one out of view is centred.
  assert.deepEqual(viewShowing({ t0: 0, t1: 500 }, 100, 200, span, 500), { t0: 0, t1: 500 });
  assert.deepEqual(viewShowing({ t0: 0, t1: 100 }, 800, 820, span, 100), { t0: 760, t1: 860 });
  // One narrower than 2 px: zoomed in to be a third of the view.
  assert.deepEqual(viewShowing({ t0: 0, t1: 1000 }, 500, 505, span, 100), { t0: 452.5, t1: 552.5 });
});

test("format: durations and paths shortened in the middle", () => {
  assert.equal(fmtDuration(1500), "1.5 µs");
  assert.equal(fmtDuration(-1), "running");
  // Axis ticks: as many decimals as their step needs.
  assert.equal(fmtTime(31605000, 5000), "31.605 ms");
  assert.equal(fmtTime(31600000, 100000), "31.6 ms");
  assert.equal(fmtTime(2e9, 5e8), "2.0 s");
  assert.equal(fmtTime(0, 5000), "0 ns");
  assert.equal(fmtTime(1500, 100), "1.5 µs");
  const path = "/usr/lib/python3.15/json/decoder.py:332";
  assert.equal(shortenMiddle(path, 100), path);
  const short = shortenMiddle(path, 24);
  assert.equal(short.length, 24);
  assert.ok(short.startsWith("/usr/lib") && short.endsWith("decoder.py:332") && short.includes("…"), short);
});
