// The task page: editable name, preview, parameters, people, issue tracker,
// dataset repository (status and Synchronize), labels (when not in a project), jobs,
// creation status.

import { api, describe, listAll, pollRequest } from '../api.js';
import { boot, pageId } from '../app.js';
import { $, clear, confirmDialog, formatDate, formatDateTime, h, notice, toast } from '../dom.js';
import { inlineEdit } from '../inline-edit.js';
import { issueTrackerEditor } from '../issue-tracker.js';
import { checkRepository, isHttpUrl, parseRepository } from '../validate.js';
import { waitRepository } from '../dataset-repo.js';
import { LabelsEditor } from '../labels-editor.js';
import { preview } from '../task-row.js';
import { setupFrameViewer } from '../frame-viewer.js';
import { setupTaskActions } from '../task-actions.js';

const taskId = pageId('taskId');
const STAGES = ['annotation', 'validation', 'acceptance'];
const STATES = ['new', 'in progress', 'completed', 'rejected'];
let task;
let users = [];

const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);
const dash = (value) => (value === null || value === undefined || value === '' ? '—' : String(value));

function item(term, ...value) {
  return [h('dt', { text: term }), h('dd', {}, ...value)];
}

function renderTitle() {
  inlineEdit($('#title-row'), {
    value: task.name,
    label: 'task name',
    maxlength: 256,
    render: (name) => h('h1', { id: 'task-title' }, h('span', { class: 'muted', text: `#${task.id}: ` }), h('span', { class: 'task-name', text: name })),
    validate: (name) => (name ? '' : 'A task needs a name.'),
    save: async (name) => {
      try {
        task = await api.patch(`/api/tasks/${taskId}`, { name });
      } catch (error) {
        throw new Error(describe(error.body?.name ?? error.body) || error.message);
      }
      document.title = `#${task.id}: ${task.name} · annotask`;
      return task.name;
    },
  });
}

function frameStep(filter) {
  const match = /step\s*=\s*(\d+)/.exec(filter || '');
  return match ? Number(match[1]) : 1;
}

async function renderParams() {
  const params = clear($('#params'));
  let meta = null;
  if (task.data != null) {
    try {
      meta = await api.get(`/api/tasks/${taskId}/data/meta`);
    } catch {
      meta = null;
    }
  }
  params.append(
    ...item('Overlap size', dash(task.overlap)),
    ...item('Segment size', task.segment_size ? String(task.segment_size) : 'Whole task'),
    ...item('Image quality', task.image_quality != null ? `${task.image_quality}%` : '—'),
    ...item('Chunk size', dash(task.data_chunk_size)),
    ...item('Size', `${task.size} ${task.size === 1 ? 'frame' : 'frames'}`),
    ...item('Mode', dash(task.mode && capital(task.mode))),
    ...item('Dimension', dash(task.dimension && task.dimension.toUpperCase())),
    ...item('Frame range', meta ? `${meta.start_frame}–${meta.stop_frame}, step ${frameStep(meta.frame_filter)}` : '—'),
  );
  if (meta?.storage) params.append(...item('Storage', meta.storage));
}

function userSelect(current, { label, onChange }) {
  const select = h('select', { 'aria-label': label, class: 'compact' },
    h('option', { value: '', text: 'Not assigned' }),
    users.map((user) => h('option', { value: String(user.id), text: user.username })));
  select.value = current ? String(current.id) : '';
  if (current && select.value !== String(current.id)) {
    select.append(h('option', { value: String(current.id), text: current.username }));
    select.value = String(current.id);
  }
  select.addEventListener('change', async () => {
    select.disabled = true;
    try {
      await onChange(select.value ? Number(select.value) : null);
      toast(`${capital(label)} updated`);
    } catch (error) {
      toast(describe(error.body) || error.message, 'error');
    } finally {
      select.disabled = false;
    }
  });
  return select;
}

function renderPeople() {
  const people = clear($('#people'));
  const subset = h('div', { class: 'subset' });
  people.append(
    ...item('Created', `by ${task.owner?.username ?? 'unknown'} on ${formatDateTime(task.created_date)}`),
    ...item('Assignee', userSelect(task.assignee, {
      label: 'task assignee',
      onChange: async (id) => { task = await api.patch(`/api/tasks/${taskId}`, { assignee_id: id }); },
    })),
    ...item('Project', task.project_id != null
      ? h('a', { href: `/projects/${task.project_id}`, text: task.project_name || `#${task.project_id}` })
      : '—'),
    ...item('Subset', subset),
  );
  inlineEdit(subset, {
    value: task.subset || '',
    label: 'subset',
    maxlength: 64,
    render: (value) => h('span', { class: value ? 'tag' : 'muted', text: value || 'None' }),
    save: async (value) => {
      try {
        task = await api.patch(`/api/tasks/${taskId}`, { subset: value });
      } catch (error) {
        throw new Error(describe(error.body?.subset ?? error.body) || error.message);
      }
      return task.subset;
    },
  });
}

