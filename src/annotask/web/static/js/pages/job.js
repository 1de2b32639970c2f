// The job page: a first annotation view. It shows a job's frames with their shapes,
// draws, selects, moves and deletes rectangles, changes their label, and saves the
// job's annotations with one PUT carrying the version it loaded in If-Match (a 412 means
// someone else saved meanwhile: nothing is overwritten). CVAT's ?frame=N opens that frame. Other shapes and tracks are shown
// read-only and sent back unchanged.

import { describe, listAll, request } from '../api.js';
import { boot, pageId } from '../app.js';
import { $, clear, h, isTypingTarget, notice } from '../dom.js';
import { AnnotationCanvas } from '../annotation-canvas.js';

const jobId = pageId('jobId');
let job;
let meta;
let labels = new Map(); // id -> label, sublabels included (for display)
let drawable = []; // the labels a rectangle may use, in the select
let data = { version: 0, tags: [], shapes: [], tracks: [] };
let current = -1;
let selected = null; // the selected shape object (only shapes of data.shapes)
let edits = 0; // changes since the last load or save
let saving = false;
let canvas;

const keyOf = new WeakMap();
let nextKey = 1;
function key(object) {
  if (!keyOf.has(object)) keyOf.set(object, nextKey++);
  return keyOf.get(object);
}

// ---- status and the modified marker ------------------------------------------------

function status(text, kind = '', action = null) {
  const line = $('#status');
  line.className = `action-status annot-status ${kind}`;
  clear(line).append(text);
  if (action) line.append(' ', action);
}

/** `true` counts one more change, `false` forgets them (saved or reloaded). */
function setModified(on) {
  if (on) edits += 1;
  else edits = 0;
  showModified();
}

function showModified() {
  $('#modified').hidden = !edits;
  $('#save').disabled = saving || !edits;
  document.title = `${edits ? '* ' : ''}Job #${jobId}${job ? `: ${job.task_name}` : ''} · annotask`;
}

// ---- labels and attributes -----------------------------------------------------------

function labelName(id) {
  return labels.get(id)?.name ?? `label #${id}`;
}

function labelColor(id) {
  const color = labels.get(id)?.color;
  return /^#[0-9a-fA-F]{3,8}$/.test(color || '') ? color : '#888888';
}

/** CVAT's default value of an attribute: its default, else the first allowed value. */
function defaultValue(spec) {
  if (spec.default_value !== '' && spec.default_value != null) return spec.default_value;
  switch (spec.input_type) {
    case 'select':
    case 'radio':
    case 'number':
      return spec.values[0] ?? '';
    case 'checkbox':
      return 'false';
    default:
      return '';
  }
}

function defaultAttributes(labelId) {
  return (labels.get(labelId)?.attributes || []).map((spec) => ({ spec_id: spec.id, value: String(defaultValue(spec)) }));
}

function renderLabelSelect() {
  const select = $('#label-select');
  clear(select).append(...drawable.map((label) => h('option', { value: String(label.id), text: label.name })));
  select.disabled = !drawable.length;
  $('#tool-rectangle').disabled = !drawable.length;
  updateSwatch();
}

function updateSwatch() {
  const id = Number($('#label-select').value);
  $('#label-swatch').style.setProperty('--label-color', labelColor(id));
}

function onLabelChange() {
  updateSwatch();
  if (!selected || !isEditable(selected)) return;
  const id = Number($('#label-select').value);
  if (selected.label_id === id) return;
  selected.label_id = id;
  selected.attributes = defaultAttributes(id);
  setModified(true);
  render();
  status(`The shape's label is now “${labelName(id)}”.`);
}

// ---- frames ------------------------------------------------------------------------------

const deleted = () => new Set(meta.deleted_frames || []);

function frameInfo(frame) {
  const list = meta.frames || [];
  // A video lists one frame for all; images list one per job frame.
  return list.length === 1 ? list[0] : list[frame - job.start_frame] || list[0] || {};
}

