// SPDX-License-Identifier: MIT
// Which calls the filters let through. The tree, the timeline, the
// functions table, saves and exports all read the same result. Pure.
import { FLAG_IMPORT, FLAG_TEST } from "./format.js";

// The start state: what the server was told (--hide-imports, --no-patterns).
export function initialFilters(options) {
  return {
    imports: !options.hide_imports, // calls made during imports
    patterns: options.patterns, // fold repeats into pattern groups (the tree only)
    thread: -1, // index into the model's threads; -1: all
    hiddenTypes: new Set(), // call types not shown
  };
}

// shown[call]: 1 when the call passes (count of them, tests of them
// test entries); thread: the filter's thread. shownBefore: prefix sums of shown,
// so a group's or a subtree's shown calls are counted in O(1).
// shownDepth[call]: how many shown calls enclose it (where the timeline
// draws it); laneDepth[thread]: one more than the deepest in that thread.
export function applyFilters(model, filters) {
  const m = model;
  const typeHidden = new Uint8Array(m.strings.length);
  for (const type of filters.hiddenTypes) {
    const index = m.strings.indexOf(type);
    if (index >= 0) typeHidden[index] = 1;
  }
  const shown = new Uint8Array(m.n);
  const shownBefore = new Int32Array(m.n + 1);
  const shownDepth = new Int32Array(m.n);
  const laneDepth = new Int32Array(m.threads.length);
  let count = 0;
  let tests = 0;
  for (let i = 0; i < m.n; i++) {
    const show =
      (filters.imports || !(m.flags[i] & FLAG_IMPORT)) &&
      !typeHidden[m.type[i]] &&
      (filters.thread < 0 || m.thread[i] === filters.thread);
    shownBefore[i] = count;
    const p = m.parent[i];
    shownDepth[i] = p < 0 ? 0 : shownDepth[p] + shown[p];
    if (show) {
      shown[i] = 1;
      count++;
      if (m.flags[i] & FLAG_TEST) tests++;
      const t = m.thread[i];
      if (shownDepth[i] + 1 > laneDepth[t]) laneDepth[t] = shownDepth[i] + 1;
    }
  }
  shownBefore[m.n] = count;
  return {
    shown,
    shownBefore,
    shownDepth,
    laneDepth,
    count,
    tests,
    thread: filters.thread,
    shownIn: (begin, end) => shownBefore[end] - shownBefore[begin],
  };
}

// The shown calls as [first, last] ranges of call numbers: a save or an
// export request stays small whatever the trace's size.
export function shownCallRanges(shown) {
  const ranges = [];
  let count = 0;
  for (let i = 0; i < shown.length; i++) {
    if (!shown[i]) continue;
    const last = ranges[ranges.length - 1];
    if (last && last[1] === i - 1) last[1] = i;
    else ranges.push([i, i]);
    count++;
  }
  return { ranges, count };
}

// Calls whose name or qualified name contains the query (any case).
export function callsNamedLike(model, query) {
  const needle = query.toLowerCase();
  const hit = new Uint8Array(model.strings.length);
  model.strings.forEach((s, i) => {
    if (s && s.toLowerCase().includes(needle)) hit[i] = 1;
  });
  const matches = [];
  for (let i = 0; i < model.n; i++) if (hit[model.name[i]] || hit[model.qualname[i]]) matches.push(i);
  return matches;
}
