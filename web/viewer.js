// SPDX-License-Identifier: MIT
// The pytrace viewer. It asks the server (pytrace_view) for the trace as
// columns (/api/model) and shows it as a call tree with pattern groups, a
// timeline, a functions table and, for pytest traces, a tests list; they
// share the filters and the selected call. A call's own entry is fetched
// when it is selected.
//
// model.js      the columns          filters.js     which calls are shown
// rows.js       the tree's rows      functions.js   time per function, tests
// timeline_layout.js  the timeline's boxes          (these are pure)
// tree.js, timeline.js, panels.js: what is drawn; this file ties them.
import { $, el, badge } from "./dom.js";
import { fmtBytes, fmtDuration, fmtNum, shortenMiddle, threadLabel, titleCase } from "./format.js";
import { applyFilters, callsNamedLike, initialFilters, shownCallRanges } from "./filters.js";
import { callsOfFunction, functionStats, testList } from "./functions.js";
import { Model, decodeModel } from "./model.js";
import { DetailPanel, SortableTable, renderLegend, renderSummary } from "./panels.js";
import { GROUP_ALL, GROUP_COLLAPSED, GROUP_TEMPLATE, Rows } from "./rows.js";
import { Timeline } from "./timeline.js";
import { TreeView } from "./tree.js";

class Viewer {
  constructor(model) {
    this.m = model;
    this.filters = initialFilters(model.json.options);
    this.collapsed = new Uint8Array(model.n); // calls whose children are folded
    this.groupMode = new Uint8Array(model.groupCount).fill(GROUP_TEMPLATE);
    this.selected = -1;
    // The calls found (by name, or as a function's calls) and the one at hand.
    this.search = { query: "", label: "", matches: null, matchSet: null, position: -1, hidden: 0 };
    this.rows = new Rows(model);
    this.tree = new TreeView(this);
    this.timeline = new Timeline(this);
    this.detail = new DetailPanel(model);
    this.view = "tree";
  }

  start() {
    renderSummary(this.m);
    renderLegend();
    this.setUpControls();
    this.setUpTabs();
    this.applyFilters();
  }

  // ---- filters and folds ----

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
    bind("show-imports", "imports");
    bind("show-patterns", "patterns");
    $("imports-count").textContent = "(" + fmtNum(m.json.summary.imports) + ")";
    $("expand-all").addEventListener("click", () => this.setAllGroups(GROUP_TEMPLATE, true));
    $("collapse-all").addEventListener("click", () => this.setAllGroups(GROUP_COLLAPSED, false));

    const typeRow = $("type-filters");
    const counts = m.json.summary.call_types;
    for (const type of m.typesPresent) {
      const label = el("label");
      const box = el("input");
      box.type = "checkbox";
      box.checked = true;
      box.id = "type-" + type;
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
    m.threads.forEach((t, i) => select.append(new Option(threadLabel(t), String(i))));
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
    for (const button of document.querySelectorAll("button[data-export]"))
      button.addEventListener("click", () => this.export(button.dataset.export));
  }

  // After a filter changed: everything that shows calls shows the new
  // set; the selected call stays in view, or is let go when it is hidden.
  applyFilters() {
    const m = this.m;
    const threadChanged = this.filtered && this.filtered.thread !== this.filters.thread;
    this.filtered = applyFilters(m, this.filters);
    const f = this.filtered;
    const tests = m.json.summary.tests || 0;
    $("shown-count").textContent =
      "Showing " + fmtNum(f.count - f.tests) + " of " + fmtNum(m.n - tests) + " calls" +
      (tests ? " and " + fmtNum(f.tests) + " of " + fmtNum(tests) + " tests" : "") +
      ". Saving and exporting write exactly these.";
    $("collapse-all").disabled = !this.filters.patterns || m.groupCount === 0;
    this.clearSearch();
    $("search-status").textContent = "";
    if (this.selected >= 0 && !f.shown[this.selected]) {
      this.selected = -1;
      this.detail.clear();
    }
    this.rebuild();
    this.timeline.setFiltered();
    if (threadChanged) this.timeline.showAll();
    if (this.selected >= 0) {
      const r = this.rows.rowOfCall[this.selected];
      if (r >= 0) this.tree.scrollToRow(r);
      this.timeline.showCall(this.selected);
    } else if (threadChanged) {
      this.tree.scrollToTop(0);
    }
    this.functionsStale = true;
    if (this.view === "functions") this.showFunctions();
  }

