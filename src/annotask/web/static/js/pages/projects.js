// The projects page: search by name, pages of projects, delete with confirmation.

import { api, query } from '../api.js';
import { boot } from '../app.js';
import { $, clear, confirmDialog, formatDate, h, notice, toast, truncate } from '../dom.js';
import { pager } from '../task-row.js';

const PAGE_SIZE = 10;
const state = { page: 1, search: '' };
let loadSeq = 0;

function projectRow(project) {
  const link = `/projects/${project.id}`;
  const title = `#${project.id}: ${project.name}`;
  const tasks = project.tasks?.count ?? 0;
  return h('article', { class: 'row project-row', dataset: { projectId: String(project.id) } },
    h('div', { class: 'row-main' },
      h('a', { href: link, class: 'row-title', title, text: truncate(title, 70) }),
      h('div', { class: 'row-meta' },
        h('span', { text: `Created by ${project.owner?.username ?? 'unknown'} on ${formatDate(project.created_date)}` }),
        project.bug_tracker ? h('span', { class: 'muted', text: 'Has an issue tracker' }) : null)),
    h('div', { class: 'row-progress' }, h('span', { class: 'task-count', text: `${tasks} ${tasks === 1 ? 'task' : 'tasks'}` })),
    h('div', { class: 'row-actions' },
      h('a', { href: link, class: 'button', text: 'Open' }),
      h('button', {
        type: 'button', class: 'danger ghost', text: 'Delete', 'aria-label': `Delete project #${project.id}`,
        onClick: async () => {
          const ok = await confirmDialog({
            title: `Delete project #${project.id}?`,
            message: `“${truncate(project.name, 80)}” will be deleted with its ${tasks} ${tasks === 1 ? 'task' : 'tasks'}, their data and annotations. This cannot be undone.`,
            confirm: 'Delete', danger: true,
          });
          if (!ok) return;
          try {
            await api.delete(`/api/projects/${project.id}`);
            toast(`Project #${project.id} deleted`);
            load();
          } catch (error) {
            toast(error.message, 'error');
          }
        },
      })));
}

async function load() {
  const seq = ++loadSeq;
  window.history.replaceState(null, '', `/projects${query({ search: state.search, page: state.page > 1 ? state.page : '' })}`);
  const params = { page: state.page, page_size: PAGE_SIZE };
  if (state.search) params.filter = JSON.stringify({ in: [state.search, { var: 'name' }] });
  let data;
  try {
    data = await api.get(`/api/projects${query(params)}`);
  } catch (error) {
    if (seq === loadSeq) notice($('#notice'), `Could not load the projects: ${error.message}`);
    return;
  }
  if (seq !== loadSeq) return;
  clear($('#notice'));
  const list = clear($('#project-list'));
  if (!data.results.length) {
    list.append(h('div', { class: 'empty-state' },
      h('p', { text: state.search ? 'No projects match this search.' : 'No projects yet.' }),
      state.search ? null : h('a', { href: '/projects/create', class: 'button primary', text: 'Create new project' })));
  }
  for (const project of data.results) list.append(projectRow(project));
  pager($('#pager'), {
    page: state.page, count: data.count, pageSize: PAGE_SIZE,
    onPage: (page) => { state.page = page; load(); },
  });
}

async function main() {
  await boot();
  const params = new URLSearchParams(window.location.search);
  // What the user typed while the page was booting wins over the address.
  state.search = $('#search').value.trim() || params.get('search') || '';
  state.page = Math.max(1, Number(params.get('page')) || 1);
  $('#search').value = state.search;
  let typing = null;
  const apply = () => {
    state.search = $('#search').value.trim();
    state.page = 1;
    load();
  };
  $('#search').addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(apply, 250);
  });
  $('#project-filters').addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(typing);
    apply();
  });
  await load();
}

main();
