// The job page: the annotation view. It shows a job's frames with their shapes and
// draws and edits rectangles, polygons, polylines, points and ellipses (the shape
// tools live in ../annotation/shapes/, the editing model in ../annotation/editor.js),
// as shapes or as tracks (../annotation/tracks/), and plays the frames (../annotation/player.js).
// Saving sends only the changed objects (../annotation/sync.js); when someone else
// saved meanwhile their changes are merged in by object id and ours sent again, and
// objects changed on both sides are the annotator's choice. Cuboids, masks and
// skeletons are shown read-only and never sent. CVAT's ?frame=N opens that frame,
// else the frame the user was last on (../annotation/last-frame.js); Finish marks the
// job completed (../annotation/finish.js).

import { describe, listAll, request } from '../api.js';
import { boot, pageId } from '../app.js';
import { $, clear, h, isTypingTarget, notice } from '../dom.js';
import { AnnotationCanvas } from '../annotation/canvas.js';
import { FramePlayer } from '../annotation/player.js';
import { TrackEditor } from '../annotation/tracks/editor.js';
import { TRACK_SHORTCUTS, installTrackControls, showPlaying, trackKey } from '../annotation/tracks/ui.js';
import { TOOLS } from '../annotation/shapes/index.js';
import { SHORTCUTS, historyKey } from '../annotation/shortcuts.js';
import { isStale, takeTheirs } from '../annotation/sync.js';
import { initialFrame, rememberFrame } from '../annotation/last-frame.js';
import { isTaskStaff, setUpFinish } from '../annotation/finish.js';

const jobId = pageId('jobId');
let user;
let job;
let meta;
let labelList = [];
let annotations;
let current = -1;
let saving = false;
let canvas;
let editor;
let player;
let spaceHeld = null; // Space down: {panned}; a tap plays or pauses, a drag pans

// ---- status and the modified marker ------------------------------------------------

function status(text, kind = '', action = null) {
  const line = $('#status');
  line.className = `action-status annot-status ${kind}`;
  clear(line).append(text);
  if (action) line.append(' ', action);
}