  rebuild() {
    this.rows.build({
      filtered: this.filtered,
      thread: this.filters.thread,
      patterns: this.filters.patterns,
      collapsed: this.collapsed,
      groupMode: this.groupMode,
    });
    this.tree.layout();
  }

  setGroupMode(g, mode) {
    this.groupMode[g] = mode;
    this.rebuild();
  }

  // Expanding shows every call again (folds too); collapsing folds groups only.
  setAllGroups(mode, unfold) {
    this.groupMode.fill(mode);
    if (unfold) this.collapsed.fill(0);
    this.rebuild();
  }

  toggleFold(call) {
    this.collapsed[call] ^= 1;
    this.rebuild();
  }

  // ---- the selected call ----

  // Selects a call everywhere: the tree's row, the timeline's box, the
  // panel. Picked on the timeline, its row comes into view, unfolded.
  select(call, from) {
    this.selected = call;
    if (from === "timeline") {
      const r = this.rows.rowOfCall[call];
      if (r < 0) return this.reveal(call);
      this.tree.keepInView(r);
    }
    this.tree.draw();
    this.timeline.showCall(call);
    this.detail.show(call);
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
    const r = this.rows.rowOfCall[call];
    if (r >= 0) this.tree.scrollToRow(r);
    this.select(call, "reveal");
  }

  // ---- search ----

  clearSearch() {
    Object.assign(this.search, { query: "", label: "", matches: null, matchSet: null, position: -1, hidden: 0 });
  }

  // Highlights these calls (the shown ones) and steps through them with
  // Next and Previous.
  setMatches(all, query, label) {
    const s = this.search;
    s.query = query;
    s.label = label;
    s.matches = all.filter((call) => this.filtered.shown[call]);
    s.hidden = all.length - s.matches.length;
    s.matchSet = new Set(s.matches);
    s.position = -1;
  }

