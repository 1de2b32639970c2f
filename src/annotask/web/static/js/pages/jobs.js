// The jobs page: every job the user may open (their own assignments, and the
// jobs of the tasks they run), newest first, a page at a time. An annotator
// assigned one job sees neither the task page nor the task list, so this is
// where they find their work. The page number lives in the address (?page=).

import { api, query } from '../api.js';
import { boot } from '../app.js';
import { $, clear, h, notice } from '../dom.js';
import { pager } from '../task-row.js';

const PAGE_SIZE = 20;
const state = { page: 1 };

function capital(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : '';
}

function jobRow(job) {
  const open = `/jobs/${job.id}`;
  return h('tr', { dataset: { jobId: String(job.id) } },
    h('td', { class: 'job-id' }, h('a', { href: open, class: 'job-link', text: `#${job.id}` })),
    h('td', { class: 'job-task' },
      h('span', { class: 'task-name', text: job.task_name || `Task #${job.task_id}` }),
      job.project_name ? h('span', { class: 'muted', text: ` · ${job.project_name}` }) : null),
    h('td', { class: 'job-frames' },
      h('span', { text: `${job.start_frame}–${job.stop_frame}` }),
      h('span', { class: 'muted', text: ` (${job.frame_count})` })),
    h('td', { class: 'job-stage', text: capital(job.stage) }),
    h('td', { class: 'job-state', text: capital(job.state) }),
    h('td', { class: 'job-assignee', text: job.assignee?.username ?? '' }),
    h('td', {},
      // The annotation view is 2D: a point-cloud job gets no link to it.
      job.dimension === '3d'
        ? h('span', { class: 'muted', text: '3D' })
        : h('a', { class: 'button small job-open', href: open }, 'Open',
          h('span', { class: 'visually-hidden', text: ` job #${job.id}` }))));
}

async function load() {
  window.history.replaceState(null, '', `/jobs${query({ page: state.page > 1 ? state.page : '' })}`);
  const box = $('#job-list');
  let data;
  try {
    data = await api.get(`/api/jobs${query({ page: state.page, page_size: PAGE_SIZE })}`);
  } catch (error) {
    notice($('#notice'), `Could not load the jobs: ${error.message}`);
    return;
  }
  clear($('#notice'));
  if (!data.results.length && state.page > 1 && data.count > 0) {
    state.page = Math.ceil(data.count / PAGE_SIZE);
    load();
    return;
  }
  clear(box);
  if (!data.results.length) {
    box.append(h('div', { class: 'empty-state' }, h('p', { text: 'No jobs for you yet.' })));
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

async function main() {
  await boot();
  state.page = Math.max(1, Number(new URLSearchParams(window.location.search).get('page')) || 1);
  await load();
}

main();
