// SPDX-License-Identifier: MIT
// The call tree: the rows (rows.js) drawn a screenful at a time.
import { $, el, badge, frameScheduler } from "./dom.js";
import {
  FLAG_BEFORE_TRACE,
  FLAG_EXTERNAL,
  FLAG_IMPORT,
  FLAG_TEST,
  fmtDuration,
  fmtNum,
  shortenMiddle,
  testOutcome,
  threadLabel,
} from "./format.js";
import { GROUP_ALL, GROUP_COLLAPSED, GROUP_TEMPLATE, ROW_CALL, ROW_GROUP, ROW_TEMPLATE, ROW_THREAD } from "./rows.js";

const ROW_HEIGHT = 22;
const INDENT = 14;
const MAX_INDENT_LEVELS = 48;
const LOCATION_CHARS = 48; // longer locations are cut in the middle
const ARGUMENT_CHARS = 40; // the argument preview in a row; the whole (up to 120 bytes) in its tooltip
// Browsers cap an element's height (Chrome near 33 million px): past this
// the scroll bar stands for rows in proportion, and the wheel and the keys
// move by rows themselves.
const MAX_SCROLL_PX = 8000000;

function shortenEnd(text, max) {
  return text.length <= max ? text : text.slice(0, max - 1) + "…";
}

function indentPx(level) {
  return Math.min(level, MAX_INDENT_LEVELS) * INDENT;
}

export class TreeView {
  // app: the viewer (model, rows, filtered, selection, search, folds).
  constructor(app) {
    this.app = app;
    this.node = $("tree");
    this.rowsNode = $("tree-rows");
    this.spacer = $("tree-spacer");
    this.topRow = 0; // the first row in view
    this.ownScrollTop = -1; // the scroll position this view set last
    this.previews = new Map(); // call -> argument preview, fetched for rows in view
    this.previewsWanted = new Set();
    this.scheduleDraw = frameScheduler(() => this.draw());
    this.node.addEventListener("scroll", () => this.onScroll());
    this.node.addEventListener("wheel", (event) => this.onWheel(event), { passive: false });
    window.addEventListener("resize", this.scheduleDraw);
    this.rowsNode.addEventListener("click", (event) => this.onClick(event));
    this.node.addEventListener("keydown", (event) => this.onKey(event));
  }

  get rows() {
    return this.app.rows;
  }

  scaled() {
    return this.rows.count * ROW_HEIGHT > MAX_SCROLL_PX;
  }

  visibleRows() {
    return Math.ceil(this.node.clientHeight / ROW_HEIGHT) + 1;
  }

  lastTopRow() {
    return Math.max(0, this.rows.count - this.visibleRows() + 1);
  }

  layout() {
    this.spacer.style.height = Math.min(this.rows.count * ROW_HEIGHT, MAX_SCROLL_PX) + "px";
    this.topRow = Math.min(this.topRow, this.lastTopRow());
    this.draw();
  }

  onScroll() {
    // The position this view set itself: topRow already says which row.
    if (Math.abs(this.node.scrollTop - this.ownScrollTop) < 1) {
      this.ownScrollTop = -1;
      return;
    }
    if (!this.scaled()) {
      this.topRow = Math.floor(this.node.scrollTop / ROW_HEIGHT);
    } else {
      const maxScroll = MAX_SCROLL_PX - this.node.clientHeight;
      const fraction = maxScroll > 0 ? Math.min(1, this.node.scrollTop / maxScroll) : 0;
      this.topRow = Math.floor(fraction * this.lastTopRow());
    }
    this.scheduleDraw();
  }

  // Past MAX_SCROLL_PX a pixel of scroll bar is many rows: the wheel moves
  // by rows here instead, so that no row is skipped.
  onWheel(event) {
    if (!this.scaled() || event.ctrlKey || event.deltaY === 0) return;
    event.preventDefault();
    const lines = event.deltaMode === 1 ? event.deltaY : event.deltaY / ROW_HEIGHT;
    this.scrollToTop(this.topRow + (lines > 0 ? Math.max(1, Math.round(lines)) : Math.min(-1, Math.round(lines))));
  }

