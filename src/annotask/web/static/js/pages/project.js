// The project page: name, issue tracker, labels, the project's tasks.

import { api, describe, listAll, query } from '../api.js';
import { boot, pageId } from '../app.js';
import { $, clear, confirmDialog, formatDateTime, h, notice, toast } from '../dom.js';
import { inlineEdit } from '../inline-edit.js';
import { issueTrackerEditor } from '../issue-tracker.js';
import { LabelsEditor } from '../labels-editor.js';
import { pager, taskRow } from '../task-row.js';

const projectId = pageId('projectId');
const PAGE_SIZE = 10;
let project;
let taskPage = 1;

function renderTitle() {
  inlineEdit($('#title-row'), {
    value: project.name,
    label: 'project name',
    maxlength: 256,
    render: (name) => h('h1', { id: 'project-title' }, h('span', { class: 'muted', text: `#${project.id}: ` }), h('span', { class: 'project-name', text: name })),
    validate: (name) => (name ? '' : 'A project needs a name.'),
    save: async (name) => {
      try {
        project = await api.patch(`/api/projects/${projectId}`, { name });
      } catch (error) {
        throw new Error(describe(error.body?.name ?? error.body) || error.message);
      }
      document.title = `#${project.id}: ${project.name} · annotask`;
      return project.name;
    },
  });
}

async function renderTasks() {
  const list = $('#task-list');
  let data;
  try {
    data = await api.get(`/api/tasks${query({ project_id: projectId, page: taskPage, page_size: PAGE_SIZE })}`);
  } catch (error) {
    notice(list, `Could not load the tasks: ${error.message}`);
    return;
  }
  clear(list);
  if (!data.results.length) list.append(h('p', { class: 'muted empty-state', text: 'No tasks in this project yet.' }));
  for (const task of data.results) list.append(taskRow(task, { onDeleted: renderTasks, showProject: false }));
  pager($('#pager'), { page: taskPage, count: data.count, pageSize: PAGE_SIZE, onPage: (page) => { taskPage = page; renderTasks(); } });
}

async function main() {
  await boot();
  try {
    project = await api.get(`/api/projects/${projectId}`);
  } catch (error) {
    notice($('#notice'), error.status === 404 ? `Project #${projectId} was not found.` : `Could not load the project: ${error.message}`);
    return;
  }
  document.title = `#${project.id}: ${project.name} · annotask`;
  $('#project-body').hidden = false;
  renderTitle();
  $('#people').append(
    h('dt', { text: 'Created' }), h('dd', { text: `by ${project.owner?.username ?? 'unknown'} on ${formatDateTime(project.created_date)}` }),
    h('dt', { text: 'Tasks' }), h('dd', { text: String(project.tasks?.count ?? 0) }),
  );
  issueTrackerEditor($('#issue-tracker'), { url: project.bug_tracker, resource: `/api/projects/${projectId}` });
  const editor = new LabelsEditor({
    labels: await listAll('/api/labels', { project_id: projectId }),
    persisted: true,
    onSave: async (patch) => {
      await api.patch(`/api/projects/${projectId}`, { labels: patch });
      return listAll('/api/labels', { project_id: projectId });
    },
  });
  $('#labels').append(editor.el);
  const del = $('#delete-project');
  del.disabled = false;
  del.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Delete project #${project.id}?`,
      message: `“${project.name}” will be deleted with its tasks, their data and annotations. This cannot be undone.`,
      confirm: 'Delete', danger: true,
    });
    if (!ok) return;
    try {
      await api.delete(`/api/projects/${projectId}`);
    } catch (error) {
      toast(error.message, 'error');
      return;
    }
    window.location.assign('/projects');
  });
  await renderTasks();
}

main();