// ---- dataset repository (task-semantics 8) ------------------------------------------

const REPO_TAGS = {
  syncing: { text: 'Syncing', kind: 'syncing' },
  sync: { text: 'Synchronized', kind: 'sync' },
  merged: { text: 'Merged', kind: 'merged' },
};
let repoGeneration = 0;
let repoFormats = null;
/**
 * PATCH the repository (CVAT's later task page), then show the new state. A refused
 * change throws the server's reason; `keepOnError` leaves the block as it is (the
 * URL editor shows the reason under its input).
 */
async function changeRepository(change, { keepOnError = false } = {}) {
  try {
    await api.patch(`/api/git/repository/${taskId}`, change);
  } catch (error) {
    if (!keepOnError) renderRepository().catch(() => {});
    throw new Error(describe(error.body?.url ?? error.body) || error.message);
  }
  renderRepository().catch(() => {});
}

async function exportFormats() {
  repoFormats ??= api.get('/api/server/annotation/formats')
    .then((formats) => formats.exporters.map((format) => format.name))
    .catch(() => []);
  return repoFormats;
}

function formatSelect(current, names) {
  const select = h('select', { 'aria-label': 'Repository format', class: 'compact' },
    (names.includes(current) ? names : [current, ...names]).map((name) => h('option', { value: name, text: name })));
  select.value = current;
  select.addEventListener('change', () => {
    select.disabled = true;
    changeRepository({ format: select.value }).catch((error) => toast(error.message, 'error'));
  });
  return select;
}

function lfsCheckbox(current) {
  const box = h('input', { type: 'checkbox', checked: current });
  box.addEventListener('change', () => {
    box.disabled = true;
    changeRepository({ lfs: box.checked }).catch((error) => toast(error.message, 'error'));
  });
  return h('label', { class: 'check' }, box, ' Use LFS');
}

function repoStatus(info, generation) {
  const { value, error } = info.status;
  if (error) {
    return [
      h('span', { class: 'repo-tag error', text: 'Could not receive repository status' }),
      h('span', { class: 'hint warn repo-detail', text: error }),
    ];
  }
  if (value === '!sync') {
    return [h('button', { type: 'button', class: 'repo-tag nosync', text: 'Synchronize', onClick: (event) => synchronize(event.currentTarget) })];
  }
  const tag = REPO_TAGS[value] || { text: value, kind: '' };
  if (value === 'syncing' && info.rq_id) {
    waitRepository(info.rq_id).then(() => {
      if (generation === repoGeneration) renderRepository();
    }).catch(() => {});
  }
  return [h('span', { class: ['repo-tag', tag.kind], text: tag.text })];
}

async function synchronize(button) {
  const message = $('#repo-message');
  button.disabled = true;
  message.className = 'action-status';
  message.textContent = 'Synchronizing the annotations with the repository…';
  let answer;
  try {
    const { rq_id: rqId } = await api.post(`/api/git/repository/push/${taskId}`);
    button.replaceWith(h('span', { class: 'repo-tag syncing', text: 'Syncing' }));
    answer = await waitRepository(rqId);
  } catch (error) {
    answer = { status: 'failed', stderr: describe(error.body) || error.message };
  }
  await renderRepository();
  const status = $('#repo-message');
  if (answer.status === 'finished') {
    status.className = 'action-status success';
    status.textContent = 'The annotations were pushed to the repository.';
  } else {
    status.className = 'action-status error';
    status.textContent = answer.stderr || `The push ended with the status “${answer.status}”.`;
  }
}

