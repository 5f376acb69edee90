// SPDX-License-Identifier: MIT
// How long the viewer takes to open large traces and to answer, measured in
// headless chromium: traces bench/workloads/mixed.py at a few sizes, starts
// pytrace_view on each, and times reading the trace, opening the page, and
// the heaviest actions (every repetition of the biggest group listed, a
// filter, a search, a jump to the bottom), and the timeline: drawing the
// whole trace, then zooming in with Ctrl+wheel step by step (the time its
// draw takes in the page, and the time to the next painted frame). As a
// baseline, the same browser
// fetches the raw trace and parses it with JSON.parse, which is what a page
// holding the whole trace has to do at least.
//
// usage: sudo node bench/run_viewer_bench.mjs [--rounds 3000,20000] [--build DIR] [--python PATH]
//   (needs tests/viewer/node_modules: scripts/setup.sh --deps-only)
import { spawn, spawnSync } from "node:child_process";
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { launchBrowser } from "../tests/viewer/browser.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3000,20000" },
    build: { type: "string", default: join(ROOT, "build") },
    python: { type: "string" },
  },
});
const traceProgram = join(args.build, "cli", "trace_program");
const view = join(args.build, "viewer", "pytrace_view");

function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function peakMemoryMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

async function startView(trace) {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(view, [trace, String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("Press Ctrl-C")) resolve();
    });
    child.on("exit", (code) => reject(new Error("pytrace_view exited with " + code)));
  });
  return { child, url: `http://127.0.0.1:${port}/`, seconds: (performance.now() - started) / 1000 };
}

