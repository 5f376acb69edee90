// SPDX-License-Identifier: MIT
// Models for the pure modules' tests, made as the server makes them: the
// binary layout of viewer/view_model.h, decoded by the page's own decoder.
import { Model, decodeModel } from "../../../web/model.js";

// calls: [{name, parent (index or -1), start, duration, type, thread, flags, location}]
// in document order (a call's descendants right after it). groups: [{first,
// last, template_end, period, repetitions, outer, parent}].
export function makeModel(calls, { groups = [], threads = null, options = {}, summary = {} } = {}) {
  const strings = [""];
  const intern = (s) => {
    let i = strings.indexOf(s);
    if (i < 0) i = strings.push(s) - 1;
    return i;
  };
  const n = calls.length;
  const depth = calls.map(() => 0);
  const end = calls.map((_, i) => i + 1);
  calls.forEach((c, i) => {
    if (c.parent >= 0) depth[i] = depth[c.parent] + 1;
    for (let a = c.parent; a >= 0; a = calls[a].parent) end[a] = i + 1;
  });
  const threadIds = [...new Set(calls.map((c) => c.thread ?? 0))];
  const columns = {
    parent: ["i32", calls.map((c) => c.parent)],
    depth: ["i32", depth],
    end: ["i32", end],
    thread: ["i32", calls.map((c) => threadIds.indexOf(c.thread ?? 0))],
    name: ["i32", calls.map((c) => intern(c.name))],
    qualname: ["i32", calls.map((c) => intern(c.name))],
    location: ["i32", calls.map((c) => intern(c.location ?? "app.py:" + c.name.length))],
    type: ["i32", calls.map((c) => intern(c.type ?? "function_call"))],
    site: ["i32", calls.map(() => 0)],
    imports: ["i32", calls.map(() => 0)],
    start: ["f64", calls.map((c) => c.start ?? -1)],
    duration: ["f64", calls.map((c) => c.duration ?? -1)],
    flags: ["u8", calls.map((c) => c.flags ?? 0)],
  };
  const groupColumns = {};
  for (const key of ["parent", "first", "last", "template_end", "period", "repetitions", "outer"])
    groupColumns[key] = ["i32", groups.map((g) => g[key] ?? -1)];
  const header = {
    trace: { name: "t.json" },
    options: { patterns: true, hide_imports: false, ...options },
    summary: { calls: n, imports: 0, call_types: {}, ...summary },
    strings,
    threads: threads ?? threadIds.map((id) => ({ thread_id: id, pid: 1, calls: calls.filter((c) => (c.thread ?? 0) === id).length })),
    calls: { count: n, columns: {} },
    groups: { count: groups.length, columns: {} },
  };
  const sizes = { i32: 4, f64: 8, u8: 1 };
  const pieces = [];
  let offset = 0;
  for (const [table, cols, count] of [["calls", columns, n], ["groups", groupColumns, groups.length]]) {
    for (const [name, [type, values]] of Object.entries(cols)) {
      header[table].columns[name] = { type, offset };
      pieces.push({ offset, type, values });
      offset += Math.ceil((sizes[type] * count) / 8) * 8;
    }
  }
  const text = new TextEncoder().encode(JSON.stringify(header));
  // Padded with spaces to a multiple of 8 bytes, as the server pads it.
  const headerBytes = new Uint8Array(Math.ceil(text.length / 8) * 8).fill(0x20);
  headerBytes.set(text);
  const buffer = new ArrayBuffer(8 + headerBytes.length + offset);
  new DataView(buffer).setUint32(0, headerBytes.length, true);
  new Uint8Array(buffer, 8, headerBytes.length).set(headerBytes);
  const arrays = { i32: Int32Array, f64: Float64Array, u8: Uint8Array };
  for (const piece of pieces)
    new arrays[piece.type](buffer, 8 + headerBytes.length + piece.offset, piece.values.length).set(piece.values);
  return new Model(decodeModel(buffer, buffer.byteLength));
}