  // While the tree is hidden (another tab) only topRow is kept: shown
  // again, the viewer calls this with it.
  scrollToTop(row) {
    this.topRow = Math.max(0, Math.min(row, this.lastTopRow()));
    if (this.node.clientHeight === 0) return;
    const maxScroll = MAX_SCROLL_PX - this.node.clientHeight;
    const scrollTop = this.scaled()
      ? (this.topRow / Math.max(1, this.lastTopRow())) * maxScroll
      : this.topRow * ROW_HEIGHT;
    const before = this.node.scrollTop;
    this.node.scrollTop = scrollTop;
    // A scroll event comes only when the position moved.
    if (this.node.scrollTop !== before) this.ownScrollTop = this.node.scrollTop;
    this.draw();
  }

  // Row r in the middle of the view.
  scrollToRow(r) {
    this.scrollToTop(r - Math.floor(this.visibleRows() / 2));
  }

  // Row r in view, scrolling as little as needed.
  keepInView(r) {
    if (r < this.topRow) this.scrollToTop(r);
    else if (r >= this.topRow + this.visibleRows() - 1) this.scrollToTop(r - this.visibleRows() + 2);
    else this.draw();
  }

  draw() {
    const first = this.topRow;
    const last = Math.min(this.rows.count, first + this.visibleRows());
    const top = this.scaled() ? this.node.scrollTop : first * ROW_HEIGHT;
    this.rowsNode.style.transform = "translateY(" + top + "px)";
    const nodes = [];
    for (let r = first; r < last; r++) nodes.push(this.rowNode(r));
    this.rowsNode.replaceChildren(...nodes);
    this.fetchPreviews();
  }

  rowNode(r) {
    const rows = this.rows;
    const kind = rows.kind[r];
    const ref = rows.ref[r];
    let node;
    if (kind === ROW_CALL) node = this.callRow(ref, rows.repeat[r]);
    else if (kind === ROW_GROUP) node = this.groupHeaderRow(ref);
    else if (kind === ROW_TEMPLATE) node = this.groupTemplateRow(ref);
    else node = el("div", "row thread-header", "── thread " + threadLabel(this.app.m.threads[ref]) + " ──");
    node.style.paddingLeft = indentPx(rows.level[r]) + (kind === ROW_THREAD ? 8 : 0) + "px";
    // A bar on the left for every group box the row is in.
    for (let b = rows.box[r]; b >= 0; b = rows.boxes[b].outer) {
      const bar = el("span", "gbar");
      bar.style.left = indentPx(rows.boxes[b].level) + 3 + "px";
      node.prepend(bar);
      node.classList.add("in-group");
    }
    return node;
  }

  callRow(call, repeat) {
    const app = this.app;
    const m = app.m;
    const flags = m.flags[call];
    const type = m.str(m.type[call]);
    const node = el("div", "row call");
    node.dataset.call = call;
    node.dataset.callType = type;
    if (flags & FLAG_EXTERNAL) node.classList.add("external");
    if (flags & FLAG_IMPORT) node.classList.add("import");
    if (call === app.selected) node.classList.add("selected");
    if (app.search.matchSet && app.search.matchSet.has(call)) node.classList.add("match");
    const hasChildren = m.end[call] > call + 1 && app.filtered.shownIn(call + 1, m.end[call]) > 0;
    node.append(el("span", "twisty", hasChildren ? (app.collapsed[call] ? "▸" : "▾") : ""));
    node.append(el("span", "depth", "d:" + m.depth[call]), " ", badge(type));
    node.append(el("span", "num", "#" + m.idOf(call)));
    node.append(el("span", "name", m.str(m.qualname[call])));
    node.append(el("span", "dur", fmtDuration(m.duration[call])));
    const preview = this.previews.get(call);
    if (preview === undefined) {
      this.previewsWanted.add(call);
    } else if (preview) {
      const args = el("span", "args", "(" + shortenEnd(preview, ARGUMENT_CHARS) + ")");
      args.title = preview;
      node.append(args);
    }
    if (repeat >= 0) {
      const all = app.groupMode[repeat] === GROUP_ALL;
      const times = el("button", "repeat", "× " + m.gRepetitions[repeat] + (all ? " ▾" : ""));
      times.type = "button";
      times.dataset.group = repeat;
      times.title = all
        ? "click to show one call"
        : "called " + m.gRepetitions[repeat] + " times in a row (calls #" + m.idOf(m.gFirst[repeat]) + "-#" +
          m.idOf(m.gLast[repeat]) + "); click to show each";
      node.append(times);
    }
    if (m.imports[call]) node.append(el("span", "flag", "import " + m.str(m.imports[call])));
    if (flags & FLAG_TEST) {
      const outcome = testOutcome(flags);
      node.append(el("span", "flag" + (outcome === "failed" ? " failed" : ""), outcome));
    }
    const location = m.str(m.location[call]);
    const loc = el("span", "loc", shortenMiddle(location, LOCATION_CHARS));
    loc.title = location;
    node.append(loc);
    if (flags & FLAG_BEFORE_TRACE) node.append(el("span", "flag", "started before the trace"));
    const site = m.str(m.site[call]);
    if (site) node.append(el("span", "site", "← " + site));
    return node;
  }

