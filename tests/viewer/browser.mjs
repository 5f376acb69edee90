// SPDX-License-Identifier: MIT
// Debian's chromium, headless, driven by playwright-core (which downloads no
// browser of its own), with a fresh profile and nothing that reaches out to
// the network.
import { chromium } from "playwright-core";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM = process.env.PYTRACE_CHROMIUM || "/usr/bin/chromium";

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: run scripts/setup.sh --deps-only (it installs chromium)`);
  const profile = mkdtempSync(join(tmpdir(), "pytrace-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: [
      "--no-sandbox", // root in CI; the page is our own
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-default-apps",
    ],
  });
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}