async function renderRepository() {
  repoGeneration += 1;
  const generation = repoGeneration;
  const box = $('#repository');
  let info;
  try {
    info = await api.get(`/api/git/repository/get/${taskId}`);
  } catch (error) {
    if (generation !== repoGeneration) return;
    const text = error.status === 404 ? 'Not available on this server' : `Could not load the repository: ${error.message}`;
    clear(box).append(h('p', { class: 'muted', text }));
    return;
  }
  if (generation !== repoGeneration) return;
  clear(box);
  if (!info.url?.value) {
    box.append(h('p', { class: 'muted', text: 'Not configured' }));
    return;
  }
  const { path } = parseRepository(info.url.value);
  const urlLine = h('div', { class: 'repo-url-line' });
  inlineEdit(urlLine, {
    value: info.url.value,
    label: 'dataset repository',
    render: (text) => {
      const url = parseRepository(text).url;
      return h('div', { class: 'tracker' },
        isHttpUrl(url) ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'button small', text: 'Open the repository' }) : null,
        h('span', { class: 'tracker-url repo-url', text: url }));
    },
    validate: (text) => (text.trim() ? checkRepository(text) : 'Enter the repository URL.'),
    save: (text) => changeRepository({ url: text }, { keepOnError: true }),
  });
  const names = await exportFormats();
  if (generation !== repoGeneration) return;
  box.append(...[
    urlLine,
    h('dl', { class: 'params repo-params' },
      ...item('File', (path || '').replace(/^\[|\]$/g, '')),
      ...item('Format', formatSelect(info.format, names)),
      ...item('Git LFS', lfsCheckbox(info.lfs)),
      ...item('Status', h('span', { class: 'repo-state', id: 'repo-state' }, ...repoStatus(info, generation)))),
    info.last_error ? h('p', { class: 'hint warn repo-detail', text: `The last attempt failed: ${info.last_error}` }) : null,
    h('p', { class: 'action-status', id: 'repo-message', role: 'status', 'aria-live': 'polite' }),
  ].filter(Boolean));
}

async function renderLabels() {
  const box = clear($('#labels'));
  if (task.project_id != null) {
    box.append(h('p', { class: 'hint' }, 'This task uses the labels of project ',
      h('a', { href: `/projects/${task.project_id}`, text: task.project_name || `#${task.project_id}` }), '.'));
    const chips = h('div', { class: 'label-chips' });
    box.append(chips);
    for (const label of await listAll('/api/labels', { project_id: task.project_id })) {
      chips.append(h('span', { class: 'label-item readonly', style: { '--label-color': label.color || '#888888' } },
        h('span', { class: 'swatch', 'aria-hidden': 'true' }), h('span', { class: 'label-name', text: label.name })));
    }
    return;
  }
  const labels = await listAll('/api/labels', { task_id: taskId });
  const editor = new LabelsEditor({
    labels,
    persisted: true,
    onSave: async (patch) => {
      await api.patch(`/api/tasks/${taskId}`, { labels: patch });
      return listAll('/api/labels', { task_id: taskId });
    },
  });
  box.append(editor.el);
}

function jobSelect(job, key, values, label) {
  const select = h('select', { 'aria-label': `${label} of job #${job.id}`, class: 'compact' },
    values.map((value) => h('option', { value, text: capital(value) })));
  select.value = job[key];
  select.addEventListener('change', async () => {
    select.disabled = true;
    try {
      const updated = await api.patch(`/api/jobs/${job.id}`, { [key]: select.value });
      toast(`Job #${job.id}: ${label.toLowerCase()} is now ${updated[key]}`);
      renderJobs();
    } catch (error) {
      toast(describe(error.body) || error.message, 'error');
      select.value = job[key];
      select.disabled = false;
    }
  });
  return select;
}

async function renderJobs() {
  const box = $('#jobs');
  let jobs;
  try {
    jobs = await listAll('/api/jobs', { task_id: taskId });
  } catch (error) {
    notice(box, `Could not load the jobs: ${error.message}`);
    return;
  }
  clear(box);
  if (!jobs.length) {
    box.append(h('p', { class: 'muted', text: 'No jobs: the task has no data yet.' }));
    return;
  }
  jobs.sort((a, b) => a.start_frame - b.start_frame || a.id - b.id);
  box.append(h('table', { class: 'table jobs-table' },
    h('thead', {}, h('tr', {}, ['Job', 'Frames', 'Stage', 'State', 'Assignee', 'Type', 'Updated'].map((text) => h('th', { scope: 'col', text })))),
    h('tbody', {}, jobs.map((job) => h('tr', { dataset: { jobId: String(job.id) } },
      h('td', { class: 'job-id' }, h('span', { text: `#${job.id}` }), ' ',
        // The annotation view is 2D: a point-cloud job gets no link to it.
        task.dimension === '3d' ? null
          : h('a', { class: 'button small job-open', href: `/jobs/${job.id}` }, 'Open', h('span', { class: 'visually-hidden', text: ` job #${job.id}` }))),
      h('td', { class: 'job-frames' }, h('span', { text: `${job.start_frame}–${job.stop_frame}` }), h('span', { class: 'muted', text: ` (${job.frame_count})` })),
      h('td', {}, jobSelect(job, 'stage', STAGES, 'Stage')),
      h('td', {}, jobSelect(job, 'state', STATES, 'State')),
      h('td', {}, userSelect(job.assignee, {
        label: `assignee of job #${job.id}`,
        onChange: (id) => api.patch(`/api/jobs/${job.id}`, { assignee: id }),
      })),
      h('td', { text: capital(job.type || 'annotation') }),
      h('td', { class: 'muted', text: formatDate(job.updated_date) }))))));
}

