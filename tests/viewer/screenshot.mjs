// SPDX-License-Identifier: MIT
// Takes the README's screenshots of the viewer on a trace of
// examples/demo.py: the page with a call selected, and the timeline zoomed
// to a call with one of its callees selected.
//
// usage: node tests/viewer/screenshot.mjs URL PAGE.png TIMELINE.png [CALL_ID] [ZOOM_TO_QUALNAME]
//   (URL: a running serve_visualization.sh)
import { launchBrowser } from "./browser.mjs";

const [url, pageShot, timelineShot, call = "30", zoomTo = "main"] = process.argv.slice(2);
if (!url || !pageShot || !timelineShot) {
  console.error("usage: node screenshot.mjs URL PAGE.png TIMELINE.png [CALL_ID] [ZOOM_TO_QUALNAME]");
  process.exit(2);
}
const { context, close } = await launchBrowser();
const page = await context.newPage();
await page.setViewportSize({ width: 1400, height: 1300 });
await page.goto(url);
await page.waitForSelector("body[data-ready=true]");
// The timeline from the start of the zoomed-to call to its end, a call selected.
await page.evaluate(
  ([id, qualname]) => {
    const viewer = window.pytraceViewer;
    const m = viewer.m;
    let target = 0;
    while (target < m.n && m.str(m.qualname[target]) !== qualname) target++;
    viewer.reveal(Number(id));
    const t = viewer.timeline;
    const margin = (m.endTime(target) - m.start[target]) * 0.02;
    t.setView({ t0: m.start[target] - margin, t1: m.endTime(target) + margin });
  },
  [call, zoomTo]
);
await page.waitForSelector("#detail-fields");
await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
await page.screenshot({ path: pageShot });
await page.locator("#timeline-panel").screenshot({ path: timelineShot });
await close();
console.log("wrote " + pageShot + " and " + timelineShot);