  // The argument previews of the rows in view, a screenful per request.
  fetchPreviews() {
    if (this.previewsWanted.size === 0 || this.previewsPending) return;
    const calls = Array.from(this.previewsWanted).slice(0, 200);
    this.previewsWanted.clear();
    this.previewsPending = true;
    fetch("api/previews?calls=" + calls.join(","))
      .then((response) => (response.ok ? response.json() : Promise.reject(new Error(response.statusText))))
      .then((previews) => {
        if (this.previews.size > 50000) this.previews.clear();
        calls.forEach((call, k) => this.previews.set(call, previews[k] || ""));
      })
      .catch(() => calls.forEach((call) => this.previews.set(call, "")))
      .finally(() => {
        this.previewsPending = false;
        this.scheduleDraw();
      });
  }

  groupHeaderRow(g) {
    const m = this.app.m;
    const first = m.gFirst[g];
    const last = m.gLast[g];
    const mode = this.app.groupMode[g];
    const node = el("div", "row group-header");
    node.dataset.group = g;
    node.append(el("span", "twisty", mode === GROUP_COLLAPSED ? "▶" : "▼"));
    node.append(
      "🔄 " + (m.gOuter[g] >= 0 ? "Nested Pattern" : "Repeating Pattern") + ": " + m.gRepetitions[g] +
        "x repetitions of " + m.gPeriod[g] + " calls (depth: " + m.depth[first] + ") (calls #" + m.idOf(first) +
        "-#" + m.idOf(last) + ", total: " + fmtNum(last - first + 1) + " calls)"
    );
    return node;
  }

  groupTemplateRow(g) {
    const m = this.app.m;
    const all = this.app.groupMode[g] === GROUP_ALL;
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

  onClick(event) {
    const app = this.app;
    const repeat = event.target.closest(".repeat");
    if (repeat) {
      const g = Number(repeat.dataset.group);
      app.setGroupMode(g, app.groupMode[g] === GROUP_ALL ? GROUP_TEMPLATE : GROUP_ALL);
      return;
    }
    const row = event.target.closest(".row");
    if (!row) return;
    if (row.dataset.group !== undefined) {
      const g = Number(row.dataset.group);
      if (row.classList.contains("group-header")) {
        app.setGroupMode(g, app.groupMode[g] === GROUP_COLLAPSED ? GROUP_TEMPLATE : GROUP_COLLAPSED);
      } else if (event.target.closest(".show-all")) {
        app.setGroupMode(g, app.groupMode[g] === GROUP_ALL ? GROUP_TEMPLATE : GROUP_ALL);
      }
      return;
    }
    if (row.dataset.call === undefined) return;
    const call = Number(row.dataset.call);
    if (event.target.classList.contains("twisty") && event.target.textContent) {
      app.toggleFold(call);
      return;
    }
    app.select(call, "tree");
  }

  // Up and down move the selection a call at a time, from its row (an index, not a search).
  onKey(event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    event.preventDefault();
    const app = this.app;
    const from = app.selected >= 0 ? this.rows.rowOfCall[app.selected] : -1;
    const r = this.rows.nextCallRow(from, event.key === "ArrowDown" ? 1 : -1);
    if (r < 0) return;
    app.select(this.rows.ref[r], "keys");
    this.keepInView(r);
  }
}
