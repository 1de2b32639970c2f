// The create-task page (reference: "Creating an annotation task"): basic
// configuration with the labels editor, three sources of files (files and
// folders from this computer, with per-file upload progress), advanced
// configuration (with the dataset repository when the server has git); client
// checks that mirror the server; then POST /api/tasks, the data upload, the
// creation request followed to its end, the repository's clone, and the task page.

import { ApiError, api, describe, listAll, pollRequest } from '../api.js';
import { boot, pageId } from '../app.js';
import { $, $$, clear, clearErrors, confirmDialog, formatBytes, h, notice, showErrors, toast } from '../dom.js';
import { droppedItems, pickedItems } from '../dropped-files.js';
import { FileList } from '../file-list.js';
import { LabelsEditor } from '../labels-editor.js';
import { ShareTree } from '../share-tree.js';
import { startTaskData, uploadTaskData } from '../upload.js';
import { checkIssueTracker, checkRepository, integerField, parseRemoteUrls } from '../validate.js';
import { waitRepository } from '../dataset-repo.js';

const form = $('#create-task');
const state = {
  source: 'local',
  taskId: null,
  busy: false,
  projects: new Map(),
  git: false,
};
let labelsEditor;
let shareTree;
let fileList;

// ---- sources of files ----------------------------------------------------------

function selectTab(source, focus = false) {
  state.source = source;
  for (const tab of $$('[role="tab"][data-source]', form)) {
    const selected = tab.dataset.source === source;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`#${tab.getAttribute('aria-controls')}`).hidden = !selected;
    if (selected && focus) tab.focus();
  }
  $('#copy-data-field').hidden = source !== 'share';
  if (source === 'share') shareTree.load();
}

function setUpTabs() {
  const tabs = $$('[role="tab"][data-source]', form);
  tabs.forEach((tab, index) => {
    tab.addEventListener('click', () => selectTab(tab.dataset.source));
    tab.addEventListener('keydown', (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      event.preventDefault();
      selectTab(tabs[(index + step + tabs.length) % tabs.length].dataset.source, true);
    });
  });
}

function setUpFiles() {
  fileList = new FileList($('#file-list'), $('#file-summary'));
  for (const id of ['#file-input', '#folder-input']) {
    const input = $(id);
    input.addEventListener('change', () => {
      fileList.add(pickedItems(input.files));
      input.value = '';
    });
  }
  $('#pick-folder').addEventListener('click', () => $('#folder-input').click());
  const zone = $('#dropzone');
  for (const name of ['dragenter', 'dragover']) {
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add('dragging');
    });
  }
  for (const name of ['dragleave', 'drop']) {
    zone.addEventListener(name, () => zone.classList.remove('dragging'));
  }
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    if (state.busy) return;
    droppedItems(event.dataTransfer)
      .then((items) => fileList.add(items))
      .catch((error) => showErrors(form, { files: [`Could not read the dropped folder: ${error.message}`] }));
  });
  $('#clear-files').addEventListener('click', () => fileList.clear());
}

/** While files are sent, the selection is fixed (the progress refers to it). */
function lockFiles(locked) {
  fileList.lock(locked);
  for (const id of ['#file-input', '#folder-input', '#pick-folder', '#clear-files']) $(id).disabled = locked;
}

// ---- project and labels ----------------------------------------------------------

async function loadProjects(preselect) {
  const select = $('#task-project');
  try {
    for (const project of await listAll('/api/projects')) {
      state.projects.set(String(project.id), project);
      select.append(h('option', { value: String(project.id), text: `#${project.id}: ${project.name}` }));
    }
  } catch (error) {
    showErrors(form, { project_id: [`Could not load the projects: ${error.message}`] });
  }
  if (preselect) {
    select.value = String(preselect);
    if (select.value !== String(preselect)) {
      notice($('#form-errors'), `Project #${preselect} was not found.`);
      select.value = '';
    }
  }
  await projectChanged();
}

async function projectChanged() {
  const id = $('#task-project').value;
  $('#labels-field').hidden = Boolean(id);
  $('#project-labels').hidden = !id;
  const subsets = $('#subset-options');
  for (const option of $$('option[data-project]', subsets)) option.remove();
  if (!id) return;
  const project = state.projects.get(id);
  for (const subset of project?.task_subsets ?? []) {
    if (!['Train', 'Test', 'Validation'].includes(subset)) subsets.append(h('option', { value: subset, dataset: { project: id } }));
  }
  const box = clear($('#project-label-list'));
  try {
    const labels = await listAll('/api/labels', { project_id: id });
    if ($('#task-project').value !== id) return;
    if (!labels.length) box.append(h('p', { class: 'muted', text: 'The project has no labels yet.' }));
    for (const label of labels) {
      box.append(h('span', { class: 'label-item readonly', style: { '--label-color': label.color || '#888888' } },
        h('span', { class: 'swatch', 'aria-hidden': 'true' }), h('span', { class: 'label-name', text: label.name })));
    }
  } catch (error) {
    box.append(h('p', { class: 'field-error', text: `Could not load the project's labels: ${error.message}` }));
  }
}

