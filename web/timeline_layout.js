// SPDX-License-Identifier: MIT
// What the timeline draws: per thread a lane, time on x, nesting on y; for
// a view of the trace, the boxes in sight, with calls narrower than a
// pixel merged into one box per pixel. Pure: the timeline paints the
// result on a canvas.

export const LANE_HEADER = 18; // px above a lane's calls: the thread's name
export const BOX_HEIGHT = 18;
export const LANE_GAP = 6;

// Lanes for the shown threads, stacked: {thread, top, height} in px.
export function laneLayout(model, filtered) {
  const lanes = [];
  let top = 0;
  for (let t = 0; t < model.threads.length; t++) {
    const depth = filtered.laneDepth[t];
    if (depth === 0) continue;
    const height = LANE_HEADER + depth * BOX_HEIGHT;
    lanes.push({ thread: t, top, height });
    top += height + LANE_GAP;
  }
  return { lanes, height: Math.max(0, top - LANE_GAP) };
}

// The time the trace spans, in ns from its start.
export function traceSpan(model) {
  let begin = Infinity;
  let end = 0;
  for (let t = 0; t < model.threads.length; t++) {
    const first = model.threadStart[t];
    if (first === model.threadStart[t + 1]) continue;
    begin = Math.min(begin, model.start[first]);
    end = Math.max(end, model.threadEndTime(t));
  }
  if (begin === Infinity) return { begin: 0, end: 1 };
  return { begin, end: Math.max(end, begin + 1) };
}

// A view [t0, t1] zoomed by `factor` (< 1 zooms in) around time `anchor`,
// kept within the trace and no narrower than 100 ns.
export function zoomView(view, factor, anchor, span) {
  const width = Math.min(span.end - span.begin, Math.max(100, (view.t1 - view.t0) * factor));
  const fraction = (anchor - view.t0) / (view.t1 - view.t0);
  return clampView({ t0: anchor - fraction * width, t1: anchor - fraction * width + width }, span);
}

// A view moved by dt ns, kept within the trace.
export function panView(view, dt, span) {
  return clampView({ t0: view.t0 + dt, t1: view.t1 + dt }, span);
}

function clampView(view, span) {
  const width = view.t1 - view.t0;
  let t0 = Math.min(Math.max(view.t0, span.begin), span.end - width);
  t0 = Math.max(t0, span.begin);
  return { t0, t1: Math.min(t0 + width, span.end) };
}

// A view that shows a call whole: the view itself when the call is in it
// and at least 2 px wide; else centred on the call, zoomed so that it is a
// third of the view when it would be narrower than 2 px or wider than the view.
export function viewShowing(view, start, end, span, widthPx) {
  const width = view.t1 - view.t0;
  const pixel = width / Math.max(1, widthPx);
  const wide = end - start >= 2 * pixel;
  if (wide && start >= view.t0 && end <= view.t1) return view;
  const newWidth = wide && (end - start) * 1.2 <= width ? width : Math.max((end - start) * 3, 100);
  const centre = (start + end) / 2;
  return clampView({ t0: centre - newWidth / 2, t1: centre + newWidth / 2 }, span);
}

// The boxes of thread `t` in sight of `view` on a canvas `widthPx` wide:
// appended to `out` ({x0, x1, depth, call, merged} arrays). Calls of the
// thread come in start order, a call's descendants after it; so a subtree
// that ends before the view is skipped whole, the walk stops at the first
// call that starts after it, and a call narrower than a pixel is drawn as
// that pixel with its subtree in it (one box per pixel and depth).
export function visibleBoxes(model, filtered, t, view, widthPx, out) {
  const m = model;
  const { shown, shownDepth, shownIn } = filtered;
  const scale = widthPx / (view.t1 - view.t0);
  const filledTo = new Map(); // depth -> last pixel column drawn merged
  const end = m.threadStart[t + 1];
  for (let i = m.threadStart[t]; i < end; ) {
    const start = m.start[i];
    if (start > view.t1) break;
    const stop = m.endTime(i);
    if (stop < view.t0) {
      i = m.end[i];
      continue;
    }
    if (!shown[i] && shownIn(i + 1, m.end[i]) === 0) {
      i = m.end[i]; // nothing of this subtree is shown
      continue;
    }
    // A hidden call's shown children take its place, at its depth.
    const depth = shownDepth[i];
    const x0 = (start - view.t0) * scale;
    const x1 = (stop - view.t0) * scale;
    if (x1 - x0 < 1) {
      const column = Math.floor(x0);
      if (filledTo.get(depth) !== column) {
        filledTo.set(depth, column);
        let call = i;
        while (!shown[call]) call++; // the first shown call of the subtree
        out.x0.push(column);
        out.x1.push(column + 1);
        out.depth.push(depth);
        out.call.push(call);
        out.merged.push(true);
      }
      i = m.end[i];
      continue;
    }
    if (!shown[i]) {
      i++;
      continue;
    }
    out.x0.push(Math.max(x0, -1));
    out.x1.push(Math.min(x1, widthPx + 1));
    out.depth.push(depth);
    out.call.push(i);
    out.merged.push(false);
    i++;
  }
  return out;
}

export function emptyBoxes() {
  return { x0: [], x1: [], depth: [], call: [], merged: [] };
}

// The call of the box at (x, depth), or -1: the widest box there wins
// over the merged slivers of a pixel.
export function callAt(boxes, x, depth) {
  let found = -1;
  let width = -1;
  for (let k = 0; k < boxes.call.length; k++) {
    if (boxes.depth[k] !== depth || x < boxes.x0[k] || x >= boxes.x1[k]) continue;
    const w = boxes.x1[k] - boxes.x0[k];
    if (w > width) {
      found = boxes.call[k];
      width = w;
    }
  }
  return found;
}
