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
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM, launchBrowser } from "./browser.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const TRACE_PROGRAM = process.env.PYTRACE_TRACE_PROGRAM;
const VIEW = process.env.PYTRACE_VIEW;
const PYTHON = process.env.PYTRACE_PYTHON;

function skip(reason) {
  console.log("SKIP: " + reason);
  process.exit(77);
}
if (!TRACE_PROGRAM || !VIEW || !PYTHON) skip("set PYTRACE_TRACE_PROGRAM, PYTRACE_VIEW and PYTRACE_PYTHON");
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
      internal: count((e) => !e.is_external),
      external: count((e) => e.is_external),
      imports: count(isImport),
      non_imports: count((e) => !isImport(e)),
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
      loc: r.querySelector(".loc").textContent,
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

async function setChecked(page, selector, checked) {
  await page.setChecked(selector, checked);
  await page.evaluate(() => new Promise(requestAnimationFrame));
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
  const nestedHeader = page.locator(".row.group-header", { hasText: `calls #${nested.first_id}-#${nested.last_id},` });
  assert.equal(await nestedHeader.count(), 1, "the nested group is drawn inside the template");

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
  assert.equal(await nestedHeader.count(), 0);

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

  // Collapse all, expand all.
  await page.click("#collapse-all");
  assert.equal(await page.$$eval(".row.group-header", (rows) => rows.filter((r) => r.textContent.includes("▼")).length), 0);
  await page.click("#expand-all");
  assert.equal(await page.$$eval(".row.group-header", (rows) => rows.filter((r) => r.textContent.includes("▶")).length), 0);
});

test("external calls, imports and a call type can be hidden", async () => {
  await setChecked(page, "#show-patterns", false);
  const all = doc.trace_data.map((e) => e.id);
  const shownText = async () => (await page.textContent("#shown-count")).replace(/,/g, "");

  await setChecked(page, "#show-external", false);
  let expected = doc.trace_data.filter((e) => !e.is_external).map((e) => e.id);
  assert.deepEqual(await rowIds(page), expected);
  assert.ok(!(await renderedRows(page)).some((r) => r.external));
  assert.match(await shownText(), new RegExp(`Showing ${expected.length} of ${all.length} calls`));
  await setChecked(page, "#show-external", true);
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
  await setChecked(page, "#show-external", false);
  await setChecked(page, "#show-imports", false);
  await setChecked(page, "#type-lambda_function", false);
  const expected = doc.trace_data
    .filter((e) => !e.is_external && !isImport(e) && e.call_type !== "lambda_function")
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
  await setChecked(page, "#show-external", true);
  await setChecked(page, "#show-imports", true);
});

test("the page raised no errors", () => {
  assert.deepEqual(pageErrors, []);
});

test("a large trace is drawn a screenful at a time; server flags set the start state", async () => {
  // About 190,000 calls; the 10^6-call figures are bench/run_viewer_bench.mjs's.
  const bigPath = join(workdir, "big.json");
  const big = traceProgram(join(HERE, "..", "..", "bench", "workloads", "mixed.py"), bigPath, "3000");
  const n = big.trace_data.length;
  assert.ok(n > 150000, `only ${n} calls`);
  const bigServer = await serve(bigPath, "--hide-imports", "--no-patterns");
  try {
    const { page: bigPage, errors } = await openViewer(browser.context, bigServer.url);
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
    assert.deepEqual(errors, []);
    await bigPage.close();
  } finally {
    await bigServer.stop();
  }
});

test("executed lines are counted and listed in the panel of the call that ran them", async () => {
  const linesPath = join(workdir, "lines.json");
  const traced = traceProgram(join(HERE, "app", "app.py"), linesPath, "--track-executed-lines");
  const groups = traced.trace_data.filter((e) => e.event === "executed_line");
  const count = groups.reduce((n, g) => n + g.lines.length, 0);
  assert.equal(groups.length, traced.metadata.executed_lines_count); // entries, as the original counted
  const linesServer = await serve(linesPath, "--no-patterns");
  try {
    const { page: linesPage, errors } = await openViewer(browser.context, linesServer.url);
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
    assert.deepEqual(errors, []);
    await linesPage.close();
  } finally {
    await linesServer.stop();
  }
});