function showModified() {
  const modified = Boolean(editor?.modified);
  $('#modified').hidden = !modified;
  $('#save').disabled = saving || !modified;
  $('#undo').disabled = !editor?.history.done.length;
  $('#redo').disabled = !editor?.history.undone.length;
  document.title = `${modified ? '* ' : ''}Job #${jobId}${job ? `: ${job.task_name}` : ''} · annotask`;
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

function frameSrc(frame) {
  return player?.cachedSrc(frame) ?? frameUrl(frame);
}

function frameUrl(frame) {
  return `/api/jobs/${jobId}/data?type=frame&number=${frame}&quality=${$('#quality').value}`;
}

function show(number) {
  const frame = Math.min(Math.max(Number.isFinite(number) ? Math.trunc(number) : job.start_frame, job.start_frame), job.stop_frame);
  $('#frame-number').value = String(frame);
  if (frame === current) return;
  current = frame;
  rememberFrame(user.id, jobId, frame);
  editor.frame = frame;
  player?.setCurrent(frame);
  if ($('#frame-slider')) $('#frame-slider').value = String(frame);
  const info = frameInfo(frame);
  const name = info.name || `frame ${frame}`;
  const gone = deleted();
  $('#frame-name').textContent = gone.has(frame) ? `${name} (deleted)` : name;
  canvas.setFrame(frameSrc(frame), `Frame ${frame}: ${name}`, info.width, info.height);
  const earlier = [...Array(frame - job.start_frame).keys()].some((i) => !gone.has(job.start_frame + i));
  const later = [...Array(job.stop_frame - frame).keys()].some((i) => !gone.has(frame + 1 + i));
  $('#frame-prev').disabled = !earlier;
  $('#frame-next').disabled = !later;
  editor.render();
  document.dispatchEvent(new CustomEvent('annot:frame', { detail: { frame } }));
  // The player fetches and decodes the frames ahead of this one (paused too), so D/F
  // show a picture that is ready; frames seen lately stay decoded in its cache.
}

/** Imageset chunks (zips of JPEGs) of the job's compressed frames, for the player; else null. */
function chunkInfo() {
  if ($('#quality').value !== 'compressed' || job.data_compressed_chunk_type !== 'imageset' || !job.data_chunk_size) return null;
  return {
    size: job.data_chunk_size,
    first: job.start_frame,
    url: (index) => `/api/jobs/${jobId}/data?type=chunk&number=${index}&quality=compressed`,
  };
}

/** Frames of the job that can be shown, in order (deleted ones left out). */
function playable() {
  const gone = deleted();
  const frames = [];
  for (let f = job.start_frame; f <= job.stop_frame; f += 1) if (!gone.has(f)) frames.push(f);
  return frames;
}

// ---- tools -------------------------------------------------------------------------------

function renderTools() {
  const select = $('#label-select');
  clear(select).append(...editor.drawable.map((label) => h('option', { value: String(label.id), text: label.name })));
  select.disabled = !editor.drawable.length;
  for (const type of TOOLS.keys()) $(`#tool-${type}`).disabled = !editor.drawable.length;
  const filter = $('#label-filter');
  clear(filter).append(h('option', { value: '', text: 'All labels' }),
    ...[...editor.labels.values()].filter((l) => l.parent_id == null).map((label) => h('option', { value: String(label.id), text: label.name })));
  const tagSelect = $('#tag-label');
  clear(tagSelect).append(...editor.taggable.map((label) => h('option', { value: String(label.id), text: label.name })));
  tagSelect.disabled = $('#add-tag').disabled = !editor.taggable.length;
  editor.onLabelShown();
}

/** Start (or stop, with null) drawing shapes of `type`. */
function setTool(type) {
  const tool = type && TOOLS.get(type);
  if (tool && $(`#tool-${type}`).disabled) return;
  if (tool && !editor.labelFits(editor.currentLabel(), type)) {
    const fit = editor.drawable.find((label) => editor.labelFits(label.id, type));
    if (!fit) {
      status(`No label of this job is for ${type}s.`, 'error');
      return;
    }
    $('#label-select').value = String(fit.id);
    editor.onLabelShown();
  }
  if (tool) editor.tool = type;
  for (const other of TOOLS.keys()) {
    const button = $(`#tool-${other}`);
    button.setAttribute('aria-pressed', String(other === type));
    button.classList.toggle('secondary', other === type);
  }
  canvas.setTool(tool ? type : null);
  if (!tool) return;
  status(tool.draw === 'box'
    ? `${tool.title}: drag on the image, or click two opposite corners; Escape cancels.`
    : `${tool.title}: click the points, then N or a double click to finish; Escape cancels.`);
}

function onDraw(type, geometry) {
  setTool(null);
  editor.onDraw(type, geometry);
}

/** N: finish a drawing in progress, else start one with the last tool. */
function drawKey() {
  if (canvas.tool && canvas.finishDrawing()) return;
  setTool(canvas.tool ? null : editor.tool);
}

function escape() {
  setTool(null);
  canvas.abortGesture();
  editor.select(null);
}

// ---- load and save ----------------------------------------------------------------------------

/**
 * The one save request: `PATCH ?action=` with the objects of one kind of change and the
 * version they build on (in the body, and as `If-Match` for servers that read it).
 */
function sendChanges(action, body, version) {
  return request('PATCH', `/api/jobs/${jobId}/annotations?action=${action}`, { json: body, headers: { 'If-Match': `"${version}"` } });
}

const MERGE_ATTEMPTS = 3;

/** Save only what changed; when someone else saved meanwhile, merge and save again. */
async function save() {
  if (saving || !editor.modified) return;
  saving = true;
  showModified();
  const top = editor.history.top; // later edits stay unsaved
  status('Saving…');
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await editor.sync.save(editor.data, sendChanges);
        break;
      } catch (error) {
        if (!isStale(error) || attempt >= MERGE_ATTEMPTS) throw error;
        const conflicts = editor.sync.merge(editor.data, error.body);
        editor.render();
        if (conflicts.length) {
          saving = false;
          showModified();
          askConflicts(conflicts);
          return;
        }
        status('Someone else saved meanwhile: their changes are merged in; saving yours again…');
      }
    }
    saving = false;
    editor.markSaved(top);
    status(`Saved (version ${editor.data.version}).`, 'success');
  } catch (error) {
    saving = false;
    showModified();
    if (isStale(error) || error.status === 409 || error.status === 412) {
      status('Someone else keeps saving this job: your changes were not saved yet.', 'error',
        h('button', { type: 'button', class: 'small', id: 'reload', text: 'Reload their version', onClick: reload }));
    } else {
      status(`Could not save: ${describe(error.body) || error.message}`, 'error');
    }
  }
}