// A plain server with an empty page and the trace file, for the baseline.
function serveRawTrace(trace) {
  return new Promise((resolve) => {
    const server = createHttpServer((request, response) => {
      if (request.url === "/trace.json") {
        response.writeHead(200, { "Content-Type": "application/json", "Content-Length": statSync(trace).size });
        createReadStream(trace).pipe(response);
      } else {
        response.writeHead(200, { "Content-Type": "text/html" });
        response.end("<!doctype html><title>raw</title>");
      }
    });
    server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${server.address().port}/` }));
  });
}

const median = (values) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];

// The timeline: the whole trace drawn five times; then 30 wheel steps
// zooming in at the middle of the canvas. Each draw's own time (measured by
// the page around its canvas work) and each step's time to the next frame.
async function measureTimeline(page) {
  const whole = [];
  for (let k = 0; k < 5; k++)
    whole.push(
      await page.evaluate(() => {
        const t = window.pytraceViewer.timeline;
        t.view = { t0: t.span.begin, t1: t.span.end };
        t.draw();
        return t.lastDrawMs;
      })
    );
  const boxes = await page.evaluate(() => window.pytraceViewer.timeline.boxCount);
  const canvas = await page.locator("#timeline-canvas").boundingBox();
  await page.mouse.move(canvas.x + canvas.width / 2, canvas.y + canvas.height / 2);
  const draws = [];
  const frames = [];
  await page.keyboard.down("Control"); // Ctrl+wheel zooms
  for (let k = 0; k < 30; k++) {
    frames.push(await timed(page, () => page.mouse.wheel(0, -200)));
    draws.push(await page.evaluate(() => window.pytraceViewer.timeline.lastDrawMs));
  }
  await page.keyboard.up("Control");
  // What a step costs the harness alone: a frame with nothing to do.
  const idle = [];
  for (let k = 0; k < 10; k++) idle.push(await timed(page, async () => {}));
  const shown = await page.evaluate(() => {
    const t = window.pytraceViewer.timeline;
    return { width: t.view.t1 - t.view.t0, span: t.span.end - t.span.begin };
  });
  return { whole, boxes, draws, frames, idle, shown };
}

// Runs `action` in the page and waits for the next frame to be drawn.
async function timed(page, action) {
  const started = performance.now();
  await action();
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  return Math.round(performance.now() - started);
}

async function measure(rounds, browser, workdir) {
  const trace = join(workdir, `mixed-${rounds}.json`);
  let started = performance.now();
  const python = args.python ? ["--python", args.python] : []; // else the one trace_program was built with
  const traced = spawnSync(traceProgram, [...python, join(ROOT, "bench/workloads/mixed.py"), String(rounds), "-o", trace], {
    encoding: "utf8",
  });
  if (traced.status !== 0) throw new Error("trace_program failed:\n" + traced.stderr);
  const traceSeconds = (performance.now() - started) / 1000;
  const bytes = statSync(trace).size;

  const server = await startView(trace);
  const memory = peakMemoryMb(server.child.pid);
  const page = await browser.context.newPage();
  started = performance.now();
  await page.goto(server.url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 600000 });
  const openSeconds = (performance.now() - started) / 1000;
  const calls = await page.evaluate(() => window.pytraceViewer.m.n);
  const modelMb = Number((await (await fetch(server.url + "api/model", { method: "HEAD" })).headers.get("content-length"))) / 1048576;

  const biggest = await page.evaluate(() => {
    const m = window.pytraceViewer.m;
    let best = 0;
    for (let g = 1; g < m.groupCount; g++) if (m.gLast[g] - m.gFirst[g] > m.gLast[best] - m.gFirst[best]) best = g;
    return best;
  });
  const actions = {};
  actions["list every repetition"] = await timed(page, () =>
    page.evaluate((g) => {
      const viewer = window.pytraceViewer;
      viewer.groupMode[g] = 2;
      viewer.rebuild();
    }, biggest)
  );
  const rows = await page.evaluate(() => window.pytraceViewer.rowCount);
  actions["hide external calls"] = await timed(page, () => page.setChecked("#type-external_call", false));
  await page.setChecked("#type-external_call", true);
  const timeline = await measureTimeline(page);
  actions["open the functions table"] = await timed(page, () => page.click("#tab-functions"));
  await page.click("#tab-tree");
  actions["jump to the bottom"] = await timed(page, () =>
    page.evaluate(() => {
      const tree = document.getElementById("tree");
      tree.scrollTop = tree.scrollHeight;
    })
  );
  await page.fill("#search-input", "Account.balance");
  actions["search, last match"] = await timed(page, () => page.click("#search-prev"));
  actions["collapse all groups"] = await timed(page, () => page.click("#collapse-all"));
  await page.close();

  // Baseline: the raw trace into the same browser, parsed whole.
  const raw = await serveRawTrace(trace);
  const rawPage = await browser.context.newPage();
  await rawPage.goto(raw.url);
  const baseline = await rawPage.evaluate(async () => {
    const started = performance.now();
    try {
      const doc = JSON.parse(await (await fetch("trace.json")).text());
      return { seconds: (performance.now() - started) / 1000, calls: doc.trace_data.length };
    } catch (error) {
      return { error: error.message };
    }
  });
  await rawPage.close();
  raw.server.close();
  server.child.kill("SIGINT");
  rmSync(trace, { force: true });
  return { calls, bytes, traceSeconds, readSeconds: server.seconds, memory, modelMb, openSeconds, rows, actions, timeline, baseline };
}

const workdir = mkdtempSync(join(tmpdir(), "pytrace-viewer-bench-"));
const browser = await launchBrowser();
try {
  for (const rounds of args.rounds.split(",").map(Number)) {
    const r = await measure(rounds, browser, workdir);
    console.log(
      `${r.calls.toLocaleString("en-US")} calls, trace ${(r.bytes / 1048576).toFixed(0)} MB (traced in ${r.traceSeconds.toFixed(1)} s): ` +
        `server ready in ${r.readSeconds.toFixed(2)} s (peak ${r.memory.toFixed(0)} MB), model ${r.modelMb.toFixed(1)} MB, ` +
        `page ready in ${r.openSeconds.toFixed(2)} s`
    );
    for (const [action, ms] of Object.entries(r.actions)) console.log(`    ${action}: ${ms} ms`);
    const t = r.timeline;
    console.log(
      `    timeline, the whole trace: drawn in ${median(t.whole).toFixed(1)} ms (median of 5; max ${Math.max(...t.whole).toFixed(1)} ms), ` +
        `${t.boxes.toLocaleString("en-US")} boxes`
    );
    console.log(
      `    timeline, 30 wheel steps in to ${(t.shown.width / 1e3).toFixed(1)} µs of ${(t.shown.span / 1e6).toFixed(0)} ms: ` +
        `draw median ${median(t.draws).toFixed(1)} ms, max ${Math.max(...t.draws).toFixed(1)} ms; ` +
        `next frame median ${median(t.frames)} ms, max ${Math.max(...t.frames)} ms ` +
        `(a frame with nothing to draw: median ${median(t.idle)} ms through this harness)`
    );
    console.log(`    rows with every repetition listed: ${r.rows.toLocaleString("en-US")}`);
    const b = r.baseline;
    console.log(
      b.error
        ? `    baseline, the raw trace parsed in the page: fails (${b.error})`
        : `    baseline, the raw trace parsed in the page: ${b.seconds.toFixed(2)} s ` +
            `(${(b.seconds / r.openSeconds).toFixed(1)}x the viewer's page, without building anything from it)`
    );
  }
} finally {
  await browser.close();
  rmSync(workdir, { recursive: true, force: true });
}