function step(direction) {
  const gone = deleted();
  for (let frame = current + direction; frame >= job.start_frame && frame <= job.stop_frame; frame += direction) {
    if (!gone.has(frame)) {
      show(frame);
      return;
    }
  }
}

function show(number) {
  const frame = Math.min(Math.max(Number.isFinite(number) ? Math.trunc(number) : job.start_frame, job.start_frame), job.stop_frame);
  $('#frame-number').value = String(frame);
  if (frame === current) return;
  current = frame;
  if (selected && selected.frame !== frame) selected = null;
  const info = frameInfo(frame);
  const name = info.name || `frame ${frame}`;
  const gone = deleted();
  $('#frame-name').textContent = gone.has(frame) ? `${name} (deleted)` : name;
  canvas.setFrame(
    `/api/jobs/${jobId}/data?type=frame&number=${frame}&quality=compressed`,
    `Frame ${frame}: ${name}`,
    info.width,
    info.height,
  );
  const earlier = [...Array(frame - job.start_frame).keys()].some((i) => !gone.has(job.start_frame + i));
  const later = [...Array(job.stop_frame - frame).keys()].some((i) => !gone.has(frame + 1 + i));
  $('#frame-prev').disabled = !earlier;
  $('#frame-next').disabled = !later;
  render();
}

// ---- objects of the current frame ----------------------------------------------------------

const isEditable = (shape) => shape.type === 'rectangle';

/** A track's shape on the current frame: its last keyframe, interpolated towards the next. */
function trackShape(track) {
  const keyframes = track.shapes || [];
  let before = null;
  let after = null;
  for (const shape of keyframes) {
    if (shape.frame <= current) before = shape;
    else if (!after) after = shape;
  }
  if (!before || before.outside) return null;
  if (before.frame === current || !after || after.type !== before.type || after.points.length !== before.points.length || ['mask', 'skeleton'].includes(before.type)) {
    return before;
  }
  const t = (current - before.frame) / (after.frame - before.frame);
  return { ...before, points: before.points.map((p, i) => p + (after.points[i] - p) * t) };
}

function visibleItems() {
  const items = data.shapes
    .filter((shape) => shape.frame === current)
    .map((shape) => ({ key: key(shape), shape, color: labelColor(shape.label_id), editable: isEditable(shape), labelId: shape.label_id, kind: shape.type, id: shape.id }));
  for (const track of data.tracks) {
    const shape = trackShape(track);
    if (shape) items.push({ key: key(track), shape, color: labelColor(track.label_id), editable: false, labelId: track.label_id, kind: `${shape.type} track`, id: track.id, track: true });
  }
  return items;
}

