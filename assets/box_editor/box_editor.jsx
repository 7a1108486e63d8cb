/**
 * LabelHub bounding-box editor: the browser half of labelhub_app/components/box_editor.py.
 *
 * Design (docs: editor-component-notes.md, part A, the react-konva "shape" design):
 * - Every coordinate in the store and in every event is in ORIGINAL image pixels (imageWidth x
 *   imageHeight), whatever the size of the preview at `src` and whatever the zoom. The Konva
 *   stage transform maps image px -> container px (scale = screen px per image px).
 * - Two layers. The static layer (listening=false) draws the image and every unselected box in ONE
 *   custom sceneFunc: one path per label colour (solid = human, dashed = model) and the label tags,
 *   in screen space with rounded coordinates so 2 px strokes stay crisp. Boxes outside the
 *   viewport are skipped. The active layer holds the selected box (a draggable Rect), an overlay
 *   (its tag, the dashed draft of a new box) and the Transformer; it is all that redraws while a box
 *   is dragged or resized.
 * - Konva's hit canvas is never drawn for the boxes: a uniform grid (64 image px cells) answers
 *   "which box is under the pointer" (the smallest one wins).
 * - Boxes live in a store held by a ref, not in React state; it reloads from `boxes` only when
 *   `boxesKey` changes. Only finished edits (and their undo/redo inverses) go to Python.
 * - This file is a plain asset (public/box_editor/), outside the folders the React compiler
 *   transforms: it mutates refs and the engine during render on purpose (notes, pitfall 9).
 */
import React, { useEffect, useRef, useState } from "react";
import Konva from "konva/lib/Core.js";
import "konva/lib/shapes/Rect.js";
import "konva/lib/shapes/Transformer.js";
import { Layer, Rect, Shape, Stage, Transformer } from "react-konva/lib/ReactKonvaCore.js";

const CELL = 64; // grid cell, image px
const MIN_SIZE = 2; // smallest box side, image px
const FIT_PAD = 12; // screen px around the image when it is fitted
const ZOOM_MIN = 0.1; // of the fit scale
const ZOOM_MAX = 40;
const KEY_ZOOM = 1.25;
const CLICK_SLOP = 3; // screen px a press may move and still be a click
const TAG_H = 15; // label tag height, screen px
const TAG_FONT = "600 11px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const BACKGROUND = "#2b2d31";
const SNAPSHOT_MAX_PX = 6_000_000; // device pixels (24 MB) for the pan snapshot
// Bright, well separated colours that read on photos and on the dark background.
const PALETTE = [
  "#ff4d4f", "#36cfc9", "#ffc53d", "#597ef7", "#73d13d", "#ff85c0", "#b37feb", "#ff9c6e",
  "#40a9ff", "#bae637", "#f759ab", "#13c2c2", "#fadb14", "#9254de", "#ffa940", "#5cdbd3",
];

/** Stable colour of a label name (FNV-1a hash into the palette): same label, same colour, everywhere. */
const colourCache = new Map();
export function labelColour(label) {
  const name = String(label ?? "");
  let c = colourCache.get(name);
  if (c === undefined) {
    let h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) {
      h ^= name.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    c = PALETTE[h % PALETTE.length];
    colourCache.set(name, c);
  }
  return c;
}

function rgba(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

function textOn(hex) {
  const n = parseInt(hex.slice(1), 16);
  const lum = 0.299 * ((n >> 16) & 255) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255);
  return lum > 150 ? "#111" : "#fff";
}

const r1 = (v) => Math.round(v * 10) / 10;
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

function newId() {
  if (typeof crypto !== "undefined" && crypto.randomUUID) return crypto.randomUUID();
  return "b" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
}

/** A box as Python sees it (a fresh object, safe to hand to Reflex). */
function boxOut(b) {
  return {
    id: b.id, label: b.label, x: b.x, y: b.y, w: b.w, h: b.h,
    source: b.source, score: b.score ?? null,
  };
}

function boxIn(raw) {
  const source = raw.source === "model" ? "model" : "human";
  const score = raw.score === null || raw.score === undefined ? null : Number(raw.score);
  return {
    id: String(raw.id), label: String(raw.label ?? ""),
    x: Number(raw.x) || 0, y: Number(raw.y) || 0, w: Number(raw.w) || 0, h: Number(raw.h) || 0,
    source, score,
  };
}

const sameGeometry = (a, b) => a.x === b.x && a.y === b.y && a.w === b.w && a.h === b.h;

/** Boxes in draw order, by id, and in a uniform grid for hit tests. Box objects are never mutated. */
class BoxStore {
  constructor() {
    this.boxes = [];
    this.byId = new Map();
    this.grid = new Map();
  }

  load(list) {
    this.boxes = [];
    this.byId = new Map();
    this.grid = new Map();
    for (const raw of list || []) {
      const b = boxIn(raw);
      if (this.byId.has(b.id)) continue;
      this.boxes.push(b);
      this.byId.set(b.id, b);
      this._index(b, true);
    }
  }

  get(id) {
    return id == null ? undefined : this.byId.get(id);
  }

  /** Insert, replace (keeping the draw order) or, with after = null, remove the box `id`. */
  put(id, after) {
    const before = this.byId.get(id);
    if (before) this._index(before, false);
    if (after) {
      if (before) this.boxes[this.boxes.indexOf(before)] = after;
      else this.boxes.push(after);
      this.byId.set(id, after);
      this._index(after, true);
    } else if (before) {
      this.boxes.splice(this.boxes.indexOf(before), 1);
      this.byId.delete(id);
    }
  }

  _index(b, add) {
    const cx0 = Math.floor(b.x / CELL), cy0 = Math.floor(b.y / CELL);
    const cx1 = Math.floor((b.x + b.w) / CELL), cy1 = Math.floor((b.y + b.h) / CELL);
    for (let cy = cy0; cy <= cy1; cy++) {
      for (let cx = cx0; cx <= cx1; cx++) {
        const key = cy * 65536 + cx;
        let cell = this.grid.get(key);
        if (add) {
          if (!cell) this.grid.set(key, (cell = []));
          cell.push(b);
        } else if (cell) {
          const i = cell.indexOf(b);
          if (i >= 0) cell.splice(i, 1);
        }
      }
    }
  }

