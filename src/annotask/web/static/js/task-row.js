// One task in a list (tasks page, project page): preview, "#id: name", project,
// owner and date, progress over jobs ("N of M jobs": Pending / In Progress /
// Completed), and how the data creation went.

import { api } from './api.js';
import { confirmDialog, formatDate, h, toast, truncate } from './dom.js';

/** Pending / In Progress / Completed from the job summary (task-semantics 10). */
export function progressLabel(jobs) {
  const total = jobs?.count ?? 0;
  const completed = jobs?.completed ?? 0;
  if (total > 0 && completed >= total) return 'Completed';
  if (completed > 0) return 'In Progress';
  return 'Pending';
}

/** The creation request as a block, or null when it finished (or never ran). */
export function creationBlock(task) {
  const rq = task.creation_request;
  if (!rq || rq.status === 'finished') return null;
  if (rq.status === 'failed') {
    return h('div', { class: 'creation failed', role: 'status' },
      h('strong', { text: 'Creation failed: ' }),
      h('span', { class: 'creation-message', text: rq.message || 'no reason given' }));
  }
  const percent = Math.round((rq.progress || 0) * 100);
  return h('div', { class: 'creation running', role: 'status' },
    h('strong', { text: rq.status === 'queued' ? 'Queued' : 'Creating data' }),
    rq.message ? h('span', { class: 'creation-message', text: ` · ${rq.message}` }) : null,
    h('progress', { max: '100', value: String(percent), 'aria-label': 'Creation progress' }));
}

/** A thumbnail that falls back to a placeholder when the task has no preview. */
export function preview(task, className = 'thumb') {
  const box = h('div', { class: [className, 'empty'] }, h('span', { text: 'No preview' }));
  if (task.data == null) return box;
  const img = h('img', { src: `/api/tasks/${task.id}/preview`, alt: `Preview of task #${task.id}`, loading: 'lazy', decoding: 'async' });
  img.addEventListener('load', () => {
    box.classList.remove('empty');
    box.replaceChildren(img);
  });
  img.addEventListener('error', () => img.remove());
  box.append(img);
  return box;
}

/**
 * A row for `task`. `onDeleted` runs after a confirmed, successful delete.
 */
export function taskRow(task, { onDeleted, showProject = true } = {}) {
  const jobs = task.jobs || {};
  const total = jobs.count ?? 0;
  const completed = jobs.completed ?? 0;
  const label = progressLabel(jobs);
  const hasData = task.data != null;
  const link = `/tasks/${task.id}`;
  const title = `#${task.id}: ${task.name}`;
  const deleteButton = h('button', {
    type: 'button', class: 'danger ghost', text: 'Delete', 'aria-label': `Delete task #${task.id}`,
    onClick: async () => {
      const ok = await confirmDialog({
        title: `Delete task #${task.id}?`,
        message: `“${truncate(task.name, 80)}” will be deleted with its data and annotations. This cannot be undone.`,
        confirm: 'Delete', danger: true,
      });
      if (!ok) return;
      try {
        await api.delete(`/api/tasks/${task.id}`);
        toast(`Task #${task.id} deleted`);
        onDeleted?.(task);
      } catch (error) {
        toast(error.message, 'error');
      }
    },
  });
  return h('article', { class: 'row task-row', dataset: { taskId: String(task.id) } },
    h('a', { href: link, class: 'thumb-link', tabindex: '-1', 'aria-hidden': 'true' }, preview(task)),
    h('div', { class: 'row-main' },
      h('a', { href: link, class: 'row-title', title, text: truncate(title, 70) }),
      h('div', { class: 'row-meta' },
        showProject && task.project_id != null
          ? h('span', {}, 'Project ', h('a', { href: `/projects/${task.project_id}`, class: 'project-link', text: task.project_name || `#${task.project_id}` }))
          : null,
        h('span', { text: `Created by ${task.owner?.username ?? 'unknown'} on ${formatDate(task.created_date)}` }),
        task.subset ? h('span', { class: 'tag', text: task.subset }) : null),
      creationBlock(task)),
    h('div', { class: 'row-progress' },
      hasData
        ? [
          h('div', { class: 'progress-head' },
            h('span', { class: ['status-label', label.toLowerCase().replace(' ', '-')], text: label }),
            h('span', { class: 'jobs-text', text: `${completed} of ${total} jobs` })),
          h('progress', { max: String(Math.max(total, 1)), value: String(completed), 'aria-label': 'Completed jobs' }),
          h('span', { class: 'job-count muted', text: `${total} ${total === 1 ? 'job' : 'jobs'} · ${task.size} frames` })]
        : h('span', { class: 'muted', text: task.creation_request?.status === 'failed' ? 'No data' : 'No data yet' })),
    h('div', { class: 'row-actions' },
      h('a', { href: link, class: 'button', text: 'Open' }),
      deleteButton));
}

/** Previous / "Page N of M" / Next. */
export function pager(container, { page, count, pageSize, onPage }) {
  const pages = Math.max(1, Math.ceil(count / pageSize));
  container.replaceChildren();
  if (count <= pageSize) {
    container.hidden = true;
    return;
  }
  container.hidden = false;
  container.append(
    h('button', { type: 'button', text: '‹ Previous', disabled: page <= 1, onClick: () => onPage(page - 1) }),
    h('span', { class: 'page-info', text: `Page ${page} of ${pages}` }),
    h('button', { type: 'button', text: 'Next ›', disabled: page >= pages, onClick: () => onPage(page + 1) }));
}