async function renderCreation() {
  const rq = task.creation_request;
  const box = $('#creation-status');
  if (!rq || rq.status === 'finished') {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const show = (request) => {
    const failed = request.status === 'failed';
    box.className = `creation-status ${failed ? 'failed' : ''}`;
    $('#status-title').textContent = failed ? 'Data creation failed' : request.status === 'queued' ? 'Queued' : 'Creating data';
    $('#status-message').textContent = failed ? request.message || 'The server gave no reason.' : request.message || '';
    const bar = $('#status-progress');
    bar.hidden = failed;
    bar.value = request.progress ?? 0;
  };
  show(rq);
  if (rq.status === 'failed') return;
  const final = await pollRequest(rq.id, show);
  if (final.status === 'finished') {
    task = await api.get(`/api/tasks/${taskId}`);
    renderAll();
  }
}

function renderAll() {
  document.title = `#${task.id}: ${task.name} · annotask`;
  renderTitle();
  clear($('#preview-box')).append(preview(task, 'preview-large'));
  renderParams();
  renderPeople();
  issueTrackerEditor($('#issue-tracker'), { url: task.bug_tracker, resource: `/api/tasks/${taskId}` });
  renderRepository().catch(() => {});
  renderLabels().catch((error) => notice($('#labels'), `Could not load the labels: ${error.message}`));
  renderJobs();
  renderCreation().catch(() => {});
  if (task.dimension === '3d') {
    $('#frames-empty').textContent = 'Point clouds: there is no 3D viewer here yet; CVAT\'s client and cvat-sdk read them.';
  } else {
    setupFrameViewer(taskId);
  }
}

async function deleteTask() {
  const ok = await confirmDialog({
    title: `Delete task #${task.id}?`,
    message: `“${task.name}” will be deleted with its data and annotations. This cannot be undone.`,
    confirm: 'Delete', danger: true,
  });
  if (!ok) return;
  try {
    await api.delete(`/api/tasks/${taskId}`);
  } catch (error) {
    toast(error.message, 'error');
    return;
  }
  sessionStorage.setItem('annotask.flash', `Task #${task.id} has been deleted.`);
  window.location.assign(task.project_id != null ? `/projects/${task.project_id}` : '/tasks');
}

/** The message a page that led here left (e.g. "Task #3 has been created."), shown once. */
function showFlash() {
  const message = sessionStorage.getItem('annotask.flash');
  if (!message) return;
  sessionStorage.removeItem('annotask.flash');
  notice($('#flash'), message, 'success');
}

async function main() {
  await boot();
  showFlash();
  try {
    [task, users] = await Promise.all([api.get(`/api/tasks/${taskId}`), listAll('/api/users').catch(() => [])]);
  } catch (error) {
    notice($('#notice'), error.status === 404 ? `Task #${taskId} was not found.` : `Could not load the task: ${error.message}`);
    return;
  }
  if (task.project_id != null) {
    const back = $('#back-link');
    back.href = `/projects/${task.project_id}`;
    back.textContent = `← ${task.project_name || 'Project'}`;
  }
  $('#task-body').hidden = false;
  const del = $('#delete-task');
  del.disabled = false;
  del.addEventListener('click', deleteTask);
  renderAll();
  setupTaskActions(task, {
    onMoved: (moved) => {
      task = moved;
      const back = $('#back-link');
      back.href = `/projects/${task.project_id}`;
      back.textContent = `← ${task.project_name || 'Project'}`;
      renderAll();
    },
  }).catch((error) => toast(error.message, 'error'));
}

main();
