// SPDX-License-Identifier: MIT
// The tree as a list of rows (calls, group headers, thread headers), made
// again when a filter or a fold changes, and an index from each call to
// its row. Pure: the tree view draws a screenful of these at a time.

export const ROW_CALL = 0;
export const ROW_GROUP = 1;
export const ROW_TEMPLATE = 2;
export const ROW_THREAD = 3;

export const GROUP_COLLAPSED = 0;
export const GROUP_TEMPLATE = 1; // the first repetition, as the original viewer showed it
export const GROUP_ALL = 2; // every repetition

export class Rows {
  constructor(model) {
    const capacity = model.n + 2 * model.groupCount + model.threads.length + 1;
    this.m = model;
    this.kind = new Uint8Array(capacity);
    this.ref = new Int32Array(capacity); // the call, group or thread
    this.level = new Int32Array(capacity); // indent
    this.box = new Int32Array(capacity); // innermost group box drawn around it, into boxes
    this.repeat = new Int32Array(capacity); // a call row's period-1 group ("× N"), or -1
    this.rowOfCall = new Int32Array(model.n);
    this.count = 0;
    this.boxes = []; // {outer, level}: nested group boxes, for the bars on the left
  }

  push(kind, ref, level, box, repeat = -1) {
    const r = this.count++;
    this.kind[r] = kind;
    this.ref[r] = ref;
    this.level[r] = level;
    this.box[r] = box;
    this.repeat[r] = repeat;
    if (kind === ROW_CALL) this.rowOfCall[ref] = r;
  }

  // state: {filtered (applyFilters' result), thread, patterns, collapsed
  // (Uint8Array by call: children folded), groupMode (Uint8Array by group)}.
  build(state) {
    const m = this.m;
    this.count = 0;
    this.boxes = [];
    this.rowOfCall.fill(-1);
    const threads = state.thread < 0 ? m.threads.map((_, i) => i) : [state.thread];
    for (const t of threads) {
      const begin = m.threadStart[t];
      const end = m.threadStart[t + 1];
      if (state.filtered.shownIn(begin, end) === 0) continue;
      if (m.threads.length > 1) this.push(ROW_THREAD, t, 0, -1);
      this.walk(begin, end, state);
    }
    return this;
  }

  // Walks the calls in document order, skipping folded subtrees and
  // collapsed groups, without recursion (traces can be thousands deep).
  // A call hidden by a filter gives no row; its children take its place.
  // A group that repeats one call is that call's row with "× N", as the
  // console draws it; shown whole, its repetitions follow.
  walk(begin, end, state) {
    const m = this.m;
    const { shown, shownIn } = state.filtered;
    // Frames: a run of sibling subtrees [pos, end) drawn at `level`, inside
    // group box `box`; `group` is the group whose body starts at `start`.
    const stack = [{ start: begin, pos: begin, end, level: 0, box: -1, group: -1 }];
    let repeat = -1; // a period-1 group whose first call is the next row
    while (stack.length) {
      const frame = stack[stack.length - 1];
      if (frame.pos >= frame.end) {
        stack.pop();
        continue;
      }
      const pos = frame.pos;
      const starting = state.patterns ? m.groupsAt.get(pos) : undefined;
      if (starting) {
        // The next group starting here that this frame is not already the body of.
        const k = pos === frame.start && frame.group >= 0 ? starting.indexOf(frame.group) + 1 : 0;
        if (k < starting.length) {
          const g = starting[k];
          frame.pos = m.gLast[g] + 1;
          if (shownIn(m.gFirst[g], m.gLast[g] + 1) === 0) continue;
          const mode = state.groupMode[g];
          const bodyEnd = mode === GROUP_ALL ? m.gLast[g] + 1 : m.gTemplateEnd[g];
          if (m.gPeriod[g] === 1 && shown[pos]) {
            repeat = g;
            stack.push({ start: pos, pos, end: bodyEnd, level: frame.level, box: frame.box, group: g });
            continue;
          }
          this.push(ROW_GROUP, g, frame.level, frame.box);
          if (mode === GROUP_COLLAPSED) continue;
          const box = this.boxes.length;
          this.boxes.push({ outer: frame.box, level: frame.level });
          this.push(ROW_TEMPLATE, g, frame.level + 1, box);
          stack.push({ start: pos, pos, end: bodyEnd, level: frame.level + 1, box, group: g });
          continue;
        }
      }
      const subtreeEnd = m.end[pos];
      frame.pos = subtreeEnd;
      let childLevel = frame.level;
      if (shown[pos]) {
        this.push(ROW_CALL, pos, frame.level, frame.box, repeat >= 0 && m.gFirst[repeat] === pos ? repeat : -1);
        repeat = -1;
        if (state.collapsed[pos]) continue;
        childLevel = frame.level + 1;
      }
      if (subtreeEnd > pos + 1 && shownIn(pos + 1, subtreeEnd) > 0) {
        stack.push({ start: pos + 1, pos: pos + 1, end: subtreeEnd, level: childLevel, box: frame.box, group: -1 });
      }
    }
  }

  callIds() {
    const ids = [];
    for (let r = 0; r < this.count; r++) if (this.kind[r] === ROW_CALL) ids.push(this.ref[r]);
    return ids;
  }

  // The next or previous call row from row r (step +1 or -1), or -1.
  nextCallRow(r, step) {
    for (r += step; r >= 0 && r < this.count; r += step) if (this.kind[r] === ROW_CALL) return r;
    return -1;
  }
}