// ---- reading and checking the form ---------------------------------------------------

const value = (selector) => $(selector).value;

/** Everything the form says, as the two API bodies, plus the problems found. */
function readForm() {
  const errors = {};
  const fail = (key, message) => (errors[key] ||= []).push(message);
  const task = {};
  const data = {};

  const name = value('#task-name').trim();
  if (!name) fail('name', 'A task needs a name.');
  else if (name.length > 256) fail('name', 'The name has at most 256 characters.');
  task.name = name;

  const projectId = value('#task-project');
  if (projectId) {
    task.project_id = Number(projectId);
  } else {
    if (labelsEditor.form && !labelsEditor.form.isBlank()) fail('labels', 'Finish the label you are editing: press Done or Cancel.');
    else if (labelsEditor.isEditing()) fail('labels', 'Apply the raw labels with Done, or Reset them.');
    task.labels = labelsEditor.getLabels();
    if (!task.labels.length && !errors.labels) fail('labels', 'A task must contain at least one label or belong to a project.');
  }

  const tracker = value('#bug-tracker').trim();
  const trackerError = checkIssueTracker(tracker);
  if (trackerError) fail('bug_tracker', trackerError);
  if (tracker) task.bug_tracker = tracker;

  const subset = value('#subset').trim();
  if (subset.length > 64) fail('subset', 'A subset has at most 64 characters.');
  if (subset) task.subset = subset;

  const segment = integerField(value('#segment-size'), { min: 0, name: 'Segment size' });
  if (segment.error) fail('segment_size', segment.error);
  else if (segment.value) task.segment_size = segment.value;
  const overlap = integerField(value('#overlap'), { min: 0, name: 'Overlap size' });
  if (overlap.error) fail('overlap', overlap.error);
  else if (overlap.value !== null) {
    if (segment.value && overlap.value >= segment.value) fail('overlap', 'Segment size must be more than overlap size');
    task.overlap = overlap.value;
  }

  const repository = state.git ? value('#dataset-repo').trim() : '';
  const repoError = checkRepository(repository);
  if (repoError) fail('dataset_repository', repoError);
  const repoOptions = { format: value('#repo-format') || DEFAULT_REPO_FORMAT, lfs: $('#repo-lfs').checked };

  const quality = integerField(value('#image-quality'), { min: 5, max: 100, name: 'Image quality' });
  if (quality.error || quality.value === null) fail('image_quality', 'Image quality must be a whole number from 5 to 100.');
  data.image_quality = quality.value ?? 70;
  data.use_zip_chunks = $('#use-zip-chunks').checked;
  data.use_cache = $('#use-cache').checked;
  data.sorting_method = $('input[name="sorting_method"]:checked', form).value;

  const start = integerField(value('#start-frame'), { min: 0, name: 'Start frame' });
  if (start.error) fail('start_frame', start.error);
  else if (start.value !== null) data.start_frame = start.value;
  const stop = integerField(value('#stop-frame'), { min: 0, name: 'Stop frame' });
  if (stop.error) fail('stop_frame', stop.error);
  else if (stop.value !== null) {
    if (start.value !== null && stop.value < start.value) fail('stop_frame', 'Stop frame must be more or equal start frame');
    data.stop_frame = stop.value;
  }
  const step = integerField(value('#frame-step'), { min: 1, name: 'Frame step' });
  if (step.error) fail('frame_filter', step.error);
  else if (step.value !== null) data.frame_filter = `step=${step.value}`;
  const chunk = integerField(value('#chunk-size'), { min: 1, name: 'Chunk size' });
  if (chunk.error) fail('chunk_size', 'Chunk size must be a positive integer');
  else if (chunk.value !== null) data.chunk_size = chunk.value;

  if (state.source === 'local') {
    const files = fileList.uploadItems();
    const manifests = files.filter((item) => item.name.toLowerCase().endsWith('.jsonl'));
    if (!files.length) fail('files', 'Select at least one file.');
    else if (manifests.length === files.length) fail('files', 'Select the media files as well as the manifest.');
    if (manifests.length > 1) fail('files', 'Only one manifest file can be attached.');
    if (manifests.length && !data.use_cache) fail('files', 'A manifest file can only be attached with “Use cache” on.');
  } else if (state.source === 'share') {
    data.server_files = shareTree.paths();
    data.copy_data = $('#copy-data').checked;
    if (!data.server_files.length) fail('files', 'Select at least one file or directory of the share.');
  } else {
    const { urls, errors: urlErrors } = parseRemoteUrls(value('#remote-urls'));
    urlErrors.forEach((message) => fail('files', message));
    if (!urls.length) fail('files', 'Enter at least one URL.');
    data.remote_files = urls;
  }
  return { task, data, repository, repoOptions, errors };
}

