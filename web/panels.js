// SPDX-License-Identifier: MIT
// The panels around the tree: the summary, the legend, a call's detail,
// the functions table and the tests list.
import { $, el, badge } from "./dom.js";
import { CALL_TYPES, fmtDuration, fmtNum } from "./format.js";
import { sortRows } from "./functions.js";

// One line of what matters (the command, how long, how many calls, whether
// anything was lost); the rest under "Details".
export function renderSummary(m) {
  const meta = m.json.metadata || {};
  const s = m.json.summary;
  $("trace-name").textContent = m.json.trace.name;
  document.title = m.json.trace.name + " · pytrace viewer";

  const line = $("summary-line");
  const part = (text, key) => {
    const span = el("span", "", text);
    span.dataset.part = key;
    line.append(span);
  };
  if (meta.original_command) part("💻 " + meta.original_command, "command");
  if (typeof meta.duration_ns === "number") part("⏱️ " + fmtDuration(meta.duration_ns), "duration");
  part(fmtNum(s.calls) + " calls", "calls");
  if (s.tests) part(fmtNum(s.tests) + " tests, " + fmtNum(s.tests_failed) + " failed", "tests");
  part(fmtNum(m.threads.length) + (m.threads.length === 1 ? " thread" : " threads"), "threads");

  const dl = $("summary-meta");
  const item = (label, value, key) => {
    if (value === undefined || value === null || value === "") return;
    const dd = el("dd", "", value);
    dd.dataset.meta = key;
    dl.append(el("dt", "", label), dd);
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

  // Each figure once, under the name the filters use: a call type's count
  // is in the breakdown (and next to its checkbox), the calls made during
  // imports next to theirs.
  const figures = [
    ["calls", "Function calls", s.calls],
    ["imports", "Calls during imports", s.imports],
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
  renderLoss(m, meta, s);
}

function renderLoss(m, meta, s) {
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

export function renderLegend() {
  const items = $("legend-items");
  for (const [type, [, , description]] of Object.entries(CALL_TYPES)) {
    const div = el("div");
    div.append(badge(type), " " + type + " — " + description);
    items.append(div);
  }
}

// A call's own entry, fetched from the server; the latest click wins.
export class DetailPanel {
  constructor(model) {
    this.m = model;
    this.node = $("detail");
    this.request = 0;
  }

  clear() {
    this.request++;
    this.node.replaceChildren(el("p", "hint", "Click a call to see its fields."));
  }

  async show(call) {
    const request = ++this.request;
    const m = this.m;
    const heading = el("h3");
    heading.append(badge(m.str(m.type[call])), " " + m.str(m.qualname[call]) + "  #" + m.idOf(call));
    const loading = el("p", "hint", "Loading…");
    this.node.replaceChildren(heading, loading);
    let entry;
    try {
      const response = await fetch("api/entry/" + call);
      if (!response.ok) throw new Error((await response.json()).error || response.statusText);
      entry = await response.json();
    } catch (error) {
      if (request === this.request) loading.textContent = "Could not load the call: " + error.message;
      return;
    }
    if (request !== this.request) return; // another call was clicked meanwhile
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
    if (entry.executed_lines) this.node.append(executedLinesList(entry.executed_lines));
  }
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

// A table of rows sorted by a clicked column header; `columns` are
// [key, heading, format(row) -> text]; a click on a row calls onPick(row).
export class SortableTable {
  constructor(table, columns, sortKey, onPick, limit = 1000) {
    this.table = table;
    this.columns = columns;
    this.sortKey = sortKey;
    this.descending = true;
    this.onPick = onPick;
    this.limit = limit;
    this.rows = [];
    table.addEventListener("click", (event) => {
      const th = event.target.closest("th[data-sort]");
      if (th) {
        const key = th.dataset.sort;
        this.descending = key === this.sortKey ? !this.descending : typeof this.rows[0]?.[key] !== "string";
        this.sortKey = key;
        this.render();
        return;
      }
      const tr = event.target.closest("tr[data-index]");
      if (tr) {
        for (const selected of table.querySelectorAll("tr.selected")) selected.classList.remove("selected");
        tr.classList.add("selected");
        this.onPick(this.sorted[Number(tr.dataset.index)]);
      }
    });
  }

  setRows(rows) {
    this.rows = rows;
    this.render();
  }

  render() {
    this.sorted = sortRows(this.rows, this.sortKey, this.descending);
    const head = el("tr");
    for (const [key, heading] of this.columns) {
      const th = el("th", "", heading + (key === this.sortKey ? (this.descending ? " ▾" : " ▴") : ""));
      th.dataset.sort = key;
      head.append(th);
    }
    const body = [];
    this.sorted.slice(0, this.limit).forEach((row, index) => {
      const tr = el("tr");
      tr.dataset.index = index;
      for (const [key, , format] of this.columns) {
        const td = el("td", "", format(row));
        td.dataset.column = key;
        tr.append(td);
      }
      body.push(tr);
    });
    const thead = el("thead");
    thead.append(head);
    const tbody = el("tbody");
    tbody.append(...body);
    this.table.replaceChildren(thead, tbody);
    const more = this.sorted.length - this.limit;
    this.table.dataset.more = more > 0 ? String(more) : "";
  }
}