  /** The smallest box containing the image point (x, y), skipping `skipId`; later boxes win ties. */
  hit(x, y, skipId) {
    const cell = this.grid.get(Math.floor(y / CELL) * 65536 + Math.floor(x / CELL));
    if (!cell) return undefined;
    let best, bestArea = Infinity;
    for (const b of cell) {
      if (b.id === skipId || x < b.x || y < b.y || x > b.x + b.w || y > b.y + b.h) continue;
      const area = b.w * b.h;
      if (area <= bestArea) {
        best = b;
        bestArea = area;
      }
    }
    return best;
  }
}

const EDITABLE = 'input, textarea, select, [contenteditable=""], [contenteditable="true"]';
const MODAL = '[role="dialog"], [role="alertdialog"], [role="menu"], [role="listbox"]';

/** The imperative editor: Konva nodes, store, selection, gestures, keys, undo/redo. */
class Editor {
  constructor() {
    this.props = {};
    this.store = new BoxStore();
    this.stage = null;
    this.container = null;
    this.staticLayer = null;
    this.activeLayer = null;
    this.activeRect = null;
    this.tr = null;
    this.zoomEl = null;
    this.hintEl = null;
    this.img = null;
    this.imgReady = false;
    this.W = 0; // original image size
    this.H = 0;
    this.view = { w: 0, h: 0 };
    this.sel = null;
    this.undoStack = [];
    this.redoStack = [];
    this.drawMode = false;
    this.gesture = null;
    this.draft = null;
    this.fitted = false; // the view has been fitted once for the current image
    this.userZoomed = false;
    this.curLabel = "";
    this.readOnly = false;
    this.lastSeq = undefined;
    this.loadedSrc = undefined;
    this.drawCount = 0;
    this.lastDrawn = 0; // boxes in the store at the last static draw
    this.drawMs = 0; // duration of the last static draw
    this.readyAt = null; // performance.now() of the first full draw of the current image + boxes
    this.cursor = "";
    this.snap = null; // the pan snapshot, see drawStatic
    this.snapCanvas = null;
    this.textWidths = new Map();
    this.groups = new Map();
  }

  // ---------------------------------------------------------------- emitting to Python
  emit(name, payload) {
    const fn = this.props[name];
    if (typeof fn === "function") {
      if (payload === undefined) fn();
      else fn(payload);
    }
  }

  emitChange(before, after) {
    if (!before) this.emit("onCreate", boxOut(after));
    else if (!after) this.emit("onDelete", boxOut(before));
    else this.emit("onUpdate", boxOut(after));
  }

  // ---------------------------------------------------------------- view
  get scale() {
    return this.stage ? this.stage.scaleX() : 1;
  }

  toImage(p) {
    const s = this.scale;
    return { x: (p.x - this.stage.x()) / s, y: (p.y - this.stage.y()) / s };
  }

  /** Client (page viewport) coordinates of an image point; a test hook. */
  toClient(x, y) {
    const r = this.container.getBoundingClientRect();
    const s = this.scale;
    return { x: r.left + this.stage.x() + x * s, y: r.top + this.stage.y() + y * s };
  }

  clientToStage(ev) {
    const r = this.container.getBoundingClientRect();
    return { x: ev.clientX - r.left, y: ev.clientY - r.top };
  }

  fitScale() {
    if (!this.W || !this.H || !this.view.w || !this.view.h) return 1;
    const s = Math.min((this.view.w - 2 * FIT_PAD) / this.W, (this.view.h - 2 * FIT_PAD) / this.H);
    return s > 0 ? s : Math.min(this.view.w / this.W, this.view.h / this.H) || 1;
  }

  fit() {
    if (!this.stage || !this.W || !this.H) return;
    const s = this.fitScale();
    this.stage.scale({ x: s, y: s });
    this.stage.position({ x: (this.view.w - this.W * s) / 2, y: (this.view.h - this.H * s) / 2 });
    this.userZoomed = false;
    this.fitted = true;
    this.viewChanged();
  }

  zoomAt(factor, px, py) {
    if (!this.stage || !this.W) return;
    const fit = this.fitScale();
    const s0 = this.scale;
    const s1 = clamp(s0 * factor, fit * ZOOM_MIN, fit * ZOOM_MAX);
    if (s1 === s0) return;
    const ix = (px - this.stage.x()) / s0, iy = (py - this.stage.y()) / s0;
    this.stage.scale({ x: s1, y: s1 });
    this.stage.position({ x: px - ix * s1, y: py - iy * s1 });
    this.userZoomed = true;
    this.viewChanged();
  }

  zoomCentre(factor) {
    this.zoomAt(factor, this.view.w / 2, this.view.h / 2);
  }

  viewChanged() {
    if (this.zoomEl) this.zoomEl.textContent = `${Math.round(this.scale * 100)}%`;
    this.redrawAll();
  }

  /** Redraw both layers; anything that changes boxes, selection, image or zoom comes here. */
  redrawAll() {
    this.snap = null;
    this.staticLayer?.batchDraw();
    this.activeLayer?.batchDraw();
  }

  resize(size) {
    if (!size) return;
    this.view = { w: size.w, h: size.h };
    if (!this.stage) return;
    if (!this.userZoomed || !this.fitted) this.fit();
    else this.redrawAll();
  }