/** Objects changed here and by someone else: the annotator keeps theirs or ours. */
function askConflicts(conflicts) {
  const describeObject = (object) => (object
    ? `${editor.labelName(object.label_id)} ${object.type || (object.shapes ? 'track' : 'tag')} #${object.id}`
    : 'deleted');
  clear($('#conflict-list')).append(...conflicts.map(({ ours, theirs }) => h('li', {
    text: `${describeObject(ours || theirs)}: yours ${ours ? 'changed' : 'deleted'}, theirs ${theirs ? 'changed' : 'deleted'}`,
  })));
  const dialog = $('#conflict');
  dialog.onclose = () => {
    if (dialog.returnValue === 'theirs') {
      for (const { kind, ours, theirs } of conflicts) takeTheirs(editor.data[kind], ours, theirs);
      editor.render();
    }
    if (dialog.returnValue === 'theirs' || dialog.returnValue === 'mine') save();
    else status('Not saved: the conflicting objects are still yours here.', 'error');
  };
  dialog.returnValue = '';
  dialog.showModal();
  status('Someone else changed the same objects: choose whose version to keep.', 'error');
}

async function reload() {
  status('Loading the annotations…');
  try {
    editor.load(await request('GET', `/api/jobs/${jobId}/annotations`));
  } catch (error) {
    status(`Could not load the annotations: ${error.message}`, 'error');
    return;
  }
  editor.render();
  status(`Loaded the saved annotations (version ${editor.data.version}).`, 'success');
}

// ---- keyboard ------------------------------------------------------------------------------------

function onKey(event) {
  const menu = $('#image-menu');
  if (event.key === 'Escape' && menu.open) {
    event.preventDefault();
    menu.open = false;
    menu.querySelector('summary').focus();
    return;
  }
  const owned = historyKey(event); // the view's, even in a field: not the browser's undo
  if (owned) {
    event.preventDefault();
    ({ save, undo: () => editor.undo(), redo: () => editor.redo() })[owned]();
    return;
  }
  if (event.key === 'F1') {
    event.preventDefault();
    $('#help').showModal();
    return;
  }
  if (!isTypingTarget(event) && trackKey(event, { editor, player, jump: (delta) => show(current + delta) })) {
    event.preventDefault();
    return;
  }
  if (event.altKey || isTypingTarget(event)) return;
  if (event.ctrlKey || event.metaKey) {
    const key = event.key.toLowerCase();
    if (key === 'c' && editor.selected && !String(window.getSelection())) {
      event.preventDefault();
      editor.copy();
    } else if (key === 'v') {
      event.preventDefault();
      editor.paste();
    }
    return;
  }
  if (event.key === 'Tab') {
    if (event.target === $('#stage') && editor.cycle(event.shiftKey ? -1 : 1)) event.preventDefault();
    return;
  }
  if (event.key === ' ') {
    if (event.target === $('#stage') || event.target === document.body) {
      event.preventDefault();
      if (!event.repeat) spaceHeld = { panned: false };
      canvas.panKey = true;
      $('#stage').classList.add('panning');
    }
    return;
  }
  const actions = {
    d: () => step(-1), ArrowLeft: () => step(-1),
    f: () => step(1), ArrowRight: () => step(1),
    n: drawKey,
    Delete: () => editor.deleteSelected(), Backspace: () => editor.deleteSelected(),
    Escape: escape,
    q: () => editor.toggleOccluded(),
    l: () => editor.toggleLocal('locked'),
    h: () => editor.toggleLocal('hidden'),
    '+': () => editor.zOrder(1), '=': () => editor.zOrder(1),
    '-': () => editor.zOrder(-1), _: () => editor.zOrder(-1),
  };
  const action = actions[event.key.length === 1 ? event.key.toLowerCase() : event.key] || actions[event.key];
  if (!action) return;
  event.preventDefault();
  action();
}

function onKeyUp(event) {
  if (event.key === ' ') {
    if (spaceHeld && !spaceHeld.panned && event.type === 'keyup') player.toggle();
    spaceHeld = null;
    canvas.panKey = false;
    $('#stage').classList.remove('panning');
  }
}

// ---- start ----------------------------------------------------------------------------------------

async function load() {
  job = await request('GET', `/api/jobs/${jobId}`);
  [labelList, meta, annotations] = await Promise.all([
    listAll('/api/labels', { job_id: jobId }),
    request('GET', `/api/jobs/${jobId}/data/meta`),
    request('GET', `/api/jobs/${jobId}/annotations`),
  ]);
}

function renderHelp() {
  clear($('#help-list')).append(...[...SHORTCUTS, ...TRACK_SHORTCUTS].flatMap(([keys, what]) => [h('dt', { text: keys }), h('dd', { text: what })]));
}

