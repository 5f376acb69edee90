// SPDX-License-Identifier: MIT
// The pytrace viewer. It asks the server (pytrace_view) for the trace as
// columns (/api/model), shows the summary and a call tree with pattern
// groups, and fetches a call's own entry when it is clicked.
//
// Only the rows in view exist in the page: the tree is a list of rows
// (calls, group headers, thread headers) rebuilt when a filter or a fold
// changes, and drawn a screenful at a time. Every text from the trace is
// put in with textContent, never parsed as HTML.
"use strict";

const ROW_HEIGHT = 22;
const INDENT = 14;
const MAX_INDENT_LEVELS = 48;
// Browsers cap an element's height (Chrome near 33 million px); beyond this
// the scroll position maps to rows proportionally.
const MAX_SCROLL_PX = 8000000;

const ROW_CALL = 0;
const ROW_GROUP = 1;
const ROW_TEMPLATE = 2;
const ROW_THREAD = 3;

const GROUP_COLLAPSED = 0;
const GROUP_TEMPLATE = 1; // the first repetition, as the original viewer showed it
const GROUP_ALL = 2; // every repetition

// Bits of the model's flags column (CallFlag in viewer/trace_document.h).
const FLAG_EXTERNAL = 1;
const FLAG_IMPORT = 2;
const FLAG_BEFORE_TRACE = 4;
const FLAG_TEST = 8;
const FLAG_TEST_FAILED = 32;
const FLAG_TEST_SKIPPED = 64;

