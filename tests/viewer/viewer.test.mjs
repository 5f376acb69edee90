// SPDX-License-Identifier: MIT
// The viewer in a real browser, on a real trace: trace_program traces
// app/app.py, pytrace_view serves the result, headless chromium shows it.
// Every expectation is computed here from the trace's JSON, independently
// of the page's own code.
//
// usage: node viewer.test.mjs   (environment: PYTRACE_TRACE_PROGRAM,
//        PYTRACE_VIEW, PYTRACE_PYTHON; exits 77 when it cannot run, saying why)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM, launchBrowser } from "./browser.mjs";
import { readChromeTrace, readCollapsed, speedscopeProblems } from "./export_checks.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const TRACE_PROGRAM = process.env.PYTRACE_TRACE_PROGRAM;
const VIEW = process.env.PYTRACE_VIEW;
const TRACE_PYTEST = process.env.PYTRACE_TRACE_PYTEST;
const PYTHON = process.env.PYTRACE_PYTHON;

function skip(reason) {
  console.log("SKIP: " + reason);
  process.exit(77);
}
if (!TRACE_PROGRAM || !TRACE_PYTEST || !VIEW || !PYTHON)
  skip("set PYTRACE_TRACE_PROGRAM, PYTRACE_TRACE_PYTEST, PYTRACE_VIEW and PYTRACE_PYTHON");
if (process.getuid() !== 0) skip("tracing needs root (BPF): run as root");
if (!existsSync(CHROMIUM)) skip(`no browser at ${CHROMIUM}: scripts/setup.sh --deps-only installs chromium`);

// ---- fixtures ----------------------------------------------------------------

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

export function traceProgram(script, output, ...args) {
  const result = spawnSync(TRACE_PROGRAM, ["--python", PYTHON, script, ...args, "-o", output], {
    encoding: "utf8",
    timeout: 300000,
  });
  if (result.status !== 0) throw new Error(`trace_program failed (${result.status}):\n${result.stderr}`);
  return JSON.parse(readFileSync(output, "utf8"));
}

