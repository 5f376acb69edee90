// SPDX-License-Identifier: MIT
// Small DOM helpers. Every text from the trace goes in with textContent,
// never parsed as HTML.
import { typeStyle } from "./format.js";

export function $(id) {
  return document.getElementById(id);
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function badge(type) {
  const [symbol, colour] = typeStyle(type);
  const node = el("span", "badge", symbol);
  node.style.background = colour;
  node.title = type;
  return node;
}

// Runs `draw` once at the next frame however often it is asked for.
export function frameScheduler(draw) {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      draw();
    });
  };
}
