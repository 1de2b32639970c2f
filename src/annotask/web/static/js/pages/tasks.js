// The tasks page: search by name, filter by status and project, pages of tasks.
// The filters live in the address (?search=&status=&project_id=&page=) so a
// reload or a shared link shows the same list.

import { api, describe, listAll, pollRequest, query } from '../api.js';
import { boot } from '../app.js';
import { $, clear, h, notice } from '../dom.js';
import { pager, taskRow } from '../task-row.js';
import { uploadResourceFile } from '../upload.js';

function backupStatus(text, kind = 'info') {
  const line = $('#backup-status');
  line.className = `action-status ${kind}`;
  line.textContent = text;
}

/** Restore a task from a backup archive, then open it. */
async function createFromBackup(input) {
  const file = input.files[0];
  if (!file) return;
  input.disabled = true;
  try {
    backupStatus(`Uploading ${file.name}`);
    const rqId = await uploadResourceFile('/api/tasks/backup/', file, {}, {
      onProgress: (sent, total) => backupStatus(`Uploading ${file.name}: ${Math.round((100 * sent) / Math.max(total, 1))}%`),
    });
    const final = await pollRequest(rqId, (rq) => backupStatus(`Restoring the backup: ${rq.status}`), { interval: 500 });
    if (final.status === 'failed' || final.result_id == null) throw new Error(final.message || 'The backup could not be restored.');
    backupStatus('Restored', 'success');
    window.location.assign(`/tasks/${final.result_id}`);
  } catch (error) {
    backupStatus(describe(error.body) || error.message, 'error');
  } finally {
    input.disabled = false;
    input.value = '';
  }
}

const PAGE_SIZE = 10;
const REFRESH_MS = 2000;

const state = { page: 1, search: '', status: '', project_id: '' };
let refreshTimer = null;
let loadSeq = 0;

function readAddress() {
  const params = new URLSearchParams(window.location.search);
  state.page = Math.max(1, Number(params.get('page')) || 1);
  // What the user typed or picked while the page was booting wins over the address.
  state.search = $('#search').value.trim() || params.get('search') || '';
  state.status = $('#status-filter').value || params.get('status') || '';
  state.project_id = params.get('project_id') || '';
  $('#search').value = state.search;
  $('#status-filter').value = state.status;
}

function writeAddress() {
  const params = { search: state.search, status: state.status, project_id: state.project_id, page: state.page > 1 ? state.page : '' };
  window.history.replaceState(null, '', `/tasks${query(params)}`);
}

/** The list query: `filter` is CVAT's JSON-logic (name contains, status equals). */
export function listParams({ page, search, status, project_id: projectId }) {
  const rules = [];
  if (search) rules.push({ in: [search, { var: 'name' }] });
  if (status) rules.push({ '==': [{ var: 'status' }, status] });
  const params = { page, page_size: PAGE_SIZE, project_id: projectId };
  if (rules.length) params.filter = JSON.stringify(rules.length === 1 ? rules[0] : { and: rules });
  return params;
}

async function load() {
  const seq = ++loadSeq;
  clearTimeout(refreshTimer);
  writeAddress();
  const list = $('#task-list');
  let data;
  try {
    data = await api.get(`/api/tasks${query(listParams(state))}`);
  } catch (error) {
    if (seq === loadSeq) notice($('#notice'), `Could not load the tasks: ${error.message}`);
    return;
  }
  if (seq !== loadSeq) return;
  clear($('#notice'));
  if (!data.results.length && state.page > 1 && data.count > 0) {
    state.page = Math.ceil(data.count / PAGE_SIZE);
    load();
    return;
  }
  clear(list);
  if (!data.results.length) {
    const filtered = state.search || state.status || state.project_id;
    list.append(h('div', { class: 'empty-state' },
      h('p', { text: filtered ? 'No tasks match these filters.' : 'No tasks yet.' }),
      filtered ? null : h('a', { href: '/tasks/create', class: 'button primary', text: 'Create new task' })));
  }
  for (const task of data.results) list.append(taskRow(task, { onDeleted: load }));
  pager($('#pager'), {
    page: state.page, count: data.count, pageSize: PAGE_SIZE,
    onPage: (page) => { state.page = page; load(); window.scrollTo(0, 0); },
  });
  // Keep rows whose data is being created up to date.
  if (data.results.some((task) => ['queued', 'started'].includes(task.creation_request?.status))) {
    refreshTimer = setTimeout(load, REFRESH_MS);
  }
}

async function loadProjects() {
  const select = $('#project-filter');
  try {
    const projects = await listAll('/api/projects');
    for (const project of projects) {
      select.append(h('option', { value: String(project.id), text: `#${project.id}: ${project.name}` }));
    }
  } catch {
    // the filter simply offers no projects
  }
  select.value = state.project_id;
  if (select.value !== state.project_id) {
    // a project id from the address that the list does not know
    select.append(h('option', { value: state.project_id, text: `#${state.project_id}` }));
    select.value = state.project_id;
  }
}

function showFlash() {
  const message = sessionStorage.getItem('annotask.flash');
  if (!message) return;
  sessionStorage.removeItem('annotask.flash');
  notice($('#flash'), message, 'success');
}

async function main() {
  await boot();
  readAddress();
  let typing = null;
  $('#search').addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      state.search = $('#search').value.trim();
      state.page = 1;
      load();
    }, 250);
  });
  $('#task-filters').addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(typing);
    state.search = $('#search').value.trim();
    state.page = 1;
    load();
  });
  $('#status-filter').addEventListener('change', (event) => {
    state.status = event.target.value;
    state.page = 1;
    load();
  });
  $('#project-filter').addEventListener('change', (event) => {
    state.project_id = event.target.value;
    state.page = 1;
    load();
  });
  const backupInput = $('#backup-file');
  backupInput.addEventListener('change', (event) => createFromBackup(event.target));
  // A file chosen while this module was still loading fired its change event unheard.
  if (backupInput.files.length) createFromBackup(backupInput);
  await Promise.all([loadProjects(), load()]);
  showFlash();
}

main();