function wire() {
  $('#label-select').addEventListener('change', () => {
    editor.onLabelShown();
    editor.relabel(editor.currentLabel());
  });
  $('#label-filter').addEventListener('change', (event) => {
    editor.labelFilter = event.target.value;
    editor.render();
  });
  $('#frame-prev').addEventListener('click', () => step(-1));
  $('#frame-next').addEventListener('click', () => step(1));
  $('#frame-number').addEventListener('change', () => show(Number($('#frame-number').value)));
  for (const type of TOOLS.keys()) {
    $(`#tool-${type}`).addEventListener('click', () => setTool($(`#tool-${type}`).getAttribute('aria-pressed') === 'true' ? null : type));
  }
  $('#zoom-in').addEventListener('click', () => canvas.zoom(1.25));
  $('#zoom-out').addEventListener('click', () => canvas.zoom(0.8));
  $('#zoom-fit').addEventListener('click', () => canvas.fit());
  $('#quality').addEventListener('change', () => {
    canvas.setFrame(frameSrc(current), $('#frame-image').alt, canvas.width, canvas.height);
  });
  const filter = () => canvas.setFilter($('#brightness').value, $('#contrast').value);
  $('#brightness').addEventListener('input', filter);
  $('#contrast').addEventListener('input', filter);
  $('#undo').addEventListener('click', () => editor.undo());
  $('#redo').addEventListener('click', () => editor.redo());
  $('#delete-shape').addEventListener('click', () => editor.deleteSelected());
  $('#toggle-occluded').addEventListener('click', () => editor.toggleOccluded());
  $('#toggle-lock').addEventListener('click', () => editor.toggleLocal('locked'));
  $('#toggle-hide').addEventListener('click', () => editor.toggleLocal('hidden'));
  $('#to-front').addEventListener('click', () => editor.zOrder(1));
  $('#to-back').addEventListener('click', () => editor.zOrder(-1));
  $('#add-tag').addEventListener('click', () => editor.addTag(Number($('#tag-label').value)));
  document.addEventListener('pointerdown', (event) => {
    const menu = $('#image-menu');
    if (menu.open && !menu.contains(event.target)) menu.open = false; // a click elsewhere closes it
  });
  $('#help-open').addEventListener('click', () => $('#help').showModal());
  $('#help-close').addEventListener('click', () => $('#help').close());
  $('#save').addEventListener('click', save);
  document.addEventListener('keydown', onKey);
  document.addEventListener('keyup', onKeyUp);
  window.addEventListener('blur', () => onKeyUp({ key: ' ' }));
  window.addEventListener('beforeunload', (event) => {
    if (!editor.modified) return;
    event.preventDefault();
    event.returnValue = '';
  });
}

/**
 * The back link leads to the task when the user may open its page (task staff),
 * else to the jobs page: a job's assignee does not see the task.
 */
async function backToTask() {
  if (!(await isTaskStaff(job))) return; // the template's link to /jobs stays
  const back = $('#back-link');
  back.href = `/tasks/${job.task_id}`;
  back.textContent = `← Task #${job.task_id}`;
}

async function main() {
  user = await boot();
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

  canvas = new AnnotationCanvas($('#stage'), $('#canvas'), $('#frame-image'), {
    onDraw,
    onChange: (key, geometry) => editor.onChange(key, geometry),
    onSelect: (key) => editor.selectKey(key),
    onHover: (key) => {
      for (const button of document.querySelectorAll('#objects .annot-object.hovered')) button.classList.remove('hovered');
      if (key != null) $(`#objects [data-key="${key}"]`)?.classList.add('hovered');
    },
    onView: ({ scale }) => { $('#zoom-level').textContent = `${Math.round(scale * 100)}%`; },
    onDraftStarted: () => status('Now click the opposite corner; Escape cancels.'),
  });
  editor = new TrackEditor({ labels: labelList, canvas, status, onModified: showModified, showFrame: show, stopFrame: job.stop_frame });
  player = new FramePlayer({ frames: playable, url: frameUrl, chunk: chunkInfo, show, onState: showPlaying });
  installTrackControls({ editor, player, show, first: job.start_frame, last: job.stop_frame });
  $('#stage').addEventListener('pointerdown', () => { if (spaceHeld) spaceHeld.panned = true; }, { capture: true });
  editor.load(annotations);
  renderTools();
  renderHelp();
  if (!editor.drawable.length) status('The job has no label for 2D shapes: add one on the task page.', 'error');
  wire();

  show(initialFrame(job, { userId: user.id, deleted: deleted() }));
  await setUpFinish({
    button: $('#finish-job'),
    progress: $('#job-progress'),
    job,
    save: async () => {
      await save();
      return !editor.modified;
    },
    status,
  });
  $('#main').dataset.ready = '1';
}

main();