// pytrace_view on a free port, resolved once it prints its URL.
export async function serve(trace, ...flags) {
  const port = await freePort();
  const child = spawn(VIEW, [trace, String(port), ...flags], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  await new Promise((resolve, reject) => {
    let stdout = "";
    child.stdout.on("data", (d) => {
      stdout += d;
      if (stdout.includes("Press Ctrl-C")) resolve();
    });
    child.on("exit", (code) => reject(new Error(`pytrace_view exited with ${code}:\n${stderr}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: () =>
      new Promise((resolve) => {
        child.removeAllListeners("exit");
        child.on("exit", resolve);
        child.kill("SIGINT");
      }),
  };
}

export async function openViewer(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  // Refused saves (4xx answers the page reports itself) are logged by the
  // browser as failed loads; anything else is an error of the page.
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) errors.push(message.text());
  });
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 120000 });
  return { page, errors };
}

// ---- what the trace says --------------------------------------------------------

const isImport = (e) => e.call_type === "import" || e.importing != null || e.location.startsWith("<frozen importlib");

function expectedSummary(doc) {
  const calls = doc.trace_data.filter((e) => e.event === "function_call");
  const count = (predicate) => calls.filter(predicate).length;
  const types = {};
  for (const e of calls) types[e.call_type] = (types[e.call_type] || 0) + 1;
  // Lost records are counted by the kernel and by the reader: the larger
  // counts; frames that could not be read are not losses.
  const loss = doc.metadata.loss;
  const lost =
    Math.max(loss.ring_buffer_drops, loss.lost_records) + loss.malformed_records + loss.unknown_code +
    loss.unmatched_returns + loss.closed_without_return;
  return {
    figures: {
      calls: calls.length,
      imports: count(isImport),
      unique_functions: new Set(calls.map((e) => e.file + "\0" + e.qualname)).size,
      unique_locations: new Set(calls.map((e) => e.location)).size,
      threads: doc.metadata.threads.length,
      groups: doc.patterns.groups.length,
      lost,
    },
    types,
  };
}

// The calls and everything they called.
function descendantsOrSelf(doc, ids) {
  const found = new Set(ids);
  for (const e of doc.trace_data) if (e.parent_id !== null && found.has(e.parent_id)) found.add(e.id);
  return found;
}

// ---- page helpers -------------------------------------------------------------------

const rowIds = (page) => page.evaluate(() => window.pytraceViewer.rowCallIds());
const renderedRows = (page) =>
  page.$$eval("#tree-rows .row.call", (rows) =>
    rows.map((r) => ({
      id: Number(r.dataset.call),
      type: r.dataset.callType,
      num: r.querySelector(".num").textContent,
      name: r.querySelector(".name").textContent,
      loc: r.querySelector(".loc").title,
      shownLoc: r.querySelector(".loc").textContent,
      repeat: r.querySelector(".repeat")?.textContent ?? null,
      depth: r.querySelector(".depth").textContent,
      flags: Array.from(r.querySelectorAll(".flag"), (f) => f.textContent),
      external: r.classList.contains("external"),
      import: r.classList.contains("import"),
    }))
  );

// Scrolls the tree so that a call's row is in the middle of the view.
async function scrollToCall(page, id) {
  await page.evaluate((call) => {
    const viewer = window.pytraceViewer;
    viewer.scrollToRow(viewer.rowOfCall(call));
  }, id);
  await page.evaluate(() => new Promise(requestAnimationFrame));
}

const nextFrame = (page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

const timelineState = (page) =>
  page.evaluate(() => {
    const t = window.pytraceViewer.timeline;
    return { view: { ...t.view }, span: { ...t.span }, boxes: t.boxCount, width: t.width() };
  });

// The call of each box the timeline drew last.
const drawnCalls = (page) =>
  page.evaluate(() => window.pytraceViewer.timeline.drawn.flatMap(({ boxes }) => boxes.call));

// Clicks a call's box on the timeline (where the page says it is drawn).
async function clickOnTimeline(page, call) {
  const point = await page.evaluate((c) => window.pytraceViewer.timeline.pointOf(c), call);
  assert.ok(point, `call ${call} is not in the timeline's view`);
  const box = await page.locator("#timeline-canvas").boundingBox();
  await page.mouse.click(box.x + point.x, box.y + point.y);
}

// Per function (file and qualified name), from the trace alone: calls,
// self (duration less the callees'), total (a recursive function's time
// once, in its outermost call) and the longest call. The tree is by caller.
function expectedFunctions(doc) {
  const calls = doc.trace_data;
  const up = (e) => (e.caller_id !== undefined ? e.caller_id : e.parent_id);
  const key = (e) => e.location.replace(/:\d+$/, "") + "\0" + e.qualname;
  const stats = new Map();
  for (const e of calls) {
    const s = stats.get(key(e)) || { qualname: e.qualname, file: e.location.replace(/:\d+$/, ""), calls: 0, self: 0, total: 0, max: 0 };
    s.calls++;
    s.self += e.duration_ns;
    s.max = Math.max(s.max, e.duration_ns);
    let outermost = true;
    for (let a = up(e); a !== null; a = up(calls[a])) if (key(calls[a]) === key(e)) outermost = false;
    if (outermost) s.total += e.duration_ns;
    stats.set(key(e), s);
  }
  for (const e of calls) if (up(e) !== null) stats.get(key(calls[up(e)])).self -= e.duration_ns;
  return stats;
}

async function setChecked(page, selector, checked) {
  await page.setChecked(selector, checked);
  await page.evaluate(() => new Promise(requestAnimationFrame));
}

// Serves a trace on a pytrace_view of its own, opens it in a new page, runs
// `check` on that page, and fails on any error the page raised.
async function onOwnPage(serveArgs, check) {
  const own = await serve(...serveArgs);
  try {
    const { page: ownPage, errors } = await openViewer(browser.context, own.url);
    await check(ownPage);
    assert.deepEqual(errors, []);
    await ownPage.close();
  } finally {
    await own.stop();
  }
}

// ---- the tests ------------------------------------------------------------------------

let workdir, doc, tracePath, server, browser, page, pageErrors;

before(async () => {
  workdir = mkdtempSync(join(tmpdir(), "pytrace-viewer-"));
  tracePath = join(workdir, "app.json");
  doc = traceProgram(join(HERE, "app", "app.py"), tracePath);
  server = await serve(tracePath);
  browser = await launchBrowser();
  ({ page, errors: pageErrors } = await openViewer(browser.context, server.url));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (workdir) rmSync(workdir, { recursive: true, force: true });
});

test("the summary shows the trace's figures", async () => {
  const expected = expectedSummary(doc);
  for (const [key, value] of Object.entries(expected.figures)) {
    const text = await page.textContent(`#summary-figures tr[data-figure=${key}] td:last-child`);
    assert.equal(Number(text.replace(/,/g, "")), value, `figure ${key}`);
  }
  for (const [type, count] of Object.entries(expected.types)) {
    const text = await page.textContent(`#summary-types li[data-type=${type}]`);
    assert.match(text, new RegExp(`${type}: ${count} \\(`), `type ${type}`);
  }
  assert.equal(await page.$$eval("#summary-types li", (items) => items.length), Object.keys(expected.types).length);
  for (const key of ["original_command", "scope_path", "main_file", "timestamp"]) {
    assert.equal(await page.textContent(`#summary-meta dd[data-meta=${key}]`), doc.metadata[key], key);
  }
  assert.match(await page.textContent("#summary-loss"), /No events were lost/);
  // One line before the details, which are folded.
  assert.match(await page.textContent("#summary-line [data-part=calls]"), new RegExp(`^${expected.figures.calls} calls$`));
  assert.equal(await page.isVisible("#summary-figures"), false);
  // The same counts next to the filters: imports, and each call type.
  assert.equal(await page.textContent("#imports-count"), `(${expected.figures.imports})`);
  for (const [type, count] of Object.entries(expected.types))
    assert.match(await page.textContent(`label:has(#type-${type})`), new RegExp(`\\(${count}\\)$`), type);
  assert.equal(await page.$$eval("#show-external", (boxes) => boxes.length), 0, "external calls are a call type's checkbox");
  assert.equal(await page.$$eval("#legend-items > div", (items) => items.length), 14);
});

test("rows show each call's own depth, type, name and location, escaped", async () => {
  await setChecked(page, "#show-patterns", false);
  const calls = doc.trace_data;
  // Without groups every call has a row, in the trace's order.
  assert.deepEqual(await rowIds(page), calls.map((e) => e.id));
  const rows = await renderedRows(page);
  assert.ok(rows.length > 20, `only ${rows.length} rows drawn`);
  // The tree is drawn by caller: an imported module's body sits under its
  // import, one deeper than the in-scope depth the JSON gives it.
  const treeDepth = [];
  for (const e of calls) treeDepth[e.id] = e.caller_id === null ? 0 : treeDepth[e.caller_id] + 1;
  assert.ok(calls.some((e) => treeDepth[e.id] !== e.depth), "the app has a call whose caller is not its parent");
  for (const row of rows) {
    const e = calls[row.id];
    assert.equal(row.num, "#" + e.id);
    assert.equal(row.name, e.qualname);
    assert.equal(row.loc, e.location);
    // Cut in the middle when long, so that the duration before it stays in view.
    assert.ok(row.shownLoc === e.location || (row.shownLoc.length === 48 && row.shownLoc.includes("…")), row.shownLoc);
    assert.equal(row.depth, "d:" + treeDepth[e.id]);
    assert.equal(row.type, e.call_type);
    assert.equal(row.external, e.is_external);
    // An import names the module it imports (the other import machinery runs
    // within an import, but not necessarily of the module `importing` says).
    const namesImport = e.call_type === "import" && ["_find_and_load", "<module>"].includes(e.name);
    assert.equal(row.flags.includes("import " + e.importing), namesImport);
  }
  // Names like <module> are text, not markup.
  assert.equal(rows[0].name, "<module>");
  assert.equal(await page.$$eval("#tree-rows module, #tree-rows lambda", (n) => n.length), 0);
  await setChecked(page, "#show-patterns", true);
});

test("a pattern group expands and collapses", async () => {
  // The trace's own groups (found by trace_program) are the page's groups.
  const group = doc.patterns.groups.find((g) => g.repetitions === 4 && g.outer === null);
  assert.ok(group, "the app repeats attention + forward 4 times");
  // attention twice at the start of each repetition: a group nested in the
  // template, starting at the same call.
  const nested = doc.patterns.groups.find((g) => g.outer !== null && g.first_id === group.first_id);
  assert.ok(nested, "and attention twice in each");
  const header = page.locator(".row.group-header", { hasText: `calls #${group.first_id}-#${group.last_id},` });
  await scrollToCall(page, group.first_id - 1);
  assert.match(await header.textContent(), new RegExp(`4x repetitions of ${group.period} calls`));
  assert.match(await header.textContent(), /▼/);
  // A group of one call repeated is that call's row with "× 2", as the console draws it.
  assert.equal(nested.period, 1);
  const nestedRow = page.locator(`#tree-rows .row[data-call="${nested.first_id}"] .repeat`);
  assert.equal(await nestedRow.textContent(), "× 2", "the nested group is drawn inside the template");
  assert.equal(await page.locator(".row.group-header", { hasText: "repetitions of 1 call" }).count(), 0);

  // Expanded: the template's calls, not the other repetitions (of the
  // group, and of the group nested in its template).
  let ids = await rowIds(page);
  const nestedLater = (id) => id > nested.template_ids.at(-1) && id <= nested.last_id;
  assert.deepEqual(
    group.template_ids.filter((id) => ids.includes(id)),
    group.template_ids.filter((id) => !nestedLater(id))
  );
  assert.ok(!ids.includes(group.last_id), "a later repetition is shown in template mode");

  await header.click();
  await page.evaluate(() => new Promise(requestAnimationFrame));
  ids = await rowIds(page);
  assert.ok(!ids.some((id) => id >= group.first_id && id <= group.last_id), "collapsed group still shows calls");
  assert.match(await header.textContent(), /▶/);
  assert.equal(await nestedRow.count(), 0);

  await header.click();
  await page.evaluate(() => new Promise(requestAnimationFrame));
  ids = await rowIds(page);
  assert.ok(ids.includes(group.first_id));
  assert.match(await header.textContent(), /▼/);

  // Every repetition on request: all the group's calls but the later
  // repetitions of the groups inside it, which stay in template mode.
  const template = page.locator(`.row.group-template[data-group="${await header.getAttribute("data-group")}"]`);
  assert.match(await template.textContent(), /Pattern template \(repeated 4 times\)/);
  await template.locator("button").click();
  ids = await rowIds(page);
  const inner = doc.patterns.groups.filter((g) => g !== group && g.first_id >= group.first_id && g.last_id <= group.last_id);
  const hidden = new Set();
  for (const g of inner) {
    const templateCalls = descendantsOrSelf(doc, g.template_ids);
    for (let id = g.first_id; id <= g.last_id; id++) if (!templateCalls.has(id)) hidden.add(id);
  }
  const expected = [];
  for (let id = group.first_id; id <= group.last_id; id++) if (!hidden.has(id)) expected.push(id);
  assert.deepEqual(ids.filter((id) => id >= group.first_id && id <= group.last_id), expected);
  assert.match(await template.textContent(), /All 4 repetitions/);
  await template.locator("button").click();

  // "× 2" shows both calls, and folds them again.
  await nestedRow.click();
  ids = await rowIds(page);
  assert.ok(nested.template_ids.length === 1 && ids.includes(nested.last_id) && ids.includes(nested.first_id));
  assert.equal(await nestedRow.textContent(), "× 2 ▾");
  await nestedRow.click();
  assert.ok(!(await rowIds(page)).includes(nested.last_id));

  // Collapse all, expand all.
  await page.click("#collapse-all");
  assert.equal(await page.$$eval(".row.group-header", (rows) => rows.filter((r) => r.textContent.includes("▼")).length), 0);
  await page.click("#expand-all");
  assert.equal(await page.$$eval(".row.group-header", (rows) => rows.filter((r) => r.textContent.includes("▶")).length), 0);
  // Expand all unfolds folded calls too; without groups there is nothing to collapse.
  const main = doc.trace_data.find((e) => e.qualname === "main");
  await scrollToCall(page, main.id);
  await page.click(`#tree-rows .row[data-call="${main.id}"] .twisty`);
  assert.ok(!(await rowIds(page)).includes(main.id + 1), "main did not fold");
  await page.click("#expand-all");
  assert.ok((await rowIds(page)).includes(main.id + 1), "expand all left main folded");
  await setChecked(page, "#show-patterns", false);
  assert.equal(await page.isDisabled("#collapse-all"), true);
  assert.equal(await page.isDisabled("#expand-all"), false);
  await setChecked(page, "#show-patterns", true);
});

test("imports and a call type (external calls too) can be hidden", async () => {
  await setChecked(page, "#show-patterns", false);
  const all = doc.trace_data.map((e) => e.id);
  const shownText = async () => (await page.textContent("#shown-count")).replace(/,/g, "");

  await setChecked(page, "#type-external_call", false);
  let expected = doc.trace_data.filter((e) => e.call_type !== "external_call").map((e) => e.id);
  assert.deepEqual(await rowIds(page), expected);
  assert.ok(!(await renderedRows(page)).some((r) => r.type === "external_call"));
  assert.match(await shownText(), new RegExp(`Showing ${expected.length} of ${all.length} calls`));
  await setChecked(page, "#type-external_call", true);
  assert.deepEqual(await rowIds(page), all);

  await setChecked(page, "#show-imports", false);
  expected = doc.trace_data.filter((e) => !isImport(e)).map((e) => e.id);
  assert.ok(expected.length < all.length);
  assert.deepEqual(await rowIds(page), expected);
  assert.ok(!(await renderedRows(page)).some((r) => r.import));
  await setChecked(page, "#show-imports", true);

  // A call type: its calls go, their children stay (drawn in their place).
  await setChecked(page, "#type-function_call", false);
  expected = doc.trace_data.filter((e) => e.call_type !== "function_call").map((e) => e.id);
  assert.deepEqual(await rowIds(page), expected);
  assert.ok(!(await renderedRows(page)).some((r) => r.type === "function_call"));
  await setChecked(page, "#type-function_call", true);
  assert.deepEqual(await rowIds(page), all);
  await setChecked(page, "#show-patterns", true);
});

test("the detail panel shows the clicked call's own fields", async () => {
  await setChecked(page, "#show-patterns", false);
  // Several calls of the same function: each row shows its own entry.
  const scales = doc.trace_data.filter((e) => e.name === "scale");
  assert.ok(scales.length >= 4);
  for (const e of [scales[0], scales[3], scales[scales.length - 1]]) {
    await scrollToCall(page, e.id);
    await page.click(`#tree-rows .row[data-call="${e.id}"] .name`);
    await page.waitForSelector(`#detail-fields tr[data-key=id] .value >> text="${e.id}"`);
    const field = (key) => page.textContent(`#detail-fields tr[data-key=${key}] .value`);
    assert.equal(await field("id"), String(e.id));
    assert.equal(await field("parent_id"), String(e.parent_id));
    assert.equal(await field("start_ns"), String(e.start_ns));
    assert.equal(await field("duration_ns"), String(e.duration_ns));
    assert.equal(await field("parent_call"), e.parent_call);
    assert.equal(await field("qualname"), e.qualname);
    assert.ok(await page.$(`#tree-rows .row.selected[data-call="${e.id}"]`));
  }
  await setChecked(page, "#show-patterns", true);
});

test("search finds a function and reveals it", async () => {
  await page.click("#collapse-all");
  const scales = doc.trace_data.filter((e) => e.qualname === "Layer.scale").map((e) => e.id);
  await page.fill("#search-input", "layer.SCALE");
  for (let k = 0; k < scales.length; k++) {
    await page.click("#search-next");
    assert.equal(await page.textContent("#search-status"), `Match ${k + 1} of ${scales.length}.`);
    assert.equal(await page.evaluate(() => window.pytraceViewer.selected), scales[k]);
    // Drawn and selected, inside collapsed groups and later repetitions alike.
    assert.ok(await page.$(`#tree-rows .row.selected.match[data-call="${scales[k]}"]`), `match ${k} not shown`);
  }
  await page.click("#search-next");
  assert.equal(await page.evaluate(() => window.pytraceViewer.selected), scales[0], "search wraps around");
  await page.click("#search-prev");
  assert.equal(await page.evaluate(() => window.pytraceViewer.selected), scales[scales.length - 1]);
  await page.fill("#search-input", "no_such_function");
  await page.click("#search-next");
  assert.match(await page.textContent("#search-status"), /No call named like/);
  await page.click("#expand-all");
});

test("save filtered data writes exactly the shown calls next to the trace", async () => {
  await setChecked(page, "#type-external_call", false);
  await setChecked(page, "#show-imports", false);
  await setChecked(page, "#type-lambda_function", false);
  const expected = doc.trace_data
    .filter((e) => e.call_type !== "external_call" && !isImport(e) && e.call_type !== "lambda_function")
    .map((e) => e.id);
  await page.fill("#save-name", "app_filtered");
  await page.click("#save-button");
  await page.waitForSelector("#save-status.ok, #save-status.failed");
  const saved = join(workdir, "app_filtered.json");
  assert.equal(await page.textContent("#save-status"), `✓ Saved ${expected.length} of ${doc.trace_data.length} calls to ${saved}`);
  const written = JSON.parse(readFileSync(saved, "utf8"));
  assert.deepEqual(written.trace_data.map((e) => e.original_id), expected);
  assert.equal(written.metadata.filtered, true);
  assert.equal(written.metadata.filtered_total_calls, expected.length);
  assert.deepEqual(written.metadata.filters_applied.call_types.lambda_function, false);
  // Each kept call hangs from its nearest kept ancestor.
  const newId = new Map(expected.map((id, i) => [id, i]));
  for (const e of written.trace_data) {
    let p = doc.trace_data[e.original_id].parent_id;
    while (p !== null && !newId.has(p)) p = doc.trace_data[p].parent_id;
    assert.equal(e.parent_id, p === null ? null : newId.get(p));
  }

  // The same name again: the page asks before overwriting.
  const statusReset = () => page.evaluate(() => (document.getElementById("save-status").className = ""));
  await statusReset();
  page.once("dialog", (dialog) => dialog.dismiss());
  await page.click("#save-button");
  await page.waitForSelector("#save-status.failed");
  assert.match(await page.textContent("#save-status"), /Not saved: app_filtered.json already exists/);
  await setChecked(page, "#type-lambda_function", true);
  await statusReset();
  page.once("dialog", (dialog) => dialog.accept());
  await page.click("#save-button");
  await page.waitForSelector("#save-status.ok");
  assert.equal(JSON.parse(readFileSync(saved, "utf8")).metadata.filtered_total_calls, expected.length + 2);

  // A name with a directory is refused, saying why.
  await statusReset();
  await page.fill("#save-name", "../escape");
  await page.click("#save-button");
  await page.waitForSelector("#save-status.failed");
  assert.match(await page.textContent("#save-status"), /must not contain/);
  assert.ok(!existsSync(join(dirname(workdir), "escape.json")));
  await setChecked(page, "#type-external_call", true);
  await setChecked(page, "#show-imports", true);
});

test("the timeline zooms and pans with the wheel, dragging and the keys", async () => {
  const canvas = page.locator("#timeline-canvas");
  const box = await canvas.boundingBox();
  // Selecting calls (the tests before) moved the view; 0 shows the whole trace.
  await canvas.focus();
  await page.keyboard.press("0");
  await nextFrame(page);
  const start = await timelineState(page);
  // From the first call's start to the last return.
  const begin = Math.min(...doc.trace_data.map((e) => e.start_ns));
  const end = Math.max(...doc.trace_data.map((e) => e.start_ns + e.duration_ns));
  assert.deepEqual(start.span, { begin, end });
  assert.deepEqual(start.view, { t0: begin, t1: end });
  assert.ok(start.boxes > 0);
  const width = (v) => v.t1 - v.t0;

  // Ctrl+wheel zooms in around the time under the pointer; the wheel alone
  // scrolls the lanes (here they fit: it leaves the view as it is).
  const x = box.width / 4;
  const anchor = start.view.t0 + (x / start.width) * width(start.view);
  await page.mouse.move(box.x + x, box.y + box.height / 2);
  await page.mouse.wheel(0, -500);
  await nextFrame(page);
  assert.deepEqual((await timelineState(page)).view, start.view);
  await page.keyboard.down("Control");
  await page.mouse.wheel(0, -500);
  await page.keyboard.up("Control");
  await nextFrame(page);
  const zoomed = (await timelineState(page)).view;
  assert.ok(width(zoomed) < width(start.view) / 2, `zoomed to ${width(zoomed)} of ${width(start.view)}`);
  assert.ok(Math.abs((anchor - zoomed.t0) / width(zoomed) - x / start.width) < 0.01, "the time under the pointer moved");

  // Dragging 200 px to the right shows earlier time.
  await page.mouse.down();
  await page.mouse.move(box.x + x + 200, box.y + box.height / 2, { steps: 4 });
  await page.mouse.up();
  await nextFrame(page);
  const dragged = (await timelineState(page)).view;
  assert.ok(Math.abs(zoomed.t0 - dragged.t0 - (200 / start.width) * width(zoomed)) < width(zoomed) / 100);
  assert.ok(Math.abs(width(dragged) - width(zoomed)) < 1);

  // Keys: 0 shows everything, + zooms in twice, the right arrow pans a fifth, - zooms out.
  await canvas.focus();
  await page.keyboard.press("0");
  await nextFrame(page);
  assert.deepEqual((await timelineState(page)).view, start.view);
  await page.keyboard.press("+");
  await nextFrame(page);
  const keyZoomed = (await timelineState(page)).view;
  assert.ok(Math.abs(width(keyZoomed) - width(start.view) / 2) < 1);
  await page.keyboard.press("ArrowRight");
  await nextFrame(page);
  const panned = (await timelineState(page)).view;
  assert.ok(Math.abs(panned.t0 - keyZoomed.t0 - width(keyZoomed) / 5) < 1);
  await page.keyboard.press("-");
  await page.keyboard.press("0");
  await nextFrame(page);
});

test("a click on the timeline selects the call in the tree and the panel, and back", async () => {
  const main = doc.trace_data.find((e) => e.qualname === "main");
  await clickOnTimeline(page, main.id);
  await page.waitForSelector(`#detail-fields tr[data-key=id] .value >> text="${main.id}"`);
  assert.equal(await page.evaluate(() => window.pytraceViewer.selected), main.id);
  assert.ok(await page.$(`#tree-rows .row.selected[data-call="${main.id}"]`), "the tree's row is selected and in view");

  // A call picked in the tree: the timeline brings it into view, selected.
  const apply = doc.trace_data.filter((e) => e.qualname === "Layer.apply").at(-1);
  await setChecked(page, "#show-patterns", false);
  await scrollToCall(page, apply.id);
  await page.click(`#tree-rows .row[data-call="${apply.id}"] .name`);
  await nextFrame(page);
  const { view } = await timelineState(page);
  assert.ok(view.t0 <= apply.start_ns && apply.start_ns + apply.duration_ns <= view.t1, "the call is in the timeline's view");
  assert.ok((await drawnCalls(page)).includes(apply.id), "and drawn");
  // Its box, clicked, is the same call.
  await clickOnTimeline(page, apply.id);
  await nextFrame(page);
  assert.equal(await page.evaluate(() => window.pytraceViewer.selected), apply.id);
  await setChecked(page, "#show-patterns", true);
  await page.locator("#timeline-canvas").focus();
  await page.keyboard.press("0");
});

test("the timeline draws what the filters show", async () => {
  await setChecked(page, "#type-function_call", false);
  await nextFrame(page);
  const drawn = await drawnCalls(page);
  assert.ok(drawn.length > 0);
  assert.deepEqual(drawn.filter((id) => doc.trace_data[id].call_type === "function_call"), []);
  // A hidden call's children are drawn where it was: Layer.apply under train's place.
  assert.ok(drawn.some((id) => doc.trace_data[id].qualname === "Layer.apply" || doc.trace_data[id].qualname === "Model.forward"));
  await setChecked(page, "#type-function_call", true);
  await nextFrame(page);
  assert.ok((await drawnCalls(page)).some((id) => doc.trace_data[id].call_type === "function_call"));
});

test("the functions table gives each function's time, sorted by self time", async () => {
  await page.click("#tab-functions");
  await page.waitForSelector("#functions-table tbody tr");
  const expected = expectedFunctions(doc);
  const rows = await page.evaluate(() =>
    window.pytraceViewer.functionsTable.sorted.map(({ qualname, file, calls, total, self, max }) => ({ qualname, file, calls, total, self, max }))
  );
  assert.equal(rows.length, expected.size);
  for (const row of rows) assert.deepEqual(row, expected.get(row.file + "\0" + row.qualname), row.qualname);
  for (let k = 1; k < rows.length; k++) assert.ok(rows[k - 1].self >= rows[k].self, "sorted by self time");
  const cells = await page.$$eval("#functions-table tbody tr:first-child td", (tds) => tds.map((td) => td.textContent));
  assert.equal(cells[0], rows[0].qualname);
  assert.match(await page.textContent("#functions-table th[data-sort=self]"), /Self ▾/);
  // Another column, then a function: its calls are stepped through in the tree.
  await page.click("#functions-table th[data-sort=calls]");
  const byCalls = await page.evaluate(() => window.pytraceViewer.functionsTable.sorted.map((r) => r.calls));
  assert.deepEqual(byCalls, byCalls.slice().sort((a, b) => b - a));
  const attention = doc.trace_data.filter((e) => e.qualname === "attention");
  await page.click(`#functions-table tbody tr:has(td[data-column=qualname]:text-is("attention"))`);
  assert.equal(await page.textContent("#search-status"), `Call of attention: 1 of ${attention.length}.`);
  assert.equal(await page.evaluate(() => window.pytraceViewer.selected), attention[0].id);
  assert.ok(await page.$(`#tree-rows .row.selected.match[data-call="${attention[0].id}"]`));
  await page.click("#search-next");
  assert.equal(await page.evaluate(() => window.pytraceViewer.selected), attention[1].id);
});

test("a filter keeps the selected call in view, or lets it go when it hides it; a thread starts at its top", async () => {
  await page.click("#tab-tree");
  const apply = doc.trace_data.filter((e) => e.qualname === "Layer.apply").at(-1);
  await page.evaluate((id) => window.pytraceViewer.reveal(id), apply.id);
  // Changed from another tab: back in the tree, the row is drawn and selected.
  await page.click("#tab-functions");
  await setChecked(page, "#show-imports", false);
  await page.click("#tab-tree");
  await nextFrame(page);
  assert.ok(await page.$(`#tree-rows .row.selected[data-call="${apply.id}"]`), "the selected row is not in view");
  await setChecked(page, "#show-imports", true);
  // Hidden by a filter: no call is selected, the panel says so.
  await setChecked(page, "#type-method", false);
  assert.equal(await page.evaluate(() => window.pytraceViewer.selected), -1);
  assert.match(await page.textContent("#detail"), /Click a call/);
  await setChecked(page, "#type-method", true);
  // Another thread: its first call at the top, the timeline whole.
  const worker = doc.metadata.threads.findIndex((t) => t.thread_id !== doc.metadata.pid);
  const timeline = page.locator("#timeline-canvas");
  await timeline.focus();
  await page.keyboard.press("+");
  await page.selectOption("#thread-select", String(worker));
  await nextFrame(page);
  const first = doc.trace_data.find((e) => e.thread_id === doc.metadata.threads[worker].thread_id);
  assert.equal(await page.$eval("#tree-rows .row.call", (row) => Number(row.dataset.call)), first.id);
  const state = await timelineState(page);
  assert.deepEqual(state.view, { t0: state.span.begin, t1: state.span.end });
  await page.selectOption("#thread-select", "-1");
});

test("the lanes scroll with the wheel when they do not fit, then the page does", async () => {
  await page.evaluate(() => {
    document.getElementById("timeline").style.height = "120px";
    window.pytraceViewer.timeline.setFiltered();
  });
  await nextFrame(page);
  const canvas = page.locator("#timeline-canvas");
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const lanes = () => page.evaluate(() => window.pytraceViewer.timeline.scrollY);
  const pageY = () => page.evaluate(() => window.scrollY);
  assert.equal(await lanes(), 0);
  await page.mouse.wheel(0, 60);
  await nextFrame(page);
  assert.equal(await lanes(), 60, "the lanes did not scroll");
  const before = await pageY();
  for (let k = 0; k < 20; k++) await page.mouse.wheel(0, 100);
  await nextFrame(page);
  const bottom = await page.evaluate(() => {
    const t = window.pytraceViewer.timeline;
    return t.lanesHeight - (t.height() - 20);
  });
  assert.equal(await lanes(), bottom, "the lanes stop at their end");
  assert.ok((await pageY()) > before, "then the page scrolls");
  await page.evaluate(() => {
    document.getElementById("timeline").style.height = "";
    window.pytraceViewer.timeline.scrollTo(0);
    window.scrollTo(0, 0);
  });
});

test("a function picked in the table starts at its first call, wherever the selection was", async () => {
  const attention = doc.trace_data.filter((e) => e.qualname === "attention");
  await page.evaluate((id) => window.pytraceViewer.reveal(id), attention.at(-1).id + 1);
  await page.click("#tab-functions");
  await page.click(`#functions-table tbody tr:has(td[data-column=qualname]:text-is("attention"))`);
  assert.equal(await page.evaluate(() => window.pytraceViewer.selected), attention[0].id);
  assert.equal(await page.textContent("#search-status"), `Call of attention: 1 of ${attention.length}.`);
});

test("exports: the page downloads what the tool writes, and each format's own reader loads it", async () => {
  const threads = doc.metadata.threads.length;
  for (const format of ["chrome", "speedscope", "collapsed"]) {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click(`button[data-export=${format}]`)]);
    const downloaded = join(workdir, "page." + format);
    await download.saveAs(downloaded);
    assert.equal(download.suggestedFilename(), "app" + { chrome: ".trace.json", speedscope: ".speedscope.json", collapsed: ".folded" }[format]);
    const written = join(workdir, "tool." + format);
    const cli = spawnSync(VIEW, [tracePath, "--export", format, "-o", written], { encoding: "utf8" });
    assert.equal(cli.status, 0, cli.stderr);
    assert.ok(readFileSync(downloaded).equals(readFileSync(written)), `${format}: the page's export differs from the tool's`);
    await page.waitForSelector("#export-status.ok");
  }
  const n = doc.trace_data.length;

  const chrome = await readChromeTrace(JSON.parse(readFileSync(join(workdir, "tool.chrome"), "utf8")));
  assert.deepEqual(chrome.problems, []);
  assert.equal(chrome.threads.length, threads);
  assert.equal(chrome.threads.reduce((sum, t) => sum + t.calls, 0), n);
  const main = doc.metadata.threads.find((t) => t.thread_id === doc.metadata.pid);
  assert.ok(chrome.threads.some((t) => t.tid === main.thread_id && t.pid === doc.metadata.pid));
  const scale = doc.trace_data.find((e) => e.qualname === "Layer.scale");
  const event = JSON.parse(readFileSync(join(workdir, "tool.chrome"), "utf8")).traceEvents.filter((e) => e.ph === "X")[scale.id];
  assert.deepEqual(event.args.arguments, scale.arguments);
  assert.equal(event.ts, scale.start_ns / 1000);

  const speedscope = JSON.parse(readFileSync(join(workdir, "tool.speedscope"), "utf8"));
  assert.deepEqual(speedscopeProblems(speedscope), []);
  assert.equal(speedscope.profiles.length, threads);
  assert.equal(speedscope.profiles.reduce((sum, p) => sum + p.events.length, 0), 2 * n);
  assert.equal(speedscope.shared.frames.length, new Set(doc.trace_data.map((e) => e.location + "\0" + e.qualname)).size);

  const folded = readCollapsed(readFileSync(join(workdir, "tool.collapsed"), "utf8"));
  assert.deepEqual(folded.problems, []);
  // The self times add up to the outermost calls' durations.
  const outermost = doc.trace_data.filter((e) => e.caller_id === null).reduce((sum, e) => sum + e.duration_ns, 0);
  assert.equal(folded.stacks.reduce((sum, s) => sum + s.weight, 0), outermost);
  assert.ok(folded.stacks.some((s) => s.frames.at(-1).startsWith("Layer.scale (") && s.frames.length > 3));

  // What the filters show, and no more.
  await setChecked(page, "#type-external_call", false);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("button[data-export=chrome]")]);
  const filtered = join(workdir, "filtered.chrome");
  await download.saveAs(filtered);
  const events = JSON.parse(readFileSync(filtered, "utf8")).traceEvents.filter((e) => e.ph === "X");
  assert.equal(events.length, doc.trace_data.filter((e) => e.call_type !== "external_call").length);
  assert.ok(!events.some((e) => e.cat === "external_call"));
  assert.deepEqual((await readChromeTrace(JSON.parse(readFileSync(filtered, "utf8")))).problems, []);
  await setChecked(page, "#type-external_call", true);
});

test("the page raised no errors", () => {
  assert.deepEqual(pageErrors, []);
});

test("a pytest trace lists its tests with outcome and duration", async () => {
  const projectDir = join(HERE, "..", "e2e", "pytest_project");
  const pytestPath = join(workdir, "tests.json");
  const run = spawnSync(TRACE_PYTEST, ["--python", PYTHON, "-o", pytestPath, "-q", "-p", "no:cacheprovider", "tests"], {
    cwd: projectDir,
    encoding: "utf8",
    timeout: 300000,
  });
  assert.ok(existsSync(pytestPath), run.stderr);
  const traced = JSON.parse(readFileSync(pytestPath, "utf8"));
  const tests = traced.metadata.tests;
  assert.ok(tests.some((t) => t.outcome === "failed") && tests.some((t) => t.outcome === "passed"));
  await onOwnPage([pytestPath], async (testPage) => {
    assert.equal(await testPage.textContent("#tab-tests"), `Tests (${tests.length})`);
    await testPage.click("#tab-tests");
    const rows = await testPage.$$eval("#tests-table tbody tr", (trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll("td"), (td) => td.textContent))
    );
    // Longest first, each with its outcome.
    const entries = tests.map((t) => ({ ...t, entry: traced.trace_data[t.id] }));
    entries.sort((a, b) => b.entry.duration_ns - a.entry.duration_ns);
    assert.deepEqual(rows.map((r) => [r[0], r[1]]), entries.map((t) => [t.outcome, t.nodeid]));
    // Tests are listed here, not among the functions.
    await testPage.click("#tab-functions");
    const functions = await testPage.evaluate(() => window.pytraceViewer.functionsTable.sorted.map((r) => r.qualname));
    assert.ok(functions.length > 0);
    assert.deepEqual(functions.filter((name) => tests.some((t) => t.nodeid === name)), []);
    await testPage.click("#tab-tests");
    // A click shows the test in the tree, selected.
    const failed = entries.find((t) => t.outcome === "failed");
    await testPage.click(`#tests-table tbody tr:has(td:text-is("${failed.nodeid}"))`);
    await testPage.waitForSelector(`#tree-rows .row.selected[data-call="${failed.id}"]`);
    assert.equal(await testPage.isVisible("#tree"), true);
  });
});

test("a large trace is drawn a screenful at a time; server flags set the start state", async () => {
  // About 190,000 calls; the 10^6-call figures are bench/run_viewer_bench.mjs's.
  const bigPath = join(workdir, "big.json");
  const big = traceProgram(join(HERE, "..", "..", "bench", "workloads", "mixed.py"), bigPath, "3000");
  const n = big.trace_data.length;
  assert.ok(n > 150000, `only ${n} calls`);
  await onOwnPage([bigPath, "--hide-imports", "--no-patterns"], async (bigPage) => {
    assert.equal(await bigPage.isChecked("#show-imports"), false);
    assert.equal(await bigPage.isChecked("#show-patterns"), false);
    assert.equal(await bigPage.$$eval(".row.group-header", (rows) => rows.length), 0);
    const imports = big.trace_data.filter(isImport).length;
    assert.ok(imports > 0);
    assert.equal(await bigPage.evaluate(() => window.pytraceViewer.rowCount), n - imports);
    // The last call, at the very bottom; never more than a screenful of rows.
    await bigPage.evaluate(() => {
      const tree = document.getElementById("tree");
      tree.scrollTop = tree.scrollHeight;
  });
  await bigPage.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  const rows = await renderedRows(bigPage);
  assert.ok(rows.length < 100, `${rows.length} rows in the page`);
  const lastShown = big.trace_data.filter((e) => !isImport(e)).at(-1);
  assert.equal(rows.at(-1).id, lastShown.id);
  assert.equal(rows.at(-1).name, lastShown.qualname);
  // Search reaches a call deep in the trace.
  await bigPage.fill("#search-input", "Account.balance");
  await bigPage.click("#search-prev");
  const balances = big.trace_data.filter((e) => e.qualname === "Account.balance");
  assert.equal(await bigPage.textContent("#search-status"), `Match ${balances.length.toLocaleString("en-US")} of ${balances.length.toLocaleString("en-US")}.`);
  assert.ok(await bigPage.$(`#tree-rows .row.selected[data-call="${balances.at(-1).id}"]`));
  });
});

test("past 8,000,000 px of rows the wheel and the arrow keys still move a row at a time", async () => {
  // 400,000 rows of 22 px: more than a browser lets an element be, so the
  // scroll bar stands for rows in proportion; no row may be skipped.
  const n = 400000;
  const path = join(workdir, "flat.json");
  const entries = [];
  for (let i = 0; i < n; i++)
    entries.push(
      `{"event":"function_call","location":"flat.py:${i}","name":"f${i}","call_type":"function_call","is_external":false,` +
        `"depth":${i ? 1 : 0},"id":${i},"parent_id":${i ? 0 : null},"thread_id":1,"pid":1,"start_ns":${i},"duration_ns":1}`
    );
  writeFileSync(path, `{"metadata":{},"trace_data":[${entries.join(",")}]}`);
  await onOwnPage([path, "--no-patterns"], async (flatPage) => {
    const firstRow = () => flatPage.$eval("#tree-rows .row.call", (row) => Number(row.dataset.call));
    await flatPage.locator("#tree").scrollIntoViewIfNeeded();
    const tree = await flatPage.locator("#tree").boundingBox();
    await flatPage.evaluate(() => window.pytraceViewer.scrollToRow(200000));
    await nextFrame(flatPage);
    let top = await firstRow();
    await flatPage.mouse.move(tree.x + tree.width / 2, tree.y + 100);
    for (let k = 1; k <= 5; k++) {
      await flatPage.mouse.wheel(0, 22);
      await nextFrame(flatPage);
      assert.equal(await firstRow(), top + k, `wheel step ${k}`);
    }
    top += 5;
    // The arrow keys: the selection moves a row, the view follows it.
    const last = await flatPage.$$eval("#tree-rows .row.call", (rows) => Number(rows.at(-1).dataset.call));
    await flatPage.click(`#tree-rows .row[data-call="${last - 1}"] .name`);
    for (let k = 0; k < 3; k++) await flatPage.keyboard.press("ArrowDown");
    await nextFrame(flatPage);
    assert.equal(await flatPage.evaluate(() => window.pytraceViewer.selected), last + 2);
    assert.ok(await flatPage.$(`#tree-rows .row.selected[data-call="${last + 2}"]`), "the selected row left the view");
    assert.ok((await firstRow()) > top, "the view did not follow");
    // The scroll bar's end is the last row.
    await flatPage.evaluate(() => {
      const node = document.getElementById("tree");
      node.scrollTop = node.scrollHeight;
  });
  await nextFrame(flatPage);
  assert.equal(await flatPage.$$eval("#tree-rows .row.call", (rows) => Number(rows.at(-1).dataset.call)), n - 1);
  });
});

test("a trace of the original tool (no times) has no timeline, says why, and refuses exports", async () => {
  const path = join(workdir, "original.json");
  const entry = (name, depth) => ({ event: "function_call", location: "demo.py:" + depth, parent_location: null,
    parent_call: null, name, arguments: {}, depth, is_external: false, call_type: "function_call", args: {}, kwargs: {} });
  writeFileSync(path, JSON.stringify({ metadata: {}, trace_data: [entry("main", 0), entry("step", 1), entry("step", 1)] }));
  await onOwnPage([path], async (originalPage) => {
    assert.match(await originalPage.textContent("#timeline-note"), /no start times/);
    assert.equal(await originalPage.isVisible("#timeline"), false);
    assert.deepEqual(await originalPage.evaluate(() => window.pytraceViewer.rowCallIds()), [0, 1]); // step × 2
    await originalPage.click("button[data-export=chrome]");
    await originalPage.waitForSelector("#export-status.failed");
    assert.match(await originalPage.textContent("#export-status"), /Not exported: .*start time/);
    await originalPage.click("#tab-functions");
    assert.deepEqual(await originalPage.evaluate(() => window.pytraceViewer.functionsTable.sorted.map((r) => [r.qualname, r.calls])),
      [["main", 1], ["step", 2]]);
  });
});

test("executed lines are counted and listed in the panel of the call that ran them", async () => {
  const linesPath = join(workdir, "lines.json");
  const traced = traceProgram(join(HERE, "app", "app.py"), linesPath, "--track-executed-lines");
  const groups = traced.trace_data.filter((e) => e.event === "executed_line");
  const count = groups.reduce((n, g) => n + g.lines.length, 0);
  assert.equal(groups.length, traced.metadata.executed_lines_count); // entries, as the original counted
  await onOwnPage([linesPath, "--no-patterns"], async (linesPage) => {
    const figure = await linesPage.textContent("#summary-figures tr[data-figure=executed_lines] td:last-child");
    assert.equal(figure, count.toLocaleString("en-US"));
    // The call whose frame ran the most line groups: its panel lists them all, in order.
    const byCall = new Map();
    for (const g of groups) byCall.set(g.call_id, [...(byCall.get(g.call_id) || []), g]);
    const [id, own] = [...byCall.entries()].filter(([key]) => key !== null).sort((a, b) => b[1].length - a[1].length)[0];
    // The page numbers calls among the calls; executed_line entries have ids too.
    const call = traced.trace_data.filter((e) => e.event !== "executed_line").findIndex((e) => e.id === id);
    await scrollToCall(linesPage, call);
    await linesPage.click(`#tree-rows .row[data-call="${call}"] .name`);
    await linesPage.waitForSelector("#detail-lines li");
    // Rows and the panel are numbered with the document's ids, executed_line entries counted.
    assert.equal(await linesPage.textContent(`#tree-rows .row[data-call="${call}"] .num`), "#" + id);
    const listed = await linesPage.$$eval("#detail-lines li .lines", (items) => items.map((i) => i.textContent));
    assert.deepEqual(listed, own.map((g) => g.lines.join(", ")));
  });
});
