// SPDX-License-Identifier: MIT
// Takes the README's screenshot of the viewer: a trace of examples/demo.py
// with a call selected.
//
// usage: node tests/viewer/screenshot.mjs URL OUTPUT.png [CALL_ID]
//   (URL: a running serve_visualization.sh)
import { launchBrowser } from "./browser.mjs";

const [url, output, call = "30"] = process.argv.slice(2);
if (!url || !output) {
  console.error("usage: node screenshot.mjs URL OUTPUT.png [CALL_ID]");
  process.exit(2);
}
const { context, close } = await launchBrowser();
const page = await context.newPage();
await page.setViewportSize({ width: 1400, height: 1300 });
await page.goto(url);
await page.waitForSelector("body[data-ready=true]");
await page.evaluate((id) => {
  const viewer = window.pytraceViewer;
  viewer.reveal(Number(id));
  // The selected row near the top of the tree, which starts half-way down the window.
  viewer.tree.scrollTop = Math.max(0, viewer.rowOfCall(Number(id)) - 8) * 22;
}, call);
await page.waitForSelector("#detail-fields");
await page.screenshot({ path: output });
await close();
console.log("wrote " + output);
