// SPDX-License-Identifier: MIT
// The timeline (flame chart): per thread a lane, time on x, nesting on y,
// painted on a canvas from timeline_layout.js's boxes for the view alone.
//
// Mouse: Ctrl+wheel (or a pinch) zooms at the pointer, the wheel scrolls
// the lanes (the page once they end), Shift+wheel pans, dragging pans, a
// click selects. Keys (with the timeline focused): + and - (or W and S)
// zoom, the left and right arrows (or A and D) pan, up and down scroll the
// lanes, 0 shows the whole trace.
import { $, frameScheduler } from "./dom.js";
import { fmtDuration, fmtTime, threadLabel, typeStyle } from "./format.js";
import {
  BOX_HEIGHT,
  LANE_HEADER,
  callAt,
  emptyBoxes,
  laneLayout,
  panView,
  traceSpan,
  viewShowing,
  visibleBoxes,
  zoomView,
} from "./timeline_layout.js";

const AXIS_HEIGHT = 20;
const MIN_LABEL_PX = 36; // boxes narrower than this have no name in them

export class Timeline {
  constructor(app) {
    this.app = app;
    this.m = app.m;
    this.canvas = $("timeline-canvas");
    this.span = traceSpan(this.m);
    this.view = { t0: this.span.begin, t1: this.span.end };
    this.scrollY = 0;
    this.lanes = [];
    this.lanesHeight = 0;
    this.drawn = []; // per lane in view: {lane, boxes}, for clicks
    this.lastDrawMs = 0; // how long the last draw took (bench/run_viewer_bench.mjs reads it)
    this.boxCount = 0;
    this.colours = new Map();
    this.scheduleDraw = frameScheduler(() => this.draw());
    if (!this.m.hasTimes) {
      $("timeline-note").textContent =
        "This trace has no start times (the original tool's traces and trace_where's stacks have none): there is no timeline.";
      this.canvas.parentElement.hidden = true;
      return;
    }
    this.listen();
    new ResizeObserver(this.scheduleDraw).observe(this.canvas.parentElement);
  }

  listen() {
    const canvas = this.canvas;
    canvas.addEventListener("wheel", (event) => this.onWheel(event), { passive: false });
    canvas.addEventListener("pointerdown", (event) => this.onPointerDown(event));
    canvas.addEventListener("keydown", (event) => this.onKey(event));
  }

  width() {
    return this.canvas.clientWidth || 1;
  }

  height() {
    return this.canvas.clientHeight || 1;
  }

  setFiltered() {
    const { lanes, height } = laneLayout(this.m, this.app.filtered);
    this.lanes = lanes;
    this.lanesHeight = height;
    // At first, as tall as the lanes (within bounds); the user may resize it.
    if (!this.sized) {
      this.sized = true;
      this.canvas.parentElement.style.height = Math.min(Math.max(AXIS_HEIGHT + height + 2, 120), 480) + "px";
    }
    this.scrollTo(this.scrollY);
  }

  scrollTo(y) {
    this.scrollY = Math.max(0, Math.min(y, this.lanesHeight - (this.height() - AXIS_HEIGHT)));
    this.scheduleDraw();
  }

  setView(view) {
    this.view = view;
    this.scheduleDraw();
  }

  showAll() {
    this.setView({ t0: this.span.begin, t1: this.span.end });
  }

  timeAt(x) {
    return this.view.t0 + (x / this.width()) * (this.view.t1 - this.view.t0);
  }

  zoom(factor, x = this.width() / 2) {
    this.setView(zoomView(this.view, factor, this.timeAt(x), this.span));
  }

  pan(fraction) {
    this.setView(panView(this.view, fraction * (this.view.t1 - this.view.t0), this.span));
  }