  // ---------------------------------------------------------------- inputs from props
  setImage(src) {
    this.imgReady = false;
    this.readyAt = null;
    this.fitted = false;
    if (!src) {
      this.img = null;
      this.redrawAll();
      return;
    }
    const img = new window.Image();
    img.decoding = "async";
    img.onload = () => {
      if (this.img !== img) return;
      this.imgReady = true;
      if (!this.props.imageWidth || !this.props.imageHeight) {
        this.W = img.naturalWidth;
        this.H = img.naturalHeight;
      }
      this.fit();
    };
    img.onerror = () => {
      if (this.img === img) this.redrawAll();
    };
    this.img = img;
    img.src = src;
  }

  setImageSize(w, h) {
    const img = this.img;
    this.W = Number(w) || (img && img.naturalWidth) || 0;
    this.H = Number(h) || (img && img.naturalHeight) || 0;
    this.fitted = false;
    this.fit();
  }

  loadBoxes(list) {
    const keep = this.sel;
    // A reload of the same image keeps the selected box; another image's boxes never inherit it.
    const sameImage = this.loadedSrc === this.props.src;
    this.loadedSrc = this.props.src;
    this.cancelGesture();
    this.store.load(list);
    this.readyAt = null;
    this.undoStack = [];
    this.redoStack = [];
    this.sel = null;
    if (keep && sameImage && this.store.get(keep)) this.select(keep, false);
    else {
      this.hideActive();
      if (keep) this.emit("onSelect", {});
    }
    this.redrawAll();
  }

  setReadOnly(ro) {
    this.readOnly = ro;
    if (ro) this.setDrawMode(false);
    this.syncActiveInteractivity();
  }

  runCommand(cmd) {
    const seq = cmd ? cmd.seq : undefined;
    if (this.lastSeq === undefined) {
      // The first value seen (at mount) is history: a remount must not replay an old delete.
      this.lastSeq = seq ?? null;
      return;
    }
    if (seq === undefined || seq === null || seq === this.lastSeq) return;
    this.lastSeq = seq;
    const id = cmd.id ? String(cmd.id) : this.sel;
    const b = this.store.get(id);
    switch (cmd.kind) {
      case "relabel":
        if (b && !this.readOnly && cmd.label && cmd.label !== b.label) {
          this.edit(b, { ...b, label: String(cmd.label) });
        }
        break;
      case "delete":
        if (b && !this.readOnly) this.edit(b, null);
        break;
      case "accept":
        if (b && b.source === "model") this.decide(b.id, true);
        else this.decideKey(true);
        break;
      case "reject":
        if (b && b.source === "model") this.decide(b.id, false);
        else this.decideKey(false);
        break;
      case "accept_all":
        this.acceptAll(cmd.threshold);
        break;
      case "next_suggestion": {
        const n = this.nextSuggestion(this.sel, cmd.dir === -1 ? -1 : 1);
        if (n) this.select(n.id);
        break;
      }
      case "select":
        this.select(b ? b.id : null);
        break;
      case "fit":
        this.fit();
        break;
      case "zoom_in":
        this.zoomCentre(KEY_ZOOM);
        break;
      case "zoom_out":
        this.zoomCentre(1 / KEY_ZOOM);
        break;
      default:
        break;
    }
  }

  // ---------------------------------------------------------------- edits, undo, redo
  /**
   * Apply before -> after (null before = create, null after = delete) to the store and the view,
   * then tell Python: the change first, then the selection if the selected box went away.
   */
  applyAndEmit(before, after) {
    const id = (after || before).id;
    this.store.put(id, after);
    let deselected = false;
    if (this.sel === id) {
      if (after) this.showActive(after);
      else {
        this.sel = null;
        this.hideActive();
        deselected = true;
      }
    }
    if (this.sel === id && before && after) {
      this.activeLayer?.batchDraw(); // the selected box is not on the static layer
    } else {
      this.redrawAll();
    }
    this.emitChange(before, after);
    if (deselected) this.emit("onSelect", {});
  }

  /** A finished edit: apply it, tell Python, record it for undo (a new edit clears redo). */
  edit(before, after) {
    this.applyAndEmit(before, after);
    this.undoStack.push({ before, after });
    this.redoStack = [];
  }

  /** Several edits that undo and redo as one (accept all above a score). */
  editGroup(pairs) {
    if (!pairs.length) return;
    for (const p of pairs) this.applyAndEmit(p.before, p.after);
    this.undoStack.push({ group: pairs });
    this.redoStack = [];
  }

  undo() {
    const e = this.undoStack.pop();
    if (!e) return;
    if (e.group) for (const p of [...e.group].reverse()) this.applyAndEmit(p.after, p.before);
    else this.applyAndEmit(e.after, e.before);
    this.redoStack.push(e);
  }

  redo() {
    const e = this.redoStack.pop();
    if (!e) return;
    if (e.group) for (const p of e.group) this.applyAndEmit(p.before, p.after);
    else this.applyAndEmit(e.before, e.after);
    this.undoStack.push(e);
  }

  // ---------------------------------------------------------------- suggestions (model boxes)
  /** The suggestions, best score first (ties and missing scores: draw order). */
  suggestions() {
    const list = this.store.boxes.filter((b) => b.source === "model");
    return list
      .map((b, i) => [b, i])
      .sort((p, q) => (q[0].score ?? -1) - (p[0].score ?? -1) || p[1] - q[1])
      .map((p) => p[0]);
  }

  /** The suggestion after (dir 1) or before (dir -1) box `id` in that order, cycling. */
  nextSuggestion(id, dir = 1, skipId = null) {
    const list = this.suggestions().filter((b) => b.id !== skipId);
    if (!list.length) return undefined;
    const i = list.findIndex((b) => b.id === id);
    if (i < 0) return dir > 0 ? list[0] : list[list.length - 1];
    return list[(i + dir + list.length) % list.length];
  }

  /** Accept (the suggestion becomes a human box) or reject (removed); then select the next one. */
  decide(id, accept) {
    const b = this.store.get(id);
    if (!b || b.source !== "model" || this.readOnly) return false;
    const following = this.nextSuggestion(b.id, 1, b.id);
    this.edit(b, accept ? { ...b, source: "human", score: null } : null);
    this.select(following ? following.id : null);
    return true;
  }