// Symbol, colour and description per call type (the original tool's legend,
// with this tool's `method` and `test`).
const CALL_TYPES = {
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

function typeStyle(type) {
  return CALL_TYPES[type] || CALL_TYPES.unknown;
}

// ---- small helpers --------------------------------------------------------

function $(id) {
  return document.getElementById(id);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

const numberFormat = new Intl.NumberFormat("en-US");
function fmtNum(n) {
  return numberFormat.format(n);
}

function fmtDuration(ns) {
  if (ns < 0) return "running";
  if (ns < 1e3) return ns + " ns";
  if (ns < 1e6) return (ns / 1e3).toFixed(1) + " µs";
  if (ns < 1e9) return (ns / 1e6).toFixed(1) + " ms";
  return (ns / 1e9).toFixed(2) + " s";
}

function titleCase(type) {
  return type
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(" ");
}

function badge(type) {
  const [symbol, colour] = typeStyle(type);
  const node = el("span", "badge", symbol);
  node.style.background = colour;
  node.title = type;
  return node;
}

// ---- the model --------------------------------------------------------------

class Model {
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
    this.duration = c.duration;
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
  }

  str(i) {
    return this.strings[i];
  }
}

// ---- the viewer -------------------------------------------------------------

class Viewer {
  constructor(model) {
    this.m = model;
    const options = model.json.options;
    this.filters = {
      external: true,
      imports: !options.hide_imports,
      patterns: options.patterns,
      thread: -1, // -1: all threads
      hiddenTypes: new Set(),
    };
    this.collapsed = new Uint8Array(model.n); // calls whose children are folded
    this.groupMode = new Uint8Array(model.groupCount).fill(GROUP_TEMPLATE);
    this.selected = -1;
    this.search = { query: "", matches: null, position: -1 };
    this.detailRequest = 0;
    // Rows: kind, what it refers to (call, group or thread), indent level,
    // and the innermost group box it is drawn in (index into boxes).
    const capacity = model.n + 2 * model.groupCount + model.threads.length + 1;
    this.rowKind = new Uint8Array(capacity);
    this.rowRef = new Int32Array(capacity);
    this.rowLevel = new Int32Array(capacity);
    this.rowBox = new Int32Array(capacity);
    this.rowCount = 0;
    this.boxes = []; // {outer, level}: nested group boxes, for the bars on the left
    this.tree = $("tree");
    this.rowsNode = $("tree-rows");
    this.spacer = $("tree-spacer");
    this.drawScheduled = false;
  }

  start() {
    renderSummary(this.m);
    renderLegend();
    this.setUpControls();
    this.applyFilters();
    this.tree.addEventListener("scroll", () => this.scheduleDraw());
    window.addEventListener("resize", () => this.scheduleDraw());
    this.rowsNode.addEventListener("click", (event) => this.onRowClick(event));
    this.tree.addEventListener("keydown", (event) => this.onKey(event));
  }

  // ---- filters ----

  setUpControls() {
    const m = this.m;
    const f = this.filters;
    const bind = (id, key) => {
      const box = $(id);
      box.checked = f[key];
      box.addEventListener("change", () => {
        f[key] = box.checked;
        this.applyFilters();
      });
    };
    bind("show-external", "external");
    bind("show-imports", "imports");
    bind("show-patterns", "patterns");
    $("expand-all").addEventListener("click", () => this.setAllGroups(GROUP_TEMPLATE));
    $("collapse-all").addEventListener("click", () => this.setAllGroups(GROUP_COLLAPSED));

    const typeRow = $("type-filters");
    const counts = m.json.summary.call_types;
    for (const type of m.typesPresent) {
      const label = el("label");
      const box = el("input");
      box.type = "checkbox";
      box.checked = true;
      box.id = "type-" + type;
      box.dataset.type = type;
      box.addEventListener("change", () => {
        if (box.checked) f.hiddenTypes.delete(type);
        else f.hiddenTypes.add(type);
        this.applyFilters();
      });
      const count = type === "test" ? m.json.summary.tests : counts[type] || 0;
      label.append(box, " ", badge(type), " " + titleCase(type) + " (" + fmtNum(count) + ")");
      typeRow.append(label);
    }

    const select = $("thread-select");
    select.append(new Option("all " + m.threads.length + (m.threads.length === 1 ? " thread" : " threads"), "-1"));
    m.threads.forEach((t, i) => {
      select.append(new Option(threadLabel(t), String(i)));
    });
    select.disabled = m.threads.length < 2;
    select.addEventListener("change", () => {
      f.thread = Number(select.value);
      this.applyFilters();
    });

    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.find(+1);
    });
    $("search-prev").addEventListener("click", () => this.find(-1));
    $("search-input").addEventListener("input", () => {
      this.search.matches = null;
      $("search-status").textContent = "";
    });

    $("save-name").value = m.json.trace.suggested_save;
    $("save-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.save(false);
    });
  }

  // Which calls pass the filters (shown), and prefix sums of that, so a
  // group's or a subtree's shown calls are counted in O(1).
  applyFilters() {
    const m = this.m;
    const f = this.filters;
    const typeHidden = new Uint8Array(m.strings.length);
    for (const type of f.hiddenTypes) typeHidden[m.strings.indexOf(type)] = 1;
    this.shown = new Uint8Array(m.n);
    this.shownBefore = new Int32Array(m.n + 1);
    let count = 0;
    for (let i = 0; i < m.n; i++) {
      const flags = m.flags[i];
      const show =
        (f.external || !(flags & FLAG_EXTERNAL)) &&
        (f.imports || !(flags & FLAG_IMPORT)) &&
        !typeHidden[m.type[i]] &&
        (f.thread < 0 || m.thread[i] === f.thread);
      this.shownBefore[i] = count;
      if (show) {
        this.shown[i] = 1;
        count++;
      }
    }
    this.shownBefore[m.n] = count;
    $("shown-count").textContent =
      "Showing " + fmtNum(count) + " of " + fmtNum(m.n) + " calls. Saving writes exactly these calls.";
    this.search.matches = null;
    this.search.matchSet = null;
    this.rebuild();
  }

  shownIn(begin, end) {
    return this.shownBefore[end] - this.shownBefore[begin];
  }

  setAllGroups(mode) {
    this.groupMode.fill(mode);
    this.rebuild();
  }

  // ---- rows ----

  pushRow(kind, ref, level, box) {
    const r = this.rowCount++;
    this.rowKind[r] = kind;
    this.rowRef[r] = ref;
    this.rowLevel[r] = level;
    this.rowBox[r] = box;
  }

  // Walks the calls in document order, skipping folded subtrees and
  // collapsed groups, without recursion (traces can be thousands deep).
  // A call hidden by a filter gives no row; its children take its place.
  rebuild() {
    const m = this.m;
    const f = this.filters;
    this.rowCount = 0;
    this.boxes = [];
    const threads = f.thread < 0 ? m.threads.map((_, i) => i) : [f.thread];
    for (const t of threads) {
      const begin = m.threadStart[t];
      const end = m.threadStart[t + 1];
      if (this.shownIn(begin, end) === 0) continue;
      if (m.threads.length > 1) this.pushRow(ROW_THREAD, t, 0, -1);
      this.walk(begin, end);
    }
    this.layout();
  }

  walk(begin, end) {
    const m = this.m;
    const patterns = this.filters.patterns;
    // Frames: a run of sibling subtrees [pos, end) drawn at `level`, inside
    // group box `box`; `group` is the group whose body starts at `start`.
    const stack = [{ start: begin, pos: begin, end, level: 0, box: -1, group: -1 }];
    while (stack.length) {
      const frame = stack[stack.length - 1];
      if (frame.pos >= frame.end) {
        stack.pop();
        continue;
      }
      const pos = frame.pos;
      const starting = patterns ? m.groupsAt.get(pos) : undefined;
      if (starting) {
        // The next group starting here that this frame is not already the body of.
        const k = pos === frame.start && frame.group >= 0 ? starting.indexOf(frame.group) + 1 : 0;
        if (k < starting.length) {
          const g = starting[k];
          frame.pos = m.gLast[g] + 1;
          if (this.shownIn(m.gFirst[g], m.gLast[g] + 1) === 0) continue;
          this.pushRow(ROW_GROUP, g, frame.level, frame.box);
          const mode = this.groupMode[g];
          if (mode === GROUP_COLLAPSED) continue;
          const box = this.boxes.length;
          this.boxes.push({ outer: frame.box, level: frame.level });
          this.pushRow(ROW_TEMPLATE, g, frame.level + 1, box);
          const bodyEnd = mode === GROUP_ALL ? m.gLast[g] + 1 : m.gTemplateEnd[g];
          stack.push({ start: pos, pos, end: bodyEnd, level: frame.level + 1, box, group: g });
          continue;
        }
      }
      const subtreeEnd = m.end[pos];
      frame.pos = subtreeEnd;
      let childLevel = frame.level;
      if (this.shown[pos]) {
        this.pushRow(ROW_CALL, pos, frame.level, frame.box);
        if (this.collapsed[pos]) continue;
        childLevel = frame.level + 1;
      }
      if (subtreeEnd > pos + 1 && this.shownIn(pos + 1, subtreeEnd) > 0) {
        stack.push({ start: pos + 1, pos: pos + 1, end: subtreeEnd, level: childLevel, box: frame.box, group: -1 });
      }
    }
  }

  rowOfCall(call) {
    for (let r = 0; r < this.rowCount; r++) {
      if (this.rowKind[r] === ROW_CALL && this.rowRef[r] === call) return r;
    }
    return -1;
  }

  // ---- drawing ----

  scaled() {
    return this.rowCount * ROW_HEIGHT > MAX_SCROLL_PX;
  }

  layout() {
    this.spacer.style.height = Math.min(this.rowCount * ROW_HEIGHT, MAX_SCROLL_PX) + "px";
    this.draw();
  }

  scheduleDraw() {
    if (this.drawScheduled) return;
    this.drawScheduled = true;
    requestAnimationFrame(() => {
      this.drawScheduled = false;
      this.draw();
    });
  }

  visibleRows() {
    return Math.ceil(this.tree.clientHeight / ROW_HEIGHT) + 1;
  }

  firstRow() {
    if (!this.scaled()) return Math.floor(this.tree.scrollTop / ROW_HEIGHT);
    const maxScroll = MAX_SCROLL_PX - this.tree.clientHeight;
    const fraction = maxScroll > 0 ? Math.min(1, this.tree.scrollTop / maxScroll) : 0;
    return Math.floor(fraction * Math.max(0, this.rowCount - this.visibleRows() + 1));
  }

  scrollToRow(r) {
    const centre = Math.max(0, r - Math.floor(this.visibleRows() / 2));
    if (!this.scaled()) {
      this.tree.scrollTop = centre * ROW_HEIGHT;
    } else {
      const maxScroll = MAX_SCROLL_PX - this.tree.clientHeight;
      this.tree.scrollTop = (centre / Math.max(1, this.rowCount - this.visibleRows() + 1)) * maxScroll;
    }
    this.draw();
  }

  draw() {
    const first = this.firstRow();
    const last = Math.min(this.rowCount, first + this.visibleRows());
    const top = this.scaled() ? this.tree.scrollTop : first * ROW_HEIGHT;
    this.rowsNode.style.transform = "translateY(" + top + "px)";
    const nodes = [];
    for (let r = first; r < last; r++) nodes.push(this.rowNode(r));
    this.rowsNode.replaceChildren(...nodes);
  }

  rowNode(r) {
    const kind = this.rowKind[r];
    const ref = this.rowRef[r];
    const level = this.rowLevel[r];
    let node;
    if (kind === ROW_CALL) node = this.callRow(ref, level);
    else if (kind === ROW_GROUP) node = this.groupHeaderRow(ref);
    else if (kind === ROW_TEMPLATE) node = this.groupTemplateRow(ref);
    else node = el("div", "row thread-header", "── thread " + threadLabel(this.m.threads[ref]) + " ──");
    node.style.paddingLeft = indentPx(level) + (kind === ROW_THREAD ? 8 : 0) + "px";
    // A bar on the left for every group box the row is in.
    for (let b = this.rowBox[r]; b >= 0; b = this.boxes[b].outer) {
      const bar = el("span", "gbar");
      bar.style.left = indentPx(this.boxes[b].level) + 3 + "px";
      node.prepend(bar);
      node.classList.add("in-group");
    }
    return node;
  }

  callRow(call, level) {
    const m = this.m;
    const flags = m.flags[call];
    const type = m.str(m.type[call]);
    const node = el("div", "row call");
    node.dataset.call = call;
    node.dataset.callType = type;
    if (flags & FLAG_EXTERNAL) node.classList.add("external");
    if (flags & FLAG_IMPORT) node.classList.add("import");
    if (call === this.selected) node.classList.add("selected");
    if (this.search.matchSet && this.search.matchSet.has(call)) node.classList.add("match");
    const hasChildren = m.end[call] > call + 1 && this.shownIn(call + 1, m.end[call]) > 0;
    node.append(el("span", "twisty", hasChildren ? (this.collapsed[call] ? "▸" : "▾") : ""));
    node.append(el("span", "depth", "d:" + m.depth[call]), " ", badge(type));
    node.append(el("span", "num", "#" + (m.id ? m.id[call] : call)));
    node.append(el("span", "name", m.str(m.qualname[call])));
    if (m.imports[call]) node.append(el("span", "flag", "import " + m.str(m.imports[call])));
    if (flags & FLAG_TEST) {
      const outcome = flags & FLAG_TEST_FAILED ? "failed" : flags & FLAG_TEST_SKIPPED ? "skipped" : "passed";
      node.append(el("span", "flag" + (outcome === "failed" ? " failed" : ""), outcome));
    }
    node.append(el("span", "loc", m.str(m.location[call])));
    node.append(el("span", "dur", fmtDuration(m.duration[call])));
    if (flags & FLAG_BEFORE_TRACE) node.append(el("span", "flag", "started before the trace"));
    const site = m.str(m.site[call]);
    if (site) node.append(el("span", "site", "← " + site));
    return node;
  }

  groupHeaderRow(g) {
    const m = this.m;
    const first = m.gFirst[g];
    const last = m.gLast[g];
    const mode = this.groupMode[g];
    const node = el("div", "row group-header");
    node.dataset.group = g;
    node.append(el("span", "twisty", mode === GROUP_COLLAPSED ? "▶" : "▼"));
    node.append(
      "🔄 " +
        (m.gOuter[g] >= 0 ? "Nested Pattern" : "Repeating Pattern") +
        ": " +
        m.gRepetitions[g] +
        "x repetitions of " +
        m.gPeriod[g] +
        (m.gPeriod[g] === 1 ? " call" : " calls") +
        " (depth: " +
        m.depth[first] +
        ") (calls #" +
        first +
        "-#" +
        last +
        ", total: " +
        fmtNum(last - first + 1) +
        " calls)"
    );
    return node;
  }

  groupTemplateRow(g) {
    const m = this.m;
    const all = this.groupMode[g] === GROUP_ALL;
    const node = el(
      "div",
      "row group-template",
      all
        ? "📋 All " + m.gRepetitions[g] + " repetitions:"
        : "📋 Pattern template (repeated " + m.gRepetitions[g] + " times):"
    );
    node.dataset.group = g;
    const button = el("button", "show-all", all ? "show the template only" : "show all " + m.gRepetitions[g] + " repetitions");
    button.type = "button";
    node.append(button);
    return node;
  }

  // ---- interaction ----

  onRowClick(event) {
    const row = event.target.closest(".row");
    if (!row) return;
    if (row.dataset.group !== undefined) {
      const g = Number(row.dataset.group);
      if (row.classList.contains("group-header")) {
        this.groupMode[g] = this.groupMode[g] === GROUP_COLLAPSED ? GROUP_TEMPLATE : GROUP_COLLAPSED;
        this.rebuild();
      } else if (event.target.closest(".show-all")) {
        this.groupMode[g] = this.groupMode[g] === GROUP_ALL ? GROUP_TEMPLATE : GROUP_ALL;
        this.rebuild();
      }
      return;
    }
    if (row.dataset.call === undefined) return;
    const call = Number(row.dataset.call);
    if (event.target.classList.contains("twisty") && event.target.textContent) {
      this.collapsed[call] ^= 1;
      this.rebuild();
      return;
    }
    this.select(call);
  }

  onKey(event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    event.preventDefault();
    const step = event.key === "ArrowDown" ? 1 : -1;
    let r = this.selected >= 0 ? this.rowOfCall(this.selected) : -1;
    for (r += step; r >= 0 && r < this.rowCount; r += step) {
      if (this.rowKind[r] === ROW_CALL) {
        this.select(this.rowRef[r]);
        if (r < this.firstRow() || r >= this.firstRow() + this.visibleRows() - 1) this.scrollToRow(r);
        return;
      }
    }
  }

  select(call) {
    this.selected = call;
    this.draw();
    this.showDetail(call);
  }

  async showDetail(call) {
    const request = ++this.detailRequest;
    const panel = $("detail");
    const m = this.m;
    const heading = el("h3");
    heading.append(badge(m.str(m.type[call])), " " + m.str(m.qualname[call]) + "  #" + (m.id ? m.id[call] : call));
    const loading = el("p", "hint", "Loading…");
    panel.replaceChildren(heading, loading);
    let entry;
    try {
      const response = await fetch("api/entry/" + call);
      if (!response.ok) throw new Error((await response.json()).error || response.statusText);
      entry = await response.json();
    } catch (error) {
      if (request === this.detailRequest) loading.textContent = "Could not load the call: " + error.message;
      return;
    }
    if (request !== this.detailRequest) return; // another call was clicked meanwhile
    const table = el("table");
    table.id = "detail-fields";
    const addRow = (key, value, human) => {
      const tr = el("tr");
      tr.dataset.key = key;
      const td = el("td");
      td.append(el("span", "value", value));
      if (human) td.append(el("span", "human", human));
      tr.append(el("th", "", key), td);
      table.append(tr);
    };
    for (const [key, value] of Object.entries(entry)) {
      if (key === "executed_lines") continue; // listed below the table
      const human = key.endsWith("_ns") && typeof value === "number" ? fmtDuration(value) : null;
      addRow(key, typeof value === "string" ? value : JSON.stringify(value), human);
    }
    const descendants = m.end[call] - call - 1;
    addRow("(descendants)", fmtNum(descendants) + (descendants === 1 ? " call" : " calls") + " below this one");
    loading.replaceWith(table);
    if (entry.executed_lines) panel.append(executedLinesList(entry.executed_lines));
  }

  // ---- search ----

  // Calls whose name or qualified name contains the query (any case).
  matchesFor(query) {
    const m = this.m;
    const needle = query.toLowerCase();
    const hit = new Uint8Array(m.strings.length);
    m.strings.forEach((s, i) => {
      if (s && s.toLowerCase().includes(needle)) hit[i] = 1;
    });
    const matches = [];
    for (let i = 0; i < m.n; i++) {
      if (hit[m.name[i]] || hit[m.qualname[i]]) matches.push(i);
    }
    return matches;
  }

  find(step) {
    const query = $("search-input").value.trim();
    const status = $("search-status");
    status.className = "";
    if (!query) {
      status.textContent = "Type a function name.";
      return;
    }
    const s = this.search;
    if (!s.matches || s.query !== query) {
      const all = this.matchesFor(query);
      s.query = query;
      s.matches = all.filter((call) => this.shown[call]);
      s.hidden = all.length - s.matches.length;
      s.matchSet = new Set(s.matches);
      s.position = -1;
    }
    const hiddenNote = s.hidden ? " (" + fmtNum(s.hidden) + " more hidden by the filters)" : "";
    if (s.matches.length === 0) {
      status.textContent = "No call named like “" + query + "”" + hiddenNote + ".";
      status.className = "failed";
      this.draw();
      return;
    }
    // The next match after the selected call, or from the start.
    const from = this.selected;
    let position;
    if (s.position >= 0 && s.matches[s.position] === from) {
      position = (s.position + step + s.matches.length) % s.matches.length;
    } else if (step > 0) {
      position = s.matches.findIndex((call) => call > from);
      if (position < 0) position = 0;
    } else {
      position = s.matches.length - 1;
      while (position >= 0 && s.matches[position] >= from && from >= 0) position--;
      if (position < 0) position = s.matches.length - 1;
    }
    s.position = position;
    status.textContent = "Match " + fmtNum(position + 1) + " of " + fmtNum(s.matches.length) + hiddenNote + ".";
    status.className = "ok";
    this.reveal(s.matches[position]);
  }

  // Unfolds what hides a call (folded ancestors, collapsed groups, a later
  // repetition of a group), scrolls to it and selects it.
  reveal(call) {
    const m = this.m;
    for (let a = m.parent[call]; a >= 0; a = m.parent[a]) this.collapsed[a] = 0;
    if (this.filters.patterns) {
      for (let g = 0; g < m.groupCount; g++) {
        if (m.gFirst[g] > call) break; // sorted by first call
        if (call > m.gLast[g]) continue;
        if (call >= m.gTemplateEnd[g]) this.groupMode[g] = GROUP_ALL;
        else if (this.groupMode[g] === GROUP_COLLAPSED) this.groupMode[g] = GROUP_TEMPLATE;
      }
    }
    this.rebuild();
    const r = this.rowOfCall(call);
    if (r >= 0) this.scrollToRow(r);
    this.select(call);
  }

  // ---- save ----

  // The calls the filters let through, as [first, last] ranges of ids:
  // a request stays small whatever the trace's size.
  shownCallRanges() {
    const ranges = [];
    let count = 0;
    for (let i = 0; i < this.m.n; i++) {
      if (!this.shown[i]) continue;
      const last = ranges[ranges.length - 1];
      if (last && last[1] === i - 1) last[1] = i;
      else ranges.push([i, i]);
      count++;
    }
    return { ranges, count };
  }

  rowCallIds() {
    const ids = [];
    for (let r = 0; r < this.rowCount; r++) if (this.rowKind[r] === ROW_CALL) ids.push(this.rowRef[r]);
    return ids;
  }

  async save(overwrite) {
    const status = $("save-status");
    const button = $("save-button");
    const filename = $("save-name").value.trim();
    status.className = "";
    if (!filename) {
      status.textContent = "Give a file name.";
      status.className = "failed";
      return;
    }
    const f = this.filters;
    const callTypes = {};
    for (const type of this.m.typesPresent) callTypes[type] = !f.hiddenTypes.has(type);
    const shown = this.shownCallRanges();
    const body = {
      filename,
      overwrite,
      ranges: shown.ranges,
      filters: {
        show_external: f.external,
        show_imports: f.imports,
        call_types: callTypes,
        thread_id: f.thread < 0 ? null : this.m.threads[f.thread].thread_id,
      },
    };
    button.disabled = true;
    status.textContent = "Saving " + fmtNum(shown.count) + " calls…";
    try {
      const response = await fetch("api/save", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await response.json();
      if (response.status === 409 && answer.exists && !overwrite) {
        button.disabled = false;
        if (window.confirm(answer.error + ". Overwrite it?")) return this.save(true);
        status.textContent = "Not saved: " + answer.error + ".";
        status.className = "failed";
        return;
      }
      if (!response.ok) throw new Error(answer.error || response.statusText);
      status.textContent =
        "✓ Saved " + fmtNum(answer.calls) + " of " + fmtNum(answer.of) + " calls to " + answer.path;
      status.className = "ok";
    } catch (error) {
      status.textContent = "✗ Not saved: " + error.message;
      status.className = "failed";
    } finally {
      button.disabled = false;
    }
  }
}

