// Run by layout_browser.rs through WebDriver's "execute script": returns one
// line for each layout fault a reader would see, or an empty array.
//
// 1. Two visible boxes among headings, paragraphs, labels, legends, form
//    controls, buttons, links and code overlap (neither inside the other).
// 2. Something sticks out of the viewport sideways, so the page scrolls
//    horizontally (content inside a scrolling box such as .table-wrap is fine).
// 3. Text spills out of its own heading, paragraph, label or button.
// 4. A label is neither just above its control nor just before it on the
//    same line (say, left at the end of one line while its field wraps to
//    the next).
const SELECTOR = "h1, h2, p, label, legend, input:not([type=hidden]), select, textarea, button, a, code";
const SLACK = 1; // px: boxes that merely touch do not overlap.

const describe = (el) => {
  const id = el.id ? `#${el.id}` : "";
  const cls = typeof el.className === "string" && el.className ? `.${el.className.trim().split(/\s+/).join(".")}` : "";
  const text = (el.innerText || el.value || "").trim().replace(/\s+/g, " ").slice(0, 40);
  return `<${el.tagName.toLowerCase()}${id}${cls}> "${text}"`;
};
const visible = (el) => {
  const style = getComputedStyle(el);
  return style.visibility !== "hidden" && style.opacity !== "0";
};
// The border boxes an element draws: one per line for inline elements.
const boxes = (el) => Array.from(el.getClientRects()).filter((r) => r.width > SLACK && r.height > SLACK);
const scrollsSideways = (el) => ["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(el).overflowX);
const insideScroller = (el) => {
  for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
    if (scrollsSideways(a)) return true;
  }
  return false;
};

const faults = [];
const items = Array.from(document.querySelectorAll(SELECTOR))
  .filter(visible)
  .map((el) => ({ el, rects: boxes(el) }))
  .filter((item) => item.rects.length > 0);

for (let i = 0; i < items.length; i++) {
  for (let j = i + 1; j < items.length; j++) {
    const a = items[i], b = items[j];
    if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
    const hit = a.rects.some((ra) => b.rects.some((rb) =>
      Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left) > SLACK &&
      Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top) > SLACK));
    if (hit) faults.push(`overlap: ${describe(a.el)} and ${describe(b.el)}`);
  }
}

const width = document.documentElement.clientWidth;
if (document.documentElement.scrollWidth > width + SLACK) {
  faults.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px wide in a ${width} px viewport`);
}
for (const el of document.body.querySelectorAll("*")) {
  if (!visible(el) || insideScroller(el)) continue;
  const r = el.getBoundingClientRect();
  if (r.width > 0 && (r.right > width + SLACK || r.left < -SLACK)) {
    faults.push(`outside the viewport (${Math.round(r.left)}..${Math.round(r.right)} of ${width} px): ${describe(el)}`);
  }
}

for (const el of document.querySelectorAll("h1, h2, p, label, legend, button")) {
  if (!visible(el) || insideScroller(el) || getComputedStyle(el).display === "inline") continue;
  if (el.scrollWidth > el.clientWidth + SLACK) {
    faults.push(`text spills out of its box (${el.scrollWidth} > ${el.clientWidth} px): ${describe(el)}`);
  }
}
const NEAR = 24; // px between a label and its control, at most.
for (const label of document.querySelectorAll("label")) {
  const control = label.control;
  if (!control || label.contains(control) || !visible(label) || boxes(control).length === 0) continue;
  const l = label.getBoundingClientRect(), c = control.getBoundingClientRect();
  const sameLine = Math.min(l.bottom, c.bottom) - Math.max(l.top, c.top) > SLACK
    && l.right <= c.left + SLACK && c.left - l.right <= NEAR;
  const above = l.bottom <= c.top + SLACK && c.top - l.bottom <= NEAR
    && Math.min(l.right, c.right) - Math.max(l.left, c.left) > SLACK;
  if (!sameLine && !above) faults.push(`label away from its control: ${describe(label)}`);
}
return faults;