// ---- dataset repository -------------------------------------------------------------

const DEFAULT_REPO_FORMAT = 'CVAT for video 1.1';
/** Show the repository fields when the server reports GIT_INTEGRATION; fill the formats. */
async function setUpRepository() {
  let plugins = {};
  try {
    plugins = await api.get('/api/server/plugins');
  } catch {
    plugins = {};
  }
  state.git = Boolean(plugins.GIT_INTEGRATION ?? plugins.git_integration);
  for (const id of ['#repo-field', '#repo-format-field', '#repo-lfs-field']) $(id).hidden = !state.git;
  if (!state.git) return;
  const select = $('#repo-format');
  let names = [DEFAULT_REPO_FORMAT];
  try {
    const formats = await api.get('/api/server/annotation/formats');
    names = formats.exporters.filter((format) => format.enabled !== false).map((format) => format.name);
  } catch {
    // the default format alone still works
  }
  select.replaceChildren(...names.map((name) => h('option', { value: name, text: name })));
  select.value = names.includes(DEFAULT_REPO_FORMAT) ? DEFAULT_REPO_FORMAT : names[0];
}

/** Attach the repository to the created task and follow its clone; '' or the reason it failed. */
async function attachRepository(repository, { format, lfs }) {
  setStatus('Cloning the repository', repository, null);
  let rqId;
  try {
    ({ rq_id: rqId } = await api.post(`/api/git/repository/create/${state.taskId}`, { path: repository, format, lfs, tid: state.taskId }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) showErrors(form, error.fieldErrors());
    return error instanceof ApiError ? describe(error.body) || error.message : error.message;
  }
  try {
    const answer = await waitRepository(rqId);
    if (answer.status === 'finished') return '';
    return answer.stderr || `The clone ended with the status “${answer.status}”.`;
  } catch (error) {
    return `Could not follow the clone: ${error.message}`;
  }
}

function repositoryFailed(reason) {
  setStatus('The repository could not be attached', reason, 0, 'failed');
  state.done = true;
  $('#submit').hidden = true;
  $('#status-actions').hidden = false;
  const open = $('#open-created');
  open.href = `/tasks/${state.taskId}`;
  open.textContent = `Open task #${state.taskId}`;
  open.hidden = false;
  $('#retry-hint').textContent = `Task #${state.taskId} was created with its data. Fix the repository and press “Synchronize” on the task page, or delete the task.`;
}

function reveal(field) {
  if (!field) return;
  const details = field.closest('details');
  if (details) details.open = true;
  field.scrollIntoView({ block: 'center', behavior: 'smooth' });
  const input = field.querySelector('input:not([type="hidden"]):not(:disabled), textarea, select');
  input?.focus({ preventScroll: true });
}

// ---- submitting -------------------------------------------------------------------

function setStatus(title, message, progress, kind = '') {
  const box = $('#creation-status');
  box.hidden = false;
  box.className = `creation-status ${kind}`;
  $('#status-title').textContent = title;
  $('#status-message').textContent = message || '';
  const bar = $('#status-progress');
  if (progress === null) bar.removeAttribute('value');
  else bar.value = progress;
  bar.hidden = kind === 'failed';
}

/** After POST /api/tasks the task-level fields are fixed: only the data can be retried. */
function lockTaskFields(locked) {
  $('#task-fields').disabled = locked;
  for (const id of ['#segment-size', '#overlap', '#bug-tracker', '#subset', '#dataset-repo', '#repo-format', '#repo-lfs']) $(id).disabled = locked;
  if (!locked) $('#submit').textContent = 'Submit';
}

function creationFailed(reason) {
  setStatus('Creation failed', reason, 0, 'failed');
  $('#submit').textContent = 'Retry upload';
  $('#status-actions').hidden = false;
  $('#retry-hint').textContent = `Task #${state.taskId} exists without data. Fix the files or the options and press “Retry upload”, or delete the task.`;
}

/** Send the chosen files with per-file and overall progress; resolves to the request id. */
async function uploadFiles(data) {
  const count = fileList.length;
  let bytes = '';
  const show = () => {
    const { done, failed } = fileList.counts();
    const files = `${done} of ${count} ${count === 1 ? 'file' : 'files'} uploaded${failed ? `, ${failed} failed` : ''}`;
    return `${bytes}${bytes ? ' · ' : ''}${files}`;
  };
  let fraction = 0;
  let frame = null; // the status line follows at most once a frame, like the rows
  const update = () => {
    frame = null;
    setStatus('Uploading files', show(), fraction);
  };
  lockFiles(true);
  fileList.resetProgress();
  setStatus('Uploading files', show(), 0);
  try {
    return await uploadTaskData(state.taskId, fileList.uploadItems(), data, {
      onProgress: (sent, total) => {
        bytes = `${formatBytes(sent)} of ${formatBytes(total)}`;
        fraction = total ? sent / total : 1;
        frame ??= requestAnimationFrame(update);
      },
      onFileProgress: (index, sent, fileState) => fileList.progress(index, sent, fileState),
    });
  } finally {
    if (frame !== null) cancelAnimationFrame(frame);
    fileList.flush();
    update();
    lockFiles(false);
  }
}

async function submit() {
  if (state.busy || state.done) return;
  clearErrors(form);
  const { task, data, repository, repoOptions, errors } = readForm();
  if (Object.keys(errors).length) {
    reveal(showErrors(form, errors));
    return;
  }
  state.busy = true;
  $('#submit').disabled = true;
  $('#status-actions').hidden = true;
  try {
    if (state.taskId === null) {
      setStatus('Creating the task', '', null);
      let created;
      try {
        created = await api.post('/api/tasks', task);
      } catch (error) {
        $('#creation-status').hidden = true;
        reveal(showErrors(form, error instanceof ApiError && error.status === 400 ? error.fieldErrors() : { non_field_errors: [error.message] }));
        return;
      }
      state.taskId = created.id;
      lockTaskFields(true);
    }
    let rqId;
    try {
      if (state.source === 'local') {
        rqId = await uploadFiles(data);
      } else {
        setStatus('Sending the request', '', null);
        rqId = await startTaskData(state.taskId, data);
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) reveal(showErrors(form, error.fieldErrors()));
      creationFailed(error instanceof ApiError ? describe(error.body) || error.message : error.message);
      return;
    }
    const rq = await pollRequest(rqId, (update) => {
      const title = update.status === 'queued' ? 'Queued' : update.status === 'failed' ? 'Creation failed' : 'Creating data';
      setStatus(title, update.message, update.progress ?? null);
    });
    if (rq.status === 'failed') {
      creationFailed(rq.message || 'The server gave no reason.');
      return;
    }
    if (repository) {
      const reason = await attachRepository(repository, repoOptions);
      if (reason) {
        repositoryFailed(reason);
        return;
      }
    }
    setStatus('Done', 'The task has been created.', 1, 'finished');
    state.done = true;
    sessionStorage.setItem('annotask.flash', `Task #${state.taskId} “${task.name}” has been created.`);
    window.location.assign(`/tasks/${state.taskId}`);
  } catch (error) {
    creationFailed(error.message);
  } finally {
    state.busy = false;
    $('#submit').disabled = false;
  }
}

async function deleteCreated() {
  const ok = await confirmDialog({
    title: `Delete task #${state.taskId}?`,
    message: state.done
      ? 'The task was created without its repository. Delete it and start over with this form?'
      : 'The task was created but has no data. Delete it and start over with this form?',
    confirm: 'Delete', danger: true,
  });
  if (!ok) return;
  try {
    await api.delete(`/api/tasks/${state.taskId}`);
  } catch (error) {
    if (error.status !== 404) {
      toast(error.message, 'error');
      return;
    }
  }
  toast(`Task #${state.taskId} deleted`);
  state.taskId = null;
  state.done = false;
  $('#submit').hidden = false;
  $('#open-created').hidden = true;
  lockTaskFields(false);
  $('#creation-status').hidden = true;
}

async function main() {
  await boot();
  labelsEditor = new LabelsEditor();
  $('#labels-editor').append(labelsEditor.el);
  shareTree = new ShareTree();
  $('#share-tree').append(shareTree.el);
  setUpTabs();
  setUpFiles();
  $('#task-project').addEventListener('change', projectChanged);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });
  $('#delete-created').addEventListener('click', deleteCreated);
  window.addEventListener('beforeunload', (event) => {
    if (state.busy && !state.done) event.preventDefault();
  });
  await Promise.all([setUpRepository(), loadProjects(pageId('projectId'))]);
  form.dataset.ready = '1';
}

main();
