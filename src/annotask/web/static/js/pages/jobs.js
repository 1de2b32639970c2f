// The jobs page: every job the user may open (their own assignments, and the jobs
// of the tasks they run), theirs first, then newest first, a page at a time; with
// search and filters by stage, state, assignee and task. An annotator assigned one
// job sees neither the task page nor the task list, so this is where they find their
// work. It reads CVAT's `GET /api/jobs` (simple filters, JSON-logic `filter`,
// `search`, `sort`, pages) plus annotask's `assigned_to_me` sort key. The filters
// live in the address (?search=&stage=&state=&assignee=&mine=&unassigned=&task=&page=)
// so a reload or a shared link shows the same list.

import { api, query } from '../api.js';
import { boot } from '../app.js';
import { $, clear, h, notice } from '../dom.js';
import { pager } from '../task-row.js';

const PAGE_SIZE = 20;
/** The caller's jobs first (annotask's sort key), then newest first as CVAT lists them. */
const SORT = '-assigned_to_me,-id';
const ME = '@me';
const NOBODY = '@none';
const PERSON = 'user:';

const state = { page: 1, search: '', stage: '', state: '', assignee: '', task: '' };
let me = null;
let loadSeq = 0;

function capital(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : '';
}

/**
 * The `GET /api/jobs` parameters for the page's filters. `assignee` is '' (anyone),
 * '@me', '@none' or 'user:<username>'; `task` is '#12' / '12' (that task) or part of
 * a task's name.
 */
export function listParams({ page, search, stage, state: jobState, assignee, task }, username) {
  const params = { page, page_size: PAGE_SIZE, sort: SORT, search, stage, state: jobState };
  const rules = [];
  if (assignee === ME) params.assignee = username;
  else if (assignee === NOBODY) rules.push({ '==': [{ var: 'assignee' }, null] });
  else if (assignee.startsWith(PERSON)) params.assignee = assignee.slice(PERSON.length);
  const taskText = task.trim();
  const taskId = /^#?(\d+)$/.exec(taskText);
  if (taskId) params.task_id = taskId[1];
  else if (taskText) rules.push({ in: [taskText, { var: 'task_name' }] });
  if (rules.length) params.filter = JSON.stringify(rules.length === 1 ? rules[0] : { and: rules });
  return params;
}

const filtered = () => Boolean(state.search || state.stage || state.state || state.assignee || state.task);

// ---- the address ----------------------------------------------------------------------

function readAddress() {
  const params = new URLSearchParams(window.location.search);
  state.page = Math.max(1, Number(params.get('page')) || 1);
  state.search = params.get('search') || '';
  state.stage = params.get('stage') || '';
  state.state = params.get('state') || '';
  state.task = params.get('task') || '';
  if (params.get('mine') === '1') state.assignee = ME;
  else if (params.get('unassigned') === '1') state.assignee = NOBODY;
  else if (params.get('assignee')) state.assignee = PERSON + params.get('assignee');
  else state.assignee = '';
}

function writeAddress() {
  const { assignee } = state;
  const params = {
    search: state.search,
    stage: state.stage,
    state: state.state,
    assignee: assignee.startsWith(PERSON) ? assignee.slice(PERSON.length) : '',
    mine: assignee === ME ? 1 : '',
    unassigned: assignee === NOBODY ? 1 : '',
    task: state.task,
    page: state.page > 1 ? state.page : '',
  };
  window.history.replaceState(null, '', `/jobs${query(params)}`);
}

/** Show `state` in the form (an option the select lacks is added, e.g. a user from a link). */
function showFilters() {
  $('#search').value = state.search;
  $('#stage-filter').value = state.stage;
  $('#state-filter').value = state.state;
  $('#task-filter').value = state.task;
  const assignee = $('#assignee-filter');
  if (state.assignee && ![...assignee.options].some((option) => option.value === state.assignee)) {
    assignee.append(h('option', { value: state.assignee, text: state.assignee.slice(PERSON.length) }));
  }
  assignee.value = state.assignee;
  $('#clear-filters').hidden = !filtered();
}

// ---- the list -------------------------------------------------------------------------