  /** A / X: decide on the selected suggestion; with none selected, select the best one first. */
  decideKey(accept) {
    const sel = this.store.get(this.sel);
    if (sel && sel.source === "model") return this.decide(sel.id, accept);
    const first = this.nextSuggestion(null, 1);
    if (first) this.select(first.id);
    return !!first;
  }

  acceptAll(threshold) {
    if (this.readOnly) return;
    const t = Number(threshold);
    const pairs = this.suggestions()
      .filter((b) => b.score != null && b.score >= t)
      .map((b) => ({ before: b, after: { ...b, source: "human", score: null } }));
    this.editGroup(pairs);
  }

  // ---------------------------------------------------------------- selection
  select(id, emit = true) {
    const b = this.store.get(id);
    const next = b ? b.id : null;
    if (next === this.sel) return;
    this.sel = next;
    if (b) this.showActive(b);
    else this.hideActive();
    this.redrawAll();
    if (emit) this.emit("onSelect", b ? boxOut(b) : {});
  }

  showActive(b) {
    const rect = this.activeRect;
    if (!rect) return;
    const colour = labelColour(b.label);
    rect.setAttrs({
      x: b.x, y: b.y, width: b.w, height: b.h, scaleX: 1, scaleY: 1,
      stroke: colour, fill: rgba(colour, 0.22), dash: b.source === "model" ? [6, 4] : [],
      visible: true,
    });
    this.tr?.nodes([rect]);
    this.syncActiveInteractivity();
  }

  hideActive() {
    this.activeRect?.visible(false);
    this.tr?.nodes([]);
  }

  syncActiveInteractivity() {
    const editable = !this.readOnly;
    this.activeRect?.draggable(editable);
    this.tr?.resizeEnabled(editable);
    // In draw mode a press anywhere draws, even over the selected box and its handles.
    this.activeLayer?.listening(!this.drawMode);
  }

  /** The active Rect after a drag or resize: clip to the image, refuse too small, emit if changed. */
  commitActive() {
    const rect = this.activeRect;
    const before = this.store.get(this.sel);
    if (!rect || !before) return;
    const w = rect.width() * rect.scaleX(), h = rect.height() * rect.scaleY();
    const eps = 1e-6;
    if (Math.abs(rect.x() - before.x) < eps && Math.abs(rect.y() - before.y) < eps
        && Math.abs(w - before.w) < eps && Math.abs(h - before.h) < eps) {
      // Not moved (a click-select also fires dragstart/dragend): no edit, and a box from
      // Python with more decimals is not rounded behind the user's back.
      this.showActive(before);
      return;
    }
    const x0 = Math.max(0, rect.x()), y0 = Math.max(0, rect.y());
    const x1 = Math.min(this.W, rect.x() + w), y1 = Math.min(this.H, rect.y() + h);
    if (x1 - x0 < MIN_SIZE || y1 - y0 < MIN_SIZE) {
      this.showActive(before); // a resize below the minimum is reverted
      this.activeLayer?.batchDraw();
      return;
    }
    const after = { ...before, x: r1(x0), y: r1(y0), w: r1(x1 - x0), h: r1(y1 - y0) };
    this.showActive(after);
    this.activeLayer?.batchDraw();
    if (sameGeometry(before, after)) return;
    this.edit(before, after);
  }

  onDragEnd = (e) => {
    if (e.target === this.activeRect) this.commitActive();
  };

  onTransformEnd = () => this.commitActive();

  /** Keep a dragged box inside the image (positions are absolute, i.e. container px). */
  dragBound = (pos) => {
    const rect = this.activeRect;
    const s = this.scale, ox = this.stage.x(), oy = this.stage.y();
    const w = rect.width() * rect.scaleX(), h = rect.height() * rect.scaleY();
    const ix = clamp((pos.x - ox) / s, 0, Math.max(0, this.W - w));
    const iy = clamp((pos.y - oy) / s, 0, Math.max(0, this.H - h));
    return { x: ox + ix * s, y: oy + iy * s };
  };