  onWheel(event) {
    const delta = event.deltaMode === 1 ? event.deltaY * 20 : event.deltaY;
    if (event.ctrlKey || event.metaKey) {
      this.zoom(Math.pow(1.002, delta), event.offsetX);
    } else if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
      this.pan((event.shiftKey ? delta : event.deltaX) / this.width());
    } else {
      const before = this.scrollY;
      this.scrollTo(this.scrollY + delta);
      if (this.scrollY === before) return; // at the lanes' end: the page scrolls
    }
    event.preventDefault();
  }

  // Dragging pans; a press and release without moving is a click.
  onPointerDown(event) {
    if (event.button !== 0) return;
    this.canvas.focus();
    const startX = event.clientX;
    const startY = event.clientY;
    const view = this.view;
    const scrollY = this.scrollY;
    let moved = false;
    const move = (e) => {
      const dx = e.clientX - startX;
      const dy = e.clientY - startY;
      if (Math.abs(dx) + Math.abs(dy) > 3) moved = true;
      if (!moved) return;
      this.setView(panView(view, (-dx / this.width()) * (view.t1 - view.t0), this.span));
      this.scrollTo(scrollY - dy);
    };
    const up = (e) => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      if (!moved) this.clickAt(e.clientX - this.canvas.getBoundingClientRect().left, e.clientY - this.canvas.getBoundingClientRect().top);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }

  clickAt(x, y) {
    for (const { lane, boxes } of this.drawn) {
      const top = AXIS_HEIGHT + lane.top - this.scrollY + LANE_HEADER;
      if (y < top || y >= top + (lane.height - LANE_HEADER)) continue;
      const call = callAt(boxes, x, Math.floor((y - top) / BOX_HEIGHT));
      if (call >= 0) this.app.select(call, "timeline");
      return;
    }
  }

  onKey(event) {
    const key = event.key.toLowerCase();
    const actions = {
      "+": () => this.zoom(0.5),
      "=": () => this.zoom(0.5),
      w: () => this.zoom(0.5),
      "-": () => this.zoom(2),
      s: () => this.zoom(2),
      arrowleft: () => this.pan(-0.2),
      a: () => this.pan(-0.2),
      arrowright: () => this.pan(0.2),
      d: () => this.pan(0.2),
      arrowup: () => this.scrollTo(this.scrollY - 3 * BOX_HEIGHT),
      arrowdown: () => this.scrollTo(this.scrollY + 3 * BOX_HEIGHT),
      0: () => this.showAll(),
    };
    const action = actions[key];
    if (!action || event.ctrlKey || event.metaKey || event.altKey) return;
    event.preventDefault();
    action();
  }

  // The selected call in sight: the view moves (and zooms out or in) only
  // as far as it must.
  showCall(call) {
    if (!this.m.hasTimes) return;
    const m = this.m;
    this.setView(viewShowing(this.view, m.start[call], m.endTime(call), this.span, this.width()));
    const lane = this.lanes.find((l) => l.thread === m.thread[call]);
    if (lane) {
      const y = lane.top + LANE_HEADER + this.app.filtered.shownDepth[call] * BOX_HEIGHT;
      const visible = this.height() - AXIS_HEIGHT;
      if (y < this.scrollY || y + BOX_HEIGHT > this.scrollY + visible) this.scrollTo(y - visible / 3);
    }
    this.scheduleDraw();
  }

  // The part of a call's box in view, in canvas px ({x0, x1, top}), or null.
  boxOf(call) {
    const m = this.m;
    const lane = this.lanes.find((l) => l.thread === m.thread[call]);
    if (!lane) return null;
    const scale = this.width() / (this.view.t1 - this.view.t0);
    const left = Math.max(m.start[call], this.view.t0);
    const right = Math.min(m.endTime(call), this.view.t1);
    if (right < left) return null;
    return {
      x0: (left - this.view.t0) * scale,
      x1: (right - this.view.t0) * scale,
      top: AXIS_HEIGHT + lane.top - this.scrollY + LANE_HEADER + this.app.filtered.shownDepth[call] * BOX_HEIGHT,
    };
  }

  // The middle of a call's box (canvas px), or null: for the tests.
  pointOf(call) {
    const box = this.boxOf(call);
    return box && { x: (box.x0 + box.x1) / 2, y: box.top + BOX_HEIGHT / 2 };
  }

  draw() {
    if (!this.m.hasTimes) return;
    const began = performance.now();
    const canvas = this.canvas;
    const width = this.width();
    const height = this.height();
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    const m = this.m;
    const app = this.app;
    this.drawn = [];
    this.boxCount = 0;
    for (const lane of this.lanes) {
      const top = AXIS_HEIGHT + lane.top - this.scrollY;
      if (top + lane.height < AXIS_HEIGHT || top > height) continue;
      ctx.fillStyle = "#24292f";
      ctx.fillRect(0, top, width, LANE_HEADER - 2);
      ctx.fillStyle = "#fff";
      ctx.fillText("thread " + threadLabel(m.threads[lane.thread]), 6, top + LANE_HEADER / 2 - 1);
      const boxes = visibleBoxes(m, app.filtered, lane.thread, this.view, width, emptyBoxes());
      this.drawn.push({ lane, boxes });
      this.boxCount += boxes.call.length;
      const callsTop = top + LANE_HEADER;
      for (let k = 0; k < boxes.call.length; k++) {
        const call = boxes.call[k];
        const y = callsTop + boxes.depth[k] * BOX_HEIGHT;
        if (y + BOX_HEIGHT < AXIS_HEIGHT || y > height) continue;
        const x0 = boxes.x0[k];
        const w = boxes.x1[k] - x0;
        ctx.fillStyle = this.colourOf(m.type[call]);
        ctx.globalAlpha = boxes.merged[k] ? 0.55 : 0.85;
        ctx.fillRect(x0, y, Math.max(w - (w > 3 ? 1 : 0), 1), BOX_HEIGHT - 1);
        ctx.globalAlpha = 1;
        if (app.search.matchSet && app.search.matchSet.has(call)) {
          ctx.strokeStyle = "#d4a72c";
          ctx.lineWidth = 2;
          ctx.strokeRect(x0 + 1, y + 1, Math.max(w - 2, 1), BOX_HEIGHT - 3);
        }
        if (w >= MIN_LABEL_PX) {
          const label = m.str(m.qualname[call]) + " " + fmtDuration(m.duration[call]);
          ctx.save();
          ctx.beginPath();
          ctx.rect(Math.max(x0, 0), y, Math.min(w, width), BOX_HEIGHT);
          ctx.clip();
          ctx.fillStyle = "#fff";
          ctx.fillText(label, Math.max(x0, 0) + 3, y + BOX_HEIGHT / 2);
          ctx.restore();
        }
      }
      // The selected call, outlined on top.
      const selected = app.selected;
      if (selected >= 0 && m.thread[selected] === lane.thread && app.filtered.shown[selected]) {
        const box = this.boxOf(selected);
        if (box) {
          ctx.strokeStyle = "#1f2328";
          ctx.lineWidth = 2;
          ctx.strokeRect(box.x0, box.top, Math.max(box.x1 - box.x0, 2), BOX_HEIGHT - 1);
        }
      }
    }
    this.drawAxis(ctx, width);
    this.drawScrollBar(ctx, width, height);
    this.lastDrawMs = performance.now() - began;
    const step = (this.view.t1 - this.view.t0) / 10;
    $("timeline-range").textContent =
      fmtTime(this.view.t0 - this.span.begin, step) + " – " + fmtTime(this.view.t1 - this.span.begin, step) + " of " +
      fmtDuration(Math.round(this.span.end - this.span.begin)) + " (from the first call to the last return)";
  }

  // Where the view is among the lanes, when they do not all fit.
  drawScrollBar(ctx, width, height) {
    const visible = height - AXIS_HEIGHT;
    if (this.lanesHeight <= visible) return;
    ctx.fillStyle = "rgba(31, 35, 40, 0.35)";
    const thumb = Math.max(16, (visible * visible) / this.lanesHeight);
    const top = AXIS_HEIGHT + (this.scrollY / (this.lanesHeight - visible)) * (visible - thumb);
    ctx.fillRect(width - 6, top, 4, thumb);
  }

  // A call type's colour, by its index in the strings.
  colourOf(type) {
    let colour = this.colours.get(type);
    if (colour === undefined) this.colours.set(type, (colour = typeStyle(this.m.str(type))[1]));
    return colour;
  }

  // Ticks at 1, 2 or 5 times a power of ten, about every 100 px.
  drawAxis(ctx, width) {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, AXIS_HEIGHT);
    const range = this.view.t1 - this.view.t0;
    const rough = (range / width) * 100;
    const power = Math.pow(10, Math.floor(Math.log10(rough)));
    const step = [1, 2, 5, 10].map((k) => k * power).find((s) => s >= rough);
    ctx.fillStyle = "#59636e";
    ctx.strokeStyle = "#d1d9e0";
    ctx.lineWidth = 1;
    const first = Math.ceil((this.view.t0 - this.span.begin) / step) * step + this.span.begin;
    for (let t = first; t <= this.view.t1; t += step) {
      const x = ((t - this.view.t0) / range) * width;
      ctx.beginPath();
      ctx.moveTo(x + 0.5, AXIS_HEIGHT - 6);
      ctx.lineTo(x + 0.5, AXIS_HEIGHT);
      ctx.stroke();
      ctx.fillText(fmtTime(t - this.span.begin, step), x + 3, AXIS_HEIGHT / 2);
    }
  }
}