function jobRow(job) {
  const open = `/jobs/${job.id}`;
  const mine = job.assignee != null && job.assignee.id === me.id;
  return h('tr', { class: mine ? 'mine' : null, dataset: { jobId: String(job.id) } },
    h('td', { class: 'job-id' }, h('a', { href: open, class: 'job-link', text: `#${job.id}` })),
    h('td', { class: 'job-task' },
      h('button', {
        type: 'button',
        class: 'link task-name',
        title: 'Show only the jobs of this task',
        onClick: () => setFilter('task', `#${job.task_id}`),
      }, job.task_name || `Task #${job.task_id}`,
      h('span', { class: 'visually-hidden', text: ': show only its jobs' })),
      job.project_name ? h('span', { class: 'muted', text: ` · ${job.project_name}` }) : null),
    h('td', { class: 'job-frames' },
      h('span', { text: `${job.start_frame}–${job.stop_frame}` }),
      h('span', { class: 'muted', text: ` (${job.frame_count})` })),
    h('td', { class: 'job-stage', text: capital(job.stage) }),
    h('td', { class: ['job-state', `state-${job.state.replace(' ', '-')}`], text: capital(job.state) }),
    h('td', { class: 'job-assignee' },
      h('span', { text: job.assignee?.username ?? '' }),
      mine ? h('span', { class: 'tag you', text: 'you' }) : null),
    h('td', {},
      // The annotation view is 2D: a point-cloud job gets no link to it.
      job.dimension === '3d'
        ? h('span', { class: 'muted', text: '3D' })
        : h('a', { class: 'button small job-open', href: open }, 'Open',
          h('span', { class: 'visually-hidden', text: ` job #${job.id}` }))));
}

function emptyState() {
  if (!filtered()) return h('div', { class: 'empty-state' }, h('p', { text: 'No jobs for you yet.' }));
  return h('div', { class: 'empty-state' },
    h('p', { text: 'No jobs match these filters.' }),
    h('button', { type: 'button', text: 'Clear filters', onClick: clearFilters }));
}

async function load() {
  const seq = ++loadSeq;
  writeAddress();
  $('#clear-filters').hidden = !filtered();
  let data;
  try {
    data = await api.get(`/api/jobs${query(listParams(state, me.username))}`);
  } catch (error) {
    if (seq === loadSeq) notice($('#notice'), `Could not load the jobs: ${error.message}`);
    return;
  }
  if (seq !== loadSeq) return; // a newer filter answered or will
  clear($('#notice'));
  if (!data.results.length && state.page > 1 && data.count > 0) {
    state.page = Math.ceil(data.count / PAGE_SIZE);
    load();
    return;
  }
  const box = clear($('#job-list'));
  $('#job-count').textContent = data.count === 1 ? '1 job' : `${data.count} jobs`;
  if (!data.results.length) {
    box.append(emptyState());
  } else {
    box.append(h('table', { class: 'table jobs-table' },
      h('thead', {}, h('tr', {}, ['Job', 'Task', 'Frames', 'Stage', 'State', 'Assignee', '']
        .map((text) => h('th', { scope: 'col', text })))),
      h('tbody', {}, data.results.map(jobRow))));
  }
  pager($('#pager'), {
    page: state.page, count: data.count, pageSize: PAGE_SIZE,
    onPage: (page) => { state.page = page; load(); window.scrollTo(0, 0); },
  });
  $('#main').dataset.ready = '1';
}

/** Filter by `key`; `typed` filters are not written back into the field being typed in. */
function setFilter(key, value, { typed = false } = {}) {
  state[key] = value;
  state.page = 1;
  if (!typed) showFilters();
  load();
}

function clearFilters() {
  Object.assign(state, { search: '', stage: '', state: '', assignee: '', task: '', page: 1 });
  showFilters();
  load();
}

/** The other people a job may be assigned to (names only for non-admins, as in CVAT). */
async function loadPeople() {
  let users;
  try {
    users = (await api.get(`/api/users${query({ page_size: 500 })}`)).results;
  } catch {
    return; // the filter offers me and nobody
  }
  const select = $('#assignee-filter');
  const known = new Set([...select.options].map((option) => option.value));
  for (const user of users) {
    const value = PERSON + user.username;
    if (user.id !== me.id && !known.has(value)) select.append(h('option', { value, text: user.username }));
  }
  select.value = state.assignee;
}

function wire() {
  const typed = (input, key) => {
    let timer = null;
    input.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => setFilter(key, input.value.trim(), { typed: true }), 250);
    });
    input.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter') return;
      event.preventDefault();
      clearTimeout(timer);
      setFilter(key, input.value.trim(), { typed: true });
    });
  };
  typed($('#search'), 'search');
  typed($('#task-filter'), 'task');
  $('#job-filters').addEventListener('submit', (event) => event.preventDefault());
  $('#stage-filter').addEventListener('change', (event) => setFilter('stage', event.target.value));
  $('#state-filter').addEventListener('change', (event) => setFilter('state', event.target.value));
  $('#assignee-filter').addEventListener('change', (event) => setFilter('assignee', event.target.value));
  $('#clear-filters').addEventListener('click', clearFilters);
}

async function main() {
  me = await boot();
  readAddress();
  showFilters();
  wire();
  await Promise.all([loadPeople(), load()]);
}

main();
