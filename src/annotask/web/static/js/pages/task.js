// The task page: editable name, preview, parameters, people, issue tracker,
// dataset repository, labels (when not in a project), jobs, creation status.

import { api, describe, listAll, pollRequest } from '../api.js';
import { boot, pageId } from '../app.js';
import { $, clear, confirmDialog, formatDate, formatDateTime, h, notice, toast } from '../dom.js';
import { inlineEdit } from '../inline-edit.js';
import { issueTrackerEditor } from '../issue-tracker.js';
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

function renderRepository() {
  const box = clear($('#repository'));
  let stored = null;
  try {
    stored = localStorage.getItem(`annotask.datasetRepository.${taskId}`);
  } catch {
    stored = null;
  }
  if (!stored) {
    box.append(h('p', { class: 'muted', text: 'Not configured' }));
    return;
  }
  box.append(
    h('p', { class: 'tracker-url', text: stored }),
    h('p', { class: 'hint warn', text: 'Dataset repository (git) is not available yet: this value is kept in this browser only and nothing is synchronised.' }));
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
      h('td', { class: 'job-id', text: `#${job.id}` }),
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
  renderRepository();
  renderLabels().catch((error) => notice($('#labels'), `Could not load the labels: ${error.message}`));
  renderJobs();
  renderCreation().catch(() => {});
  setupFrameViewer(taskId);
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