  find(step) {
    const query = $("search-input").value.trim();
    const status = $("search-status");
    status.className = "";
    if (!query && !this.search.matches) {
      status.textContent = "Type a function name.";
      return;
    }
    const s = this.search;
    if (!s.matches || (query && s.query !== query)) this.setMatches(callsNamedLike(this.m, query), query, "Match");
    if (s.matches.length === 0) {
      const hiddenNote = s.hidden ? " (" + fmtNum(s.hidden) + " more hidden by the filters)" : "";
      status.textContent = "No call named like “" + s.query + "”" + hiddenNote + ".";
      status.className = "failed";
      this.tree.draw();
      this.timeline.scheduleDraw();
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
    this.showMatch(position);
  }

  // The match at `position`: selected, revealed, counted in the status line.
  showMatch(position) {
    const s = this.search;
    s.position = position;
    const hiddenNote = s.hidden ? " (" + fmtNum(s.hidden) + " more hidden by the filters)" : "";
    const status = $("search-status");
    status.textContent = s.label + " " + fmtNum(position + 1) + " of " + fmtNum(s.matches.length) + hiddenNote + ".";
    status.className = "ok";
    this.reveal(s.matches[position]);
  }

  // ---- tabs: the tree, the functions, the tests ----

  setUpTabs() {
    const tests = testList(this.m);
    $("tab-tests").hidden = tests.length === 0;
    $("tab-tests").textContent = "Tests (" + fmtNum(tests.length) + ")";
    for (const tab of document.querySelectorAll("#tabs button"))
      tab.addEventListener("click", () => this.showView(tab.dataset.view));
    this.functionsTable = new SortableTable(
      $("functions-table"),
      [
        ["qualname", "Function", (r) => r.qualname],
        ["location", "Location", (r) => shortenMiddle(r.location, 40)],
        ["calls", "Calls", (r) => fmtNum(r.calls)],
        ["total", "Total", (r) => fmtDuration(Math.round(r.total))],
        ["self", "Self", (r) => fmtDuration(Math.round(r.self))],
        ["mean", "Mean", (r) => fmtDuration(Math.round(r.mean))],
        ["max", "Max", (r) => fmtDuration(Math.round(r.max))],
      ],
      "self",
      (row) => this.findCallsOf(row)
    );
    this.testsTable = new SortableTable(
      $("tests-table"),
      [
        ["outcome", "Outcome", (r) => r.outcome],
        ["name", "Test", (r) => r.name],
        ["duration", "Duration", (r) => fmtDuration(r.duration)],
      ],
      "duration",
      (row) => {
        this.showView("tree");
        this.reveal(row.call);
      }
    );
    this.testsTable.setRows(tests);
  }

  showView(view) {
    this.view = view;
    for (const tab of document.querySelectorAll("#tabs button")) tab.classList.toggle("active", tab.dataset.view === view);
    $("tree").hidden = view !== "tree";
    $("functions-view").hidden = view !== "functions";
    $("tests-view").hidden = view !== "tests";
    if (view === "functions") this.showFunctions();
    if (view === "tree") {
      // Scrolled while hidden: the selected row in the middle, or where the tree was.
      const r = this.selected >= 0 ? this.rows.rowOfCall[this.selected] : -1;
      if (r >= 0) this.tree.scrollToRow(r);
      else this.tree.scrollToTop(this.tree.topRow);
    }
  }

  showFunctions() {
    if (!this.functionsStale) return;
    this.functionsStale = false;
    this.functionsTable.setRows(functionStats(this.m, this.filtered));
    const more = $("functions-table").dataset.more;
    $("functions-note").textContent = more ? "and " + fmtNum(Number(more)) + " more functions" : "";
  }

  // A function's calls: highlighted in the tree and the timeline, the first
  // selected; Next and Previous step through them.
  findCallsOf(row) {
    this.showView("tree");
    this.setMatches(callsOfFunction(this.m, this.filtered, row.function), row.qualname, "Call of " + row.qualname + ":");
    $("search-input").value = "";
    this.showMatch(0); // its first call, wherever the selection was
  }

  // ---- save and export ----

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
    const shown = shownCallRanges(this.filtered.shown);
    const body = {
      filename,
      overwrite,
      ranges: shown.ranges,
      filters: {
        show_external: !f.hiddenTypes.has("external_call"),
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
      status.textContent = "✓ Saved " + fmtNum(answer.calls) + " of " + fmtNum(answer.of) + " calls to " + answer.path;
      status.className = "ok";
    } catch (error) {
      status.textContent = "✗ Not saved: " + error.message;
      status.className = "failed";
    } finally {
      button.disabled = false;
    }
  }

  // The shown calls in another tool's format, downloaded by the browser.
  async export(format) {
    const status = $("export-status");
    const shown = shownCallRanges(this.filtered.shown);
    status.className = "";
    status.textContent = "Exporting " + fmtNum(shown.count) + " calls…";
    try {
      const response = await fetch("api/export", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ format, ranges: shown.ranges }),
      });
      if (!response.ok) throw new Error((await response.json()).error || response.statusText);
      const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "")?.[1] || "trace";
      const blob = await response.blob();
      const link = el("a");
      link.href = URL.createObjectURL(blob);
      link.download = name;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60000);
      status.textContent = "✓ " + name + " (" + fmtNum(shown.count) + " calls, " + fmtBytes(blob.size) + ")";
      status.className = "ok";
    } catch (error) {
      status.textContent = "✗ Not exported: " + error.message;
      status.className = "failed";
    }
  }

  // ---- for the browser tests and the console ----

  get rowCount() {
    return this.rows.count;
  }

  rowCallIds() {
    return this.rows.callIds();
  }

  rowOfCall(call) {
    return this.rows.rowOfCall[call];
  }

  scrollToRow(r) {
    this.tree.scrollToRow(r);
  }
}

// ---- loading ------------------------------------------------------------------

// Reads the model with progress: it can be hundreds of megabytes.
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
  for (const id of ["summary", "legend", "controls", "timeline-panel", "tree-area"]) $(id).hidden = false;
  const viewer = new Viewer(model);
  viewer.start();
  window.pytraceViewer = viewer;
  document.body.dataset.ready = "true";
}

main();