function indentPx(level) {
  return Math.min(level, MAX_INDENT_LEVELS) * INDENT;
}

function threadLabel(t) {
  return (
    String(t.thread_id) + (t.name ? " (" + t.name + ")" : "") + ", pid " + t.pid + ", " + fmtNum(t.calls) + " calls"
  );
}

// ---- summary and legend -------------------------------------------------------

function renderSummary(m) {
  const meta = m.json.metadata || {};
  const s = m.json.summary;
  $("trace-name").textContent = m.json.trace.name;
  document.title = m.json.trace.name + " · pytrace viewer";

  const dl = $("summary-meta");
  const item = (label, value, key) => {
    if (value === undefined || value === null || value === "") return;
    const dt = el("dt", "", label);
    const dd = el("dd", "", value);
    dd.dataset.meta = key;
    dl.append(dt, dd);
  };
  item("💻 Command", meta.original_command, "original_command");
  item("📁 Scope", meta.scope_path, "scope_path");
  item("📄 Main file", meta.main_file, "main_file");
  item("🕐 Timestamp", meta.timestamp, "timestamp");
  if (meta.python) item("🐍 Python", meta.python.version + " (" + meta.python.executable + ")", "python");
  if (typeof meta.duration_ns === "number") item("⏱️ Duration", fmtDuration(meta.duration_ns), "duration");
  if (meta.exit_code !== undefined && meta.exit_code !== null)
    item("🚪 Exit code", String(meta.exit_code) + (meta.signal ? " (" + meta.signal + ")" : ""), "exit_code");
  if (meta.attached) item("📎 Attached", "to running process " + meta.pid + ", ended: " + meta.end_reason, "attached");
  if (meta.filtered)
    item(
      "🔎 Filtered",
      fmtNum(meta.filtered_total_calls) + " of " + fmtNum(meta.original_total_calls) + " calls of " +
        (meta.filtered_from || "another trace") + ", " + meta.filter_applied_at,
      "filtered"
    );
  item("🗂️ Trace file", m.json.trace.path, "trace_path");

  const figures = [
    ["calls", "Total function calls", s.calls],
    ["internal", "Internal calls", s.internal],
    ["external", "External calls", s.external],
    ["imports", "Calls during imports", s.imports],
    ["non_imports", "Other calls", s.calls - s.imports],
    ["unique_functions", "Unique functions", s.unique_functions],
    ["unique_locations", "Unique locations", s.unique_locations],
    ["threads", "Threads", m.threads.length],
    ["groups", "Pattern groups", m.groupCount],
  ];
  if (s.tests) {
    figures.push(["tests", "Tests", s.tests], ["tests_failed", "Failed tests", s.tests_failed]);
    figures.push(["tests_skipped", "Skipped tests", s.tests_skipped]);
  }
  if (m.json.trace.executed_lines > 0) figures.push(["executed_lines", "Executed lines", m.json.trace.executed_lines]);
  figures.push(["lost", "Lost or unmatched events", s.lost]);
  const table = $("summary-figures");
  for (const [key, label, value] of figures) {
    const tr = el("tr");
    tr.dataset.figure = key;
    tr.append(el("td", "", label), el("td", "", fmtNum(value)));
    table.append(tr);
  }

  const types = Object.entries(s.call_types).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const list = $("summary-types");
  for (const [type, count] of types) {
    const li = el("li");
    li.dataset.type = type;
    const pct = s.calls ? ((100 * count) / s.calls).toFixed(1) : "0.0";
    li.append(badge(type), " " + type + ": " + fmtNum(count) + " (" + pct + "%)");
    list.append(li);
  }

  const loss = $("summary-loss");
  const nonZero = (keys) =>
    Object.entries(meta.loss || {})
      .filter(([key, value]) => keys.includes(key) && value > 0)
      .map(([key, value]) => key + " " + fmtNum(value))
      .join(", ");
  if (s.lost > 0) {
    const counters = nonZero(["ring_buffer_drops", "lost_records", "malformed_records", "unknown_code",
      "unmatched_returns", "closed_without_return"]);
    loss.textContent = "⚠ " + fmtNum(s.lost) + " events were lost or could not be matched: " + counters + ".";
    loss.className = "lost";
  } else {
    loss.textContent = "✓ No events were lost.";
    loss.className = "complete";
  }
  if (s.unread_frames > 0)
    loss.textContent += " " + fmtNum(s.unread_frames) + " probe hits could not read their frame (" +
      nonZero(["thread_state_misses", "frame_mismatches"]) + "); their calls were matched by name.";
  if (s.open_at_end > 0) loss.textContent += " " + fmtNum(s.open_at_end) + " calls were still running at the end.";
  if (m.json.trace.executed_lines > 0)
    loss.textContent += " Executed lines are listed in the panel of the call that ran them.";
  else if (m.json.trace.skipped_entries > 0)
    loss.textContent += " " + fmtNum(m.json.trace.skipped_entries) + " entries that are not calls are not shown.";
  if (m.json.trace.stack)
    loss.textContent += " This is the stack trace_where saved at " + meta.breakpoint + " (hit " + meta.iterations +
      "), outermost call first.";
}