  /** Keep a resized box inside the image and at least MIN_SIZE (boxes are absolute). */
  boundBox = (oldBox, newBox) => {
    const s = this.scale, ox = this.stage.x(), oy = this.stage.y();
    const x0 = Math.max(newBox.x, ox), y0 = Math.max(newBox.y, oy);
    const x1 = Math.min(newBox.x + newBox.width, ox + this.W * s);
    const y1 = Math.min(newBox.y + newBox.height, oy + this.H * s);
    if (x1 - x0 < MIN_SIZE * s || y1 - y0 < MIN_SIZE * s) return oldBox;
    return { ...newBox, x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
  };

  // ---------------------------------------------------------------- pointer
  onMouseDown = (e) => {
    const ev = e.evt;
    if (this.gesture || !this.stage) return;
    const pos = this.stage.getPointerPosition();
    if (!pos) return;
    const pan = ev.button === 1 || ev.button === 2 || (ev.button === 0 && ev.shiftKey);
    if (pan) {
      ev.preventDefault();
      // A shift-press on the selected box must not also start Konva's drag of it.
      if (this.activeRect) Konva.DD._dragElements.delete(this.activeRect._id);
      this.startGesture("pan", ev, pos);
      return;
    }
    if (ev.button !== 0) return;
    if (e.target !== this.stage) return; // the selected box or a handle: Konva drags it
    if (this.drawMode && !this.readOnly) {
      this.startGesture("draw", ev, pos);
      return;
    }
    const p = this.toImage(pos);
    const hit = this.store.hit(p.x, p.y, this.sel);
    if (hit) {
      this.select(hit.id);
      // Press-and-drag on an unselected box moves it in one gesture.
      if (!this.readOnly) this.activeRect.startDrag(e);
      return;
    }
    this.startGesture(this.readOnly ? "pan" : "draw", ev, pos);
  };

  onHover = (e) => {
    if (this.gesture || !this.stage || Konva.DD.isDragging) return;
    let cursor;
    if (this.drawMode) cursor = "crosshair";
    else if (e.target === this.activeRect) cursor = this.readOnly ? "pointer" : "move";
    else if (e.target !== this.stage) return; // a handle: the Transformer sets its cursor
    else {
      const pos = this.stage.getPointerPosition();
      const p = pos && this.toImage(pos);
      cursor = p && this.store.hit(p.x, p.y, this.sel) ? "pointer" : this.readOnly ? "grab" : "crosshair";
    }
    this.setCursor(cursor);
  };

  setCursor(cursor) {
    if (this.cursor === cursor || !this.stage) return;
    this.cursor = cursor;
    this.stage.content.style.cursor = cursor;
  }

  startGesture(kind, ev, pos) {
    const p = this.toImage(pos);
    this.gesture = {
      kind, sx: pos.x, sy: pos.y, moved: false,
      ix: clamp(p.x, 0, this.W), iy: clamp(p.y, 0, this.H),
      ox: this.stage.x(), oy: this.stage.y(),
    };
    if (kind === "pan") this.setCursor("grabbing");
    window.addEventListener("mousemove", this.onGestureMove);
    window.addEventListener("mouseup", this.onGestureUp);
  }

  onGestureMove = (ev) => {
    const g = this.gesture;
    if (!g) return;
    const pos = this.clientToStage(ev);
    if (!g.moved && Math.max(Math.abs(pos.x - g.sx), Math.abs(pos.y - g.sy)) < CLICK_SLOP) return;
    g.moved = true;
    if (g.kind === "pan") {
      if (!g.snapTried) {
        g.snapTried = true;
        this.snap = this.makeSnapshot();
      }
      this.stage.position({ x: g.ox + pos.x - g.sx, y: g.oy + pos.y - g.sy });
      this.userZoomed = true;
      this.staticLayer?.batchDraw(); // from the snapshot, if there is one
      this.activeLayer?.batchDraw();
      return;
    }
    const p = this.toImage(pos);
    const x = clamp(p.x, 0, this.W), y = clamp(p.y, 0, this.H);
    this.draft = {
      x: Math.min(x, g.ix), y: Math.min(y, g.iy), w: Math.abs(x - g.ix), h: Math.abs(y - g.iy),
    };
    this.activeLayer?.batchDraw();
  };

  onGestureUp = () => {
    const g = this.gesture;
    this.endGesture();
    if (!g) return;
    if (g.kind === "pan") {
      this.setCursor(this.drawMode ? "crosshair" : "");
      if (g.moved) this.redrawAll(); // drop the snapshot: one exact draw at the final position
      return;
    }
    const d = this.draft;
    this.draft = null;
    if (!g.moved || !d) {
      if (!this.drawMode) this.select(null); // a click on empty space
      this.activeLayer?.batchDraw();
      return;
    }
    const x0 = r1(d.x), y0 = r1(d.y);
    const b = {
      id: newId(), label: this.curLabel || (this.props.labels || [])[0] || "object",
      x: x0, y: y0, w: r1(Math.min(this.W, d.x + d.w) - x0), h: r1(Math.min(this.H, d.y + d.h) - y0),
      source: "human", score: null,
    };
    this.setDrawMode(false);
    if (b.w < MIN_SIZE || b.h < MIN_SIZE) {
      this.activeLayer?.batchDraw(); // too small: refused silently
      return;
    }
    this.edit(null, b);
    this.select(b.id);
  };

  endGesture() {
    this.gesture = null;
    window.removeEventListener("mousemove", this.onGestureMove);
    window.removeEventListener("mouseup", this.onGestureUp);
  }

  cancelGesture() {
    if (!this.gesture) return;
    this.endGesture();
    this.draft = null;
    this.redrawAll();
  }

  onWheel = (ev) => {
    if (!this.stage) return;
    ev.preventDefault();
    const pos = this.clientToStage(ev);
    // deltaY is about 100 per mouse-wheel notch, a few units per trackpad event
    const dy = ev.deltaMode === 1 ? ev.deltaY * 33 : ev.deltaY;
    this.zoomAt(Math.exp(-clamp(dy, -300, 300) * 0.0015), pos.x, pos.y);
  };

  onContextMenu = (ev) => ev.preventDefault();

  setDrawMode(on) {
    if (this.drawMode === on) return;
    this.drawMode = on;
    this.syncActiveInteractivity();
    this.setCursor(on ? "crosshair" : "");
    if (this.hintEl) this.hintEl.style.display = on ? "block" : "none";
  }

  // ---------------------------------------------------------------- keyboard
  onKeyDown = (ev) => {
    if (ev.defaultPrevented || ev.isComposing || !this.stage) return;
    const t = ev.target;
    if (t && t.closest && (t.closest(EDITABLE) || t.closest(MODAL) || t.isContentEditable)) return;
    const key = ev.key;
    const mod = ev.ctrlKey || ev.metaKey;
    const lower = key.length === 1 ? key.toLowerCase() : key;
    if (mod && !ev.altKey) {
      if (lower === "z") {
        ev.preventDefault();
        if (this.gesture || Konva.DD.isDragging) return;
        if (ev.shiftKey) this.redo();
        else this.undo();
      } else if (lower === "y") {
        ev.preventDefault();
        if (!this.gesture && !Konva.DD.isDragging) this.redo();
      } else if (lower === "s") {
        ev.preventDefault();
        if (!ev.repeat) this.emit("onSave");
      }
      return;
    }
    if (ev.altKey) return;
    const sel = this.store.get(this.sel);
    if (key >= "1" && key <= "9" && key.length === 1) {
      const label = (this.props.labels || [])[Number(key) - 1];
      if (label === undefined || this.readOnly) return;
      ev.preventDefault();
      this.curLabel = String(label);
      this.emit("onLabelKey", String(label));
      if (sel && sel.label !== label) this.edit(sel, { ...sel, label: String(label) });
      return;
    }
    switch (key) {
      case " ":
        ev.preventDefault();
        if (!ev.repeat) this.emit("onSaveNext");
        return;
      case "?":
        ev.preventDefault();
        this.emit("onHelp");
        return;
      case "Escape":
        if (this.gesture) this.cancelGesture();
        if (this.drawMode) this.setDrawMode(false);
        else this.select(null);
        return;
      case "Delete":
      case "Backspace":
        if (sel && !this.readOnly && !Konva.DD.isDragging) {
          ev.preventDefault();
          this.edit(sel, null);
        }
        return;
      case "ArrowLeft":
      case "ArrowRight":
      case "ArrowUp":
      case "ArrowDown": {
        if (!sel || this.readOnly || Konva.DD.isDragging) return;
        ev.preventDefault();
        const step = ev.shiftKey ? 10 : 1;
        const dx = key === "ArrowLeft" ? -step : key === "ArrowRight" ? step : 0;
        const dy = key === "ArrowUp" ? -step : key === "ArrowDown" ? step : 0;
        const after = {
          ...sel,
          x: r1(clamp(sel.x + dx, 0, Math.max(0, this.W - sel.w))),
          y: r1(clamp(sel.y + dy, 0, Math.max(0, this.H - sel.h))),
        };
        if (!sameGeometry(sel, after)) this.edit(sel, after);
        return;
      }
      case "+":
      case "=":
        ev.preventDefault();
        this.zoomCentre(KEY_ZOOM);
        return;
      case "-":
      case "_":
        ev.preventDefault();
        this.zoomCentre(1 / KEY_ZOOM);
        return;
      case "0":
        ev.preventDefault();
        this.fit();
        return;
      default:
        break;
    }
    if (key === "Tab") {
      // Only from the page itself or the canvas: Tab on a button or link moves the focus as usual.
      const focus = document.activeElement;
      const free = !focus || focus === document.body || (this.container && this.container.contains(focus));
      if (!free) return;
      const n = this.nextSuggestion(this.sel, ev.shiftKey ? -1 : 1);
      if (n) {
        ev.preventDefault(); // with no suggestions, Tab moves the focus as usual
        this.select(n.id);
      }
      return;
    }
    if ((lower === "a" || lower === "x") && !this.readOnly && !Konva.DD.isDragging) {
      if (this.gesture) return;
      if (this.decideKey(lower === "a")) ev.preventDefault();
      return;
    }
    if (lower === "f") {
      ev.preventDefault();
      this.fit();
    } else if (lower === "n" && !this.readOnly) {
      ev.preventDefault();
      this.setDrawMode(true);
    }
  };

  // ---------------------------------------------------------------- drawing
  measure(ctx, text) {
    let w = this.textWidths.get(text);
    if (w === undefined) {
      w = ctx.measureText(text).width;
      this.textWidths.set(text, w);
    }
    return w;
  }

  /**
   * The static layer: image, then every unselected box. While a pan moves the view, a snapshot of
   * the whole image extent (taken at the pan's first move) is blitted instead, so a pan costs one
   * drawImage per frame instead of redrawing every box.
   */
  drawStatic = (kctx) => {
    const started = performance.now();
    const ctx = kctx._context;
    const stage = this.stage;
    if (!stage) return;
    const s = stage.scaleX(), ox = stage.x(), oy = stage.y();
    const pr = kctx.canvas.getPixelRatio();
    const snap = this.snap;
    if (snap && snap.s === s) {
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(snap.canvas, Math.round((ox + snap.dx) * pr), Math.round((oy + snap.dy) * pr));
    } else {
      ctx.setTransform(pr, 0, 0, pr, 0, 0);
      this.paint(ctx, s, ox, oy, this.view.w, this.view.h);
    }
    this.drawMs = performance.now() - started;
  };

  /** Snapshot the image extent at the current zoom for a pan; null when it would be too large. */
  makeSnapshot() {
    const s = this.scale, ox = this.stage.x(), oy = this.stage.y();
    const pr = this.staticLayer ? this.staticLayer.getCanvas().getPixelRatio() : 1;
    const w = Math.ceil(this.W * s) + 4, h = Math.ceil(this.H * s) + 4;
    if (!this.W || !this.imgReady || w * h * pr * pr > SNAPSHOT_MAX_PX) return null;
    const sx0 = Math.floor(ox) - 2, sy0 = Math.floor(oy) - 2;
    const canvas = this.snapCanvas || (this.snapCanvas = document.createElement("canvas"));
    canvas.width = Math.ceil(w * pr); // also clears it
    canvas.height = Math.ceil(h * pr);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(pr, 0, 0, pr, 0, 0);
    // Same integer offsets as a direct draw, so the blitted boxes land on the same pixels.
    this.paint(ctx, s, ox - sx0, oy - sy0, w, h);
    return { canvas, s, dx: sx0 - ox, dy: sy0 - oy };
  }

  /** Draw image and boxes for the view transform (s, ox, oy) into ctx (pixel-ratio transform). */
  paint(ctx, s, ox, oy, vw, vh) {
    const img = this.img;
    if (img && this.imgReady && this.W && this.H) {
      // Smooth when shrinking; show pixels once one preview pixel covers 4+ screen pixels.
      ctx.imageSmoothingEnabled = (s * this.W) / (img.naturalWidth || this.W) < 4;
      ctx.drawImage(img, ox, oy, this.W * s, this.H * s);
    }
    const groups = this.groups;
    for (const g of groups.values()) {
      g.solid.length = 0;
      g.dashed.length = 0;
      g.tags.length = 0;
    }
    ctx.font = TAG_FONT;
    const sel = this.sel;
    for (const b of this.store.boxes) {
      if (b.id === sel) continue;
      const x0 = Math.round(b.x * s + ox), y0 = Math.round(b.y * s + oy);
      const x1 = Math.round((b.x + b.w) * s + ox), y1 = Math.round((b.y + b.h) * s + oy);
      if (x1 < -2 || y1 < -2 || x0 > vw + 2 || y0 > vh + 2) continue; // off screen
      const colour = labelColour(b.label);
      let g = groups.get(colour);
      if (!g) groups.set(colour, (g = { solid: [], dashed: [], tags: [] }));
      (b.source === "model" ? g.dashed : g.solid).push(x0, y0, x1 - x0, y1 - y0);
      // A tag only where it fits inside the box: zoomed far out, no text is drawn at all.
      const bw = x1 - x0;
      if (bw >= 24 && y1 - y0 >= TAG_H + 4) {
        const text = b.source === "model" && b.score != null ? `${b.label} ${b.score.toFixed(2)}` : b.label;
        const tw = this.measure(ctx, text) + 6;
        if (tw <= bw) g.tags.push(x0, y0, tw, text);
      }
    }
    ctx.lineWidth = 2;
    for (const [colour, g] of groups) {
      if (g.solid.length) {
        ctx.beginPath();
        const a = g.solid;
        for (let i = 0; i < a.length; i += 4) ctx.rect(a[i], a[i + 1], a[i + 2], a[i + 3]);
        ctx.fillStyle = rgba(colour, 0.12);
        ctx.fill();
        ctx.strokeStyle = colour;
        ctx.stroke();
      }
      if (g.dashed.length) {
        ctx.beginPath();
        const a = g.dashed;
        for (let i = 0; i < a.length; i += 4) ctx.rect(a[i], a[i + 1], a[i + 2], a[i + 3]);
        ctx.fillStyle = rgba(colour, 0.05);
        ctx.fill();
        ctx.setLineDash([6, 4]);
        ctx.strokeStyle = colour;
        ctx.stroke();
        ctx.setLineDash([]);
      }
    }
    ctx.textBaseline = "middle";
    for (const [colour, g] of groups) {
      const t = g.tags;
      if (!t.length) continue;
      ctx.fillStyle = colour;
      for (let i = 0; i < t.length; i += 4) ctx.fillRect(t[i] - 1, t[i + 1] - 1, t[i + 2] + 1, TAG_H);
      ctx.fillStyle = textOn(colour);
      for (let i = 0; i < t.length; i += 4) ctx.fillText(t[i + 3], t[i] + 3, t[i + 1] + TAG_H / 2);
    }
  }

  /** Above the selected box: its tag; while drawing: the dashed draft and its size. */
  drawOverlay = (kctx) => {
    const ctx = kctx._context;
    const stage = this.stage;
    if (!stage) return;
    const s = stage.scaleX(), ox = stage.x(), oy = stage.y();
    const pr = kctx.canvas.getPixelRatio();
    ctx.setTransform(pr, 0, 0, pr, 0, 0);
    ctx.font = TAG_FONT;
    ctx.textBaseline = "middle";
    const b = this.store.get(this.sel);
    const rect = this.activeRect;
    if (b && rect && rect.visible()) {
      const x0 = Math.round(rect.x() * s + ox), y0 = Math.round(rect.y() * s + oy);
      const text = b.source === "model" && b.score != null ? `${b.label} ${b.score.toFixed(2)}` : b.label;
      const tw = this.measure(ctx, text) + 6;
      const ty = y0 - TAG_H - 2 >= 0 ? y0 - TAG_H - 2 : y0 + 2;
      const colour = labelColour(b.label);
      ctx.fillStyle = colour;
      ctx.fillRect(x0 - 1, ty, tw, TAG_H);
      ctx.fillStyle = textOn(colour);
      ctx.fillText(text, x0 + 2, ty + TAG_H / 2);
    }
    const d = this.draft;
    if (d) {
      const colour = labelColour(this.curLabel);
      const x0 = Math.round(d.x * s + ox), y0 = Math.round(d.y * s + oy);
      const w = Math.round(d.w * s), h = Math.round(d.h * s);
      ctx.fillStyle = rgba(colour, 0.15);
      ctx.fillRect(x0, y0, w, h);
      ctx.lineWidth = 2;
      ctx.strokeStyle = colour;
      ctx.setLineDash([6, 4]);
      ctx.strokeRect(x0, y0, w, h);
      ctx.setLineDash([]);
      const text = `${this.curLabel}  ${Math.round(d.w)} × ${Math.round(d.h)}`;
      const tw = this.measure(ctx, text) + 8;
      ctx.fillStyle = "rgba(0,0,0,0.7)";
      ctx.fillRect(x0 + w - tw, y0 + h + 4, tw, TAG_H + 2);
      ctx.fillStyle = "#fff";
      ctx.fillText(text, x0 + w - tw + 4, y0 + h + 4 + (TAG_H + 2) / 2);
    }
  };

  // ---------------------------------------------------------------- Konva node refs
  setStage = (node) => {
    this.stage = node || null;
  };

  setStaticLayer = (node) => {
    if (this.staticLayer === node) return;
    this.staticLayer?.off("draw.lh");
    this.staticLayer = node || null;
    // Hooked in a callback ref (it runs at commit) so the very first draw is counted (pitfall 4).
    node?.on("draw.lh", () => {
      this.drawCount += 1;
      this.lastDrawn = this.store.boxes.length;
      if (this.readyAt === null && this.imgReady && this.W) this.readyAt = performance.now();
      if (typeof window !== "undefined") window.__lhEditorDrawn = (window.__lhEditorDrawn || 0) + 1;
    });
  };

  setActiveLayer = (node) => {
    this.activeLayer = node || null;
    this.syncActiveInteractivity();
  };

  setActiveRect = (node) => {
    this.activeRect = node || null;
    if (node) {
      const b = this.store.get(this.sel);
      if (b) this.showActive(b);
      else node.visible(false);
    }
  };

  setTransformer = (node) => {
    this.tr = node || null;
    if (node && this.activeRect && this.sel) node.nodes([this.activeRect]);
  };

  setZoomEl = (el) => {
    this.zoomEl = el || null;
    if (el) el.textContent = `${Math.round(this.scale * 100)}%`;
  };

  setHintEl = (el) => {
    this.hintEl = el || null;
    if (el) el.style.display = this.drawMode ? "block" : "none";
  };

  /** What tests and benches read (window.__lhEditor). */
  hook() {
    const eng = this;
    return {
      get store() { return eng.store; },
      get stage() { return eng.stage; },
      get selectedId() { return eng.sel; },
      get undoDepth() { return eng.undoStack.length; },
      get redoDepth() { return eng.redoStack.length; },
      get scale() { return eng.scale; },
      get imageReady() { return eng.imgReady; },
      get drawMode() { return eng.drawMode; },
      get lastDrawn() { return eng.lastDrawn; },
      get drawMs() { return eng.drawMs; },
      get readyAt() { return eng.readyAt; },
      get suggestionCount() { return eng.store.boxes.filter((b) => b.source === "model").length; },
      toClient: (x, y) => eng.toClient(x, y),
      engine: eng,
    };
  }
}

const wrapStyle = {
  position: "relative", width: "100%", background: BACKGROUND, overflow: "hidden",
  userSelect: "none", WebkitUserSelect: "none", touchAction: "none", borderRadius: "6px",
};
const chipStyle = {
  position: "absolute", padding: "2px 8px", borderRadius: "4px", pointerEvents: "none",
  background: "rgba(0,0,0,0.6)", color: "#e8e8e8", font: "500 12px system-ui, sans-serif",
};

/**
 * The Reflex-facing component. Props (camelCased by Reflex): src, imageWidth, imageHeight, boxes,
 * boxesKey, labels, currentLabel, command, readOnly, height, and the callbacks onCreate, onUpdate,
 * onDelete, onSelect, onLabelKey, onSave, onSaveNext, onHelp.
 */
export function BoxEditor(props) {
  const engRef = useRef(null);
  if (engRef.current === null) engRef.current = new Editor();
  const eng = engRef.current;
  eng.props = props; // handlers always read the latest callbacks and labels
  const wrapRef = useRef(null);
  const [size, setSize] = useState(null);

  useEffect(() => {
    const el = wrapRef.current;
    eng.container = el;
    const measure = () => {
      const w = Math.floor(el.clientWidth), h = Math.floor(el.clientHeight);
      setSize((old) => (old && old.w === w && old.h === h ? old : { w, h }));
    };
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    window.addEventListener("keydown", eng.onKeyDown);
    el.addEventListener("wheel", eng.onWheel, { passive: false });
    el.addEventListener("contextmenu", eng.onContextMenu);
    const hook = eng.hook();
    window.__lhEditor = hook;
    return () => {
      ro.disconnect();
      window.removeEventListener("keydown", eng.onKeyDown);
      el.removeEventListener("wheel", eng.onWheel);
      el.removeEventListener("contextmenu", eng.onContextMenu);
      eng.cancelGesture();
      if (window.__lhEditor === hook) delete window.__lhEditor;
    };
  }, [eng]);

  // Declared in this order on purpose: image, then boxes, then commands (a command sent with a
  // new set of boxes applies to the new boxes).
  useEffect(() => {
    eng.setImage(props.src);
  }, [eng, props.src]);
  useEffect(() => {
    eng.setImageSize(props.imageWidth, props.imageHeight);
  }, [eng, props.imageWidth, props.imageHeight]);
  useEffect(() => {
    eng.loadBoxes(props.boxes);
  }, [eng, props.boxesKey]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    eng.curLabel = props.currentLabel || "";
  }, [eng, props.currentLabel]);
  useEffect(() => {
    eng.setReadOnly(!!props.readOnly);
  }, [eng, props.readOnly]);
  useEffect(() => {
    eng.runCommand(props.command);
  }, [eng, props.command?.seq]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    eng.resize(size);
  }, [eng, size]);

  return (
    <div
      ref={wrapRef}
      id={props.id}
      className={props.className}
      style={{ ...wrapStyle, height: props.height || "70vh" }}
      data-testid="box-editor"
    >
      {size && size.w > 0 && size.h > 0 && (
        <Stage ref={eng.setStage} width={size.w} height={size.h} onMouseDown={eng.onMouseDown} onMouseMove={eng.onHover}>
          <Layer ref={eng.setStaticLayer} listening={false}>
            <Shape sceneFunc={eng.drawStatic} listening={false} perfectDrawEnabled={false} />
          </Layer>
          <Layer ref={eng.setActiveLayer}>
            <Rect
              ref={eng.setActiveRect}
              strokeWidth={2}
              strokeScaleEnabled={false}
              perfectDrawEnabled={false}
              shadowForStrokeEnabled={false}
              dragBoundFunc={eng.dragBound}
              onDragEnd={eng.onDragEnd}
            />
            <Shape sceneFunc={eng.drawOverlay} listening={false} perfectDrawEnabled={false} />
            <Transformer
              ref={eng.setTransformer}
              rotateEnabled={false}
              flipEnabled={false}
              keepRatio={false}
              ignoreStroke={true}
              anchorSize={9}
              anchorCornerRadius={2}
              anchorStroke="#ffffff"
              anchorFill="#1f6feb"
              anchorStrokeWidth={1.5}
              borderEnabled={false}
              boundBoxFunc={eng.boundBox}
              onTransformEnd={eng.onTransformEnd}
            />
          </Layer>
        </Stage>
      )}
      {/* Written imperatively on every zoom, so it has no React children. */}
      <div ref={eng.setZoomEl} style={{ ...chipStyle, right: 8, bottom: 8 }} data-testid="box-editor-zoom" />
      <div ref={eng.setHintEl} style={{ ...chipStyle, left: 8, bottom: 8, display: "none" }}>
        Draw mode: drag to add a box · Esc cancels
      </div>
    </div>
  );
}

export default BoxEditor;