function render() {
  const items = visibleItems();
  const selectedKey = selected ? key(selected) : null;
  canvas.render(items, selectedKey);
  const list = clear($('#objects'));
  items.forEach((item, index) => {
    const isSelected = item.key === selectedKey;
    const readOnly = !item.editable;
    list.append(h('li', {},
      h('button', {
        type: 'button',
        class: ['annot-object', isSelected && 'selected'],
        'aria-pressed': String(isSelected),
        dataset: { key: String(item.key) },
        onClick: () => select(item.track ? null : item.shape, { fromList: true }),
        disabled: item.track,
      },
      h('span', { class: 'swatch', 'aria-hidden': 'true', style: { '--label-color': item.color } }),
      h('span', { class: 'annot-object-label', text: labelName(item.labelId) }),
      h('span', { class: 'muted', text: ` ${item.kind} ${item.id != null ? `#${item.id}` : `(new ${index + 1})`}${readOnly ? ' · read-only' : ''}` }))));
  });
  $('#objects-empty').hidden = items.length > 0;
  $('#delete-shape').disabled = !(selected && isEditable(selected));
}

function select(shape, { fromList = false } = {}) {
  selected = shape;
  if (shape && isEditable(shape) && drawable.some((label) => label.id === shape.label_id)) {
    $('#label-select').value = String(shape.label_id);
    updateSwatch();
  }
  render();
  if (fromList && shape) $(`#objects [data-key="${key(shape)}"]`)?.focus();
}

function deleteSelected() {
  if (!selected || !isEditable(selected)) return;
  data.shapes = data.shapes.filter((shape) => shape !== selected);
  selected = null;
  setModified(true);
  render();
  status('Shape deleted.');
}

// ---- drawing -------------------------------------------------------------------------------

function setTool(on) {
  const button = $('#tool-rectangle');
  const active = on && !button.disabled;
  button.setAttribute('aria-pressed', String(active));
  button.classList.toggle('secondary', active);
  canvas.setDrawing(active);
  if (active) status('Press and drag on the image to draw a rectangle; Escape cancels.');
}

function onDraw(points) {
  setTool(false);
  if (!points) {
    status('The rectangle was too small: drag farther.', 'error');
    return;
  }
  const labelId = Number($('#label-select').value);
  const shape = {
    type: 'rectangle', frame: current, label_id: labelId, points,
    occluded: false, outside: false, z_order: 0, rotation: 0,
    attributes: defaultAttributes(labelId), group: 0, source: 'manual',
  };
  data.shapes.push(shape);
  selected = shape;
  setModified(true);
  render();
  status(`Rectangle added (${labelName(labelId)}).`);
}

function onMove(item, points) {
  item.shape.points = points;
  setModified(true);
  render();
}

// ---- load and save ----------------------------------------------------------------------------

function body() {
  return { tags: data.tags, shapes: data.shapes, tracks: data.tracks };
}

function accept(answer) {
  data = { version: answer.version, tags: answer.tags || [], shapes: answer.shapes || [], tracks: answer.tracks || [] };
}

async function save() {
  if (saving || !edits) return;
  saving = true;
  $('#save').disabled = true;
  const sentEdits = edits;
  const index = selected ? data.shapes.indexOf(selected) : -1;
  status('Saving…');
  try {
    // The version goes in If-Match: the server ignores a body's version, as CVAT does.
    const answer = await request('PUT', `/api/jobs/${jobId}/annotations`, {
      json: body(),
      headers: { 'If-Match': `"${data.version}"` },
    });
    const later = edits - sentEdits; // changes made while the request ran are kept
    if (later === 0) {
      accept(answer);
      selected = index >= 0 ? data.shapes[index] ?? null : null;
    } else {
      data.version = answer.version;
    }
    saving = false;
    edits = later;
    showModified();
    render();
    status(`Saved (version ${answer.version}).`, 'success');
  } catch (error) {
    saving = false;
    showModified();
    if (error.status === 412) {
      status('Someone else saved this job’s annotations meanwhile: your changes were not saved.', 'error',
        h('button', { type: 'button', class: 'small', id: 'reload', text: 'Reload their version', onClick: reload }));
    } else {
      status(`Could not save: ${describe(error.body) || error.message}`, 'error');
    }
  }
}

async function reload() {
  status('Loading the annotations…');
  try {
    accept(await request('GET', `/api/jobs/${jobId}/annotations`));
  } catch (error) {
    status(`Could not load the annotations: ${error.message}`, 'error');
    return;
  }
  selected = null;
  setModified(false);
  render();
  status(`Loaded the saved annotations (version ${data.version}).`, 'success');
}

// ---- keyboard ------------------------------------------------------------------------------------

function onKey(event) {
  if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 's') {
    event.preventDefault();
    save();
    return;
  }
  if (event.altKey || event.ctrlKey || event.metaKey || isTypingTarget(event)) return;
  const actions = {
    d: () => step(-1), D: () => step(-1), ArrowLeft: () => step(-1),
    f: () => step(1), F: () => step(1), ArrowRight: () => step(1),
    n: () => setTool(true), N: () => setTool(true),
    Delete: deleteSelected, Backspace: deleteSelected,
    Escape: () => {
      setTool(false);
      canvas.cancel();
      select(null);
    },
  };
  const action = actions[event.key];
  if (!action) return;
  event.preventDefault();
  action();
}

// ---- start ----------------------------------------------------------------------------------------

async function load() {
  job = await request('GET', `/api/jobs/${jobId}`);
  const [labelList, metaAnswer, annotations] = await Promise.all([
    listAll('/api/labels', { job_id: jobId }),
    request('GET', `/api/jobs/${jobId}/data/meta`),
    request('GET', `/api/jobs/${jobId}/annotations`),
  ]);
  meta = metaAnswer;
  labels = new Map();
  for (const label of labelList) {
    labels.set(label.id, label);
    for (const sub of label.sublabels || []) labels.set(sub.id, sub);
  }
  drawable = labelList.filter((label) => label.parent_id == null && ['any', 'rectangle'].includes(label.type || 'any'));
  accept(annotations);
}

/**
 * The back link leads to the task when the user may open its page (task staff),
 * else to the jobs page: a job's assignee does not see the task.
 */
async function backToTask() {
  try {
    await request('GET', `/api/tasks/${job.task_id}`, { noLoginRedirect: true });
  } catch {
    return; // the template's link to /jobs stays
  }
  const back = $('#back-link');
  back.href = `/tasks/${job.task_id}`;
  back.textContent = `← Task #${job.task_id}`;
}

async function main() {
  await boot();
  try {
    await load();
  } catch (error) {
    notice($('#notice'), error.status === 404 ? `Job #${jobId} was not found.` : `Could not load the job: ${describe(error.body) || error.message}`);
    return;
  }
  backToTask();
  if (job.dimension === '3d') {
    // Frames of a 3D job are point clouds: this 2D view can neither show nor annotate them.
    notice($('#notice'), `Job #${jobId} is a 3D (point cloud) job: annotask has no 3D annotation view yet. Use CVAT's client or cvat-sdk for it.`, 'info');
    return;
  }
  const title = clear($('#job-title'));
  title.append(h('span', { class: 'muted', text: `Job #${job.id}: ` }), h('span', { class: 'task-name', text: job.task_name }));
  $('#job-body').hidden = false;
  $('#frame-number').min = String(job.start_frame);
  $('#frame-number').max = String(job.stop_frame);
  $('#frame-range').textContent = `of ${job.start_frame}–${job.stop_frame}`;

  canvas = new AnnotationCanvas($('#canvas'), $('#frame-image'), {
    onDraw,
    onMove,
    onSelect: (item) => select(item && !item.track ? item.shape : null),
  });
  renderLabelSelect();
  if (!drawable.length) status('The job has no label for rectangles: add one on the task page.', 'error');

  $('#label-select').addEventListener('change', onLabelChange);
  $('#frame-prev').addEventListener('click', () => step(-1));
  $('#frame-next').addEventListener('click', () => step(1));
  $('#frame-number').addEventListener('change', () => show(Number($('#frame-number').value)));
  $('#tool-rectangle').addEventListener('click', () => setTool($('#tool-rectangle').getAttribute('aria-pressed') !== 'true'));
  $('#delete-shape').addEventListener('click', deleteSelected);
  $('#save').addEventListener('click', save);
  document.addEventListener('keydown', onKey);
  window.addEventListener('beforeunload', (event) => {
    if (!edits) return;
    event.preventDefault();
    event.returnValue = '';
  });

  const gone = deleted();
  let first = job.start_frame;
  while (gone.has(first) && first < job.stop_frame) first += 1;
  show(requestedFrame() ?? first);
  setModified(false);
  $('#main').dataset.ready = '1';
}

/** CVAT's `?frame=N` (links from FiftyOne and CVAT's UI): that frame when it is in the job. */
function requestedFrame() {
  const raw = new URLSearchParams(window.location.search).get('frame');
  if (raw === null || !/^\d+$/.test(raw)) return null;
  const frame = Number(raw);
  return frame >= job.start_frame && frame <= job.stop_frame ? frame : null;
}

main();
