// SPDX-License-Identifier: MIT
// Loads pytrace's exports back with each format's own reader from npm, and
// says what it found or what is wrong:
//   Chrome trace events  Chrome DevTools' trace engine (@paulirish/trace_engine)
//   speedscope           speedscope's file format schema (ajv), and the
//                        importer's rules the schema cannot say
//   collapsed stacks     speedscope's own parser of the format, taken from
//                        its release bundle
// None of them validates everything (the trace engine accepts much and
// drops boxes that do not nest; speedscope skips lines it cannot read), so
// each check also fails on what the reader dropped.
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import Ajv from "ajv";
import * as Trace from "@paulirish/trace_engine";
import { polyfillDOMRect } from "@paulirish/trace_engine/analyze-trace.mjs";

const require = createRequire(import.meta.url);
polyfillDOMRect(); // the engine draws on DOMRect

// {threads: [{pid, tid, name, calls, roots}], problems: [...]}
export async function readChromeTrace(json) {
  const problems = [];
  const events = json?.traceEvents;
  if (!Array.isArray(events)) return { problems: ["no traceEvents list"], threads: [] };
  events.forEach((e, i) => {
    for (const key of ["ts", "pid", "tid"]) if (typeof e[key] !== "number") problems.push(`event ${i}: ${key} is not a number`);
    if (typeof e.name !== "string") problems.push(`event ${i}: no name`);
    if (e.ph === "X" && !(typeof e.dur === "number" && e.dur >= 0)) problems.push(`event ${i}: an X event without a duration`);
  });
  const model = Trace.TraceModel.Model.createWithAllHandlers();
  try {
    await model.parse(events);
  } catch (error) {
    return { problems: [...problems, "the trace engine failed: " + error.message], threads: [] };
  }
  const threads = Trace.Handlers.Threads.threadsInTrace(model.parsedTrace().data).map((t) => {
    const dropped = t.entries.filter((e) => !t.entryToNode.has(e));
    for (const e of dropped) problems.push(`${t.pid}/${t.tid}: "${e.name}" at ${e.ts} does not nest: left out of the tree`);
    return { pid: t.pid, tid: t.tid, name: t.name, calls: t.entries.length, roots: t.tree.roots };
  });
  return { threads, problems };
}

const schema = require("speedscope/dist/release/file-format-schema.json");
const validateSpeedscope = new Ajv({ allErrors: true, strict: false }).compile(schema);

// [problems]: the schema, then the importer's rules (CallTreeProfileBuilder).
export function speedscopeProblems(doc) {
  if (!validateSpeedscope(doc)) return validateSpeedscope.errors.map((e) => `schema: ${e.instancePath || "/"} ${e.message}`);
  const problems = [];
  const frames = doc.shared.frames.length;
  doc.profiles.forEach((profile, p) => {
    const open = [];
    let last = -Infinity;
    profile.events.forEach((event, i) => {
      if (!(Number.isInteger(event.frame) && event.frame >= 0 && event.frame < frames))
        problems.push(`profile ${p} event ${i}: no frame ${event.frame}`);
      if (event.at < last) problems.push(`profile ${p} event ${i}: at goes back (${event.at} < ${last})`);
      if (event.at < profile.startValue || event.at > profile.endValue) problems.push(`profile ${p} event ${i}: outside the profile`);
      last = event.at;
      if (event.type === "O") open.push(event.frame);
      else if (open.pop() !== event.frame) problems.push(`profile ${p} event ${i}: closes a frame that is not the innermost`);
    });
    if (open.length) problems.push(`profile ${p}: ${open.length} frames never closed`);
  });
  return problems;
}

// speedscope's parseBGFoldedStacks, from its release bundle (pinned in package.json).
function foldedStacksParser() {
  const dir = require.resolve("speedscope/package.json").replace(/package\.json$/, "dist/release/");
  const bundle = readdirSync(dir).find((f) => /^speedscope-.*\.js$/.test(f));
  const source = readFileSync(dir + bundle, "utf8");
  const found =
    /function [\w$]+\((\w)\)\{let (\w)=\[\];for\(let \w of \1\.splitLines\(\)\)\{let \w=\/\^\(\.\*\) \(\\d\+\)\$\/gm\.exec[^]*?return \2\}/.exec(source);
  if (!found) throw new Error("speedscope's collapsed-stack parser was not found in " + bundle);
  return new Function("return (" + found[0] + ")")();
}
const parseFolded = foldedStacksParser();

// {stacks: [{frames: [names], weight}], problems: [lines the parser skipped]}
export function readCollapsed(text) {
  const stacks = parseFolded({ splitLines: () => text.split("\n") }).map((s) => ({
    frames: s.stack.map((f) => f.name),
    weight: s.duration,
  }));
  const problems = text
    .split("\n")
    .map((line, i) => [i + 1, line])
    .filter(([, line]) => line !== "" && !/^(.*) (\d+)$/.test(line))
    .map(([number, line]) => `line ${number} is skipped by the parser: ${JSON.stringify(line)}`);
  return { stacks, problems };
}