// The lines a call's frame ran (--track-executed-lines), in order: each
// group's line numbers, context and the first line's code.
function executedLinesList(groups) {
  const section = el("div");
  section.id = "detail-lines";
  const count = groups.reduce((n, group) => n + group.lines.length, 0);
  section.append(el("h4", "", "Executed lines (" + fmtNum(count) + ")"));
  const list = el("ol");
  for (const group of groups) {
    const li = el("li");
    li.append(el("span", "lines", group.lines.join(", ")), " ", el("span", "hint", group.context), " ");
    li.append(el("code", "", group.code));
    list.append(li);
  }
  section.append(list);
  return section;
}

function renderLegend() {
  const items = $("legend-items");
  for (const [type, [, , description]] of Object.entries(CALL_TYPES)) {
    const div = el("div");
    div.append(badge(type), " " + type + " — " + description);
    items.append(div);
  }
}

// ---- loading ------------------------------------------------------------------

// Reads the model with progress: it can be hundreds of megabytes. Its
// layout is in viewer/view_model.h: a JSON header, then columns of numbers
// taken as typed arrays over the bytes received.
async function fetchModel() {
  const response = await fetch("api/model");
  if (!response.ok) throw new Error("the server answered " + response.status + " " + response.statusText);
  // The announced length lets the bytes go straight into one buffer; it
  // grows when there is none (a proxy that re-chunks) or it was short.
  const total = Number(response.headers.get("Content-Length")) || 0;
  const progress = $("load-progress");
  const text = $("load-text");
  if (total) progress.max = total;
  let bytes = new Uint8Array(total || 1 << 20);
  const reader = response.body.getReader();
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (received + value.length > bytes.length) {
      const bigger = new Uint8Array(Math.max(2 * bytes.length, received + value.length));
      bigger.set(bytes.subarray(0, received));
      bytes = bigger;
    }
    bytes.set(value, received);
    received += value.length;
    if (total) progress.value = Math.min(received, total);
    text.textContent = "Loading the trace… " + (received / 1048576).toFixed(1) +
      (total ? " of " + (total / 1048576).toFixed(1) : "") + " MiB";
  }
  return decodeModel(bytes.buffer, received);
}

// The model's `size` bytes at the start of `buffer` as the page's Model takes them.
function decodeModel(buffer, size) {
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

async function main() {
  let model;
  try {
    model = new Model(await fetchModel());
  } catch (error) {
    $("loading").hidden = true;
    const box = $("load-error");
    box.textContent = "Could not load the trace: " + error.message;
    box.hidden = false;
    return;
  }
  $("loading").hidden = true;
  for (const id of ["summary", "legend", "controls", "tree-area"]) $(id).hidden = false;
  const viewer = new Viewer(model);
  viewer.start();
  // For the browser tests and the console: what the tree shows.
  window.pytraceViewer = viewer;
  document.body.dataset.ready = "true";
}

main();
