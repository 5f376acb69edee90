// SPDX-License-Identifier: MIT
// The trace as the server sends it (/api/model, viewer/view_model.h): a
// JSON header, then columns of numbers taken as typed arrays over the
// bytes received. Pure.

// The model's `size` bytes at the start of `buffer` as Model takes them.
export function decodeModel(buffer, size) {
  const headerLength = new DataView(buffer).getUint32(0, true);
  const json = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, headerLength)));
  const columnsStart = 8 + headerLength;
  const arrayTypes = { i32: Int32Array, f64: Float64Array, u8: Uint8Array };
  for (const table of [json.calls, json.groups]) {
    for (const [name, column] of Object.entries(table.columns)) {
      const type = arrayTypes[column.type];
      const offset = columnsStart + column.offset;
      if (offset + type.BYTES_PER_ELEMENT * table.count > size) throw new Error("the trace's model was cut short");
      table[name] = new type(buffer, offset, table.count);
    }
    delete table.columns;
  }
  return json;
}

// The file part of a location ("app.py:12" -> "app.py").
export function fileOf(location) {
  return location.replace(/:\d+$/, "");
}

// One array per column, indexed by call (document order: a call's
// descendants follow it, up to end[call]) or by pattern group.
export class Model {
  constructor(json) {
    this.json = json;
    this.strings = json.strings;
    const c = json.calls;
    this.n = c.count;
    this.parent = c.parent;
    this.depth = c.depth;
    this.end = c.end;
    this.thread = c.thread;
    this.name = c.name;
    this.qualname = c.qualname;
    this.location = c.location;
    this.type = c.type;
    this.site = c.site;
    this.imports = c.imports;
    this.start = c.start; // ns from the trace's start; -1 where the document has none
    this.duration = c.duration; // ns; -1: never returned
    this.flags = c.flags;
    // The id in the document, where it is not the call's number (executed lines among the calls).
    this.id = c.id || null;
    const g = json.groups;
    this.groupCount = g.count;
    this.gParent = g.parent;
    this.gFirst = g.first;
    this.gLast = g.last;
    this.gTemplateEnd = g.template_end;
    this.gPeriod = g.period;
    this.gRepetitions = g.repetitions;
    this.gOuter = g.outer;
    json.calls = json.groups = null; // held as the typed arrays above
    // Groups starting at each call, outermost first (the server sorts them so).
    this.groupsAt = new Map();
    for (let i = 0; i < this.groupCount; i++) {
      const first = this.gFirst[i];
      const list = this.groupsAt.get(first);
      if (list) list.push(i);
      else this.groupsAt.set(first, [i]);
    }
    this.threads = json.threads;
    // Where each thread's calls start (the document keeps a thread's calls together).
    this.threadStart = new Int32Array(this.threads.length + 1);
    for (let t = 0, at = 0; t < this.threads.length; t++) {
      this.threadStart[t] = at;
      at += this.threads[t].calls;
      this.threadStart[t + 1] = at;
    }
    this.typesPresent = Array.from(new Set(this.type), (i) => this.strings[i]).sort();
    this.hasTimes = this.n > 0 && this.start.every((t) => t >= 0);
    this._functions = null;
  }

  str(i) {
    return this.strings[i];
  }

  // The number a reader knows a call by: its id in the document.
  idOf(call) {
    return this.id ? this.id[call] : call;
  }

  // Where a call ends, in ns from the trace's start. A call that never
  // returned ends where the next call of its thread after its subtree
  // starts (the tracer closed it there), or with its thread's last call;
  // as the exports end it.
  endTime(call) {
    const d = this.duration[call];
    if (d >= 0) return this.start[call] + d;
    const next = this.end[call];
    return next < this.n && this.thread[next] === this.thread[call]
      ? this.start[next]
      : this.threadEndTime(this.thread[call]);
  }

  threadEndTime(t) {
    if (!this._threadEnd) {
      this._threadEnd = new Float64Array(this.threads.length);
      for (let i = 0; i < this.n; i++) {
        const end = this.start[i] + Math.max(0, this.duration[i]);
        if (end > this._threadEnd[this.thread[i]]) this._threadEnd[this.thread[i]] = end;
      }
    }
    return this._threadEnd[t];
  }

  // Functions: a number per call for its (file, qualified name), as the
  // summary counts them (a generator resumed at another line is the same
  // function), and one call of each function to name it by.
  functions() {
    if (!this._functions) {
      const functionOf = new Int32Array(this.n);
      const ids = new Map();
      const example = [];
      const width = this.strings.length;
      const fileOfLocation = new Map(); // location's string -> file's number
      const files = new Map(); // file -> its number
      for (let i = 0; i < this.n; i++) {
        let file = fileOfLocation.get(this.location[i]);
        if (file === undefined) {
          const name = fileOf(this.strings[this.location[i]]);
          file = files.get(name);
          if (file === undefined) files.set(name, (file = files.size));
          fileOfLocation.set(this.location[i], file);
        }
        const key = file * width + this.qualname[i];
        let f = ids.get(key);
        if (f === undefined) {
          f = example.length;
          ids.set(key, f);
          example.push(i);
        }
        functionOf[i] = f;
      }
      this._functions = { functionOf, example };
    }
    return this._functions;
  }
}
