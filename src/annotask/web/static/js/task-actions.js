// The task page's actions: export a dataset, back up, import annotations,
// move into a project. Each long action runs as a background request that is
// polled; progress and the outcome go to the #action-status line.

import { api, describe, listAll, pollRequest, request } from './api.js';
import { $, clear, h, toast } from './dom.js';
import { uploadResourceFile } from './upload.js';

function status(text, kind = 'info') {
  const line = $('#action-status');
  line.className = `action-status ${kind}`;
  line.textContent = text;
}

function fail(error) {
  const text = describe(error.body) || error.message || 'The action failed.';
  status(text, 'error');
  toast(text, 'error');
}

/** Poll a background request, reporting its progress as `label`; throws if it failed. */
async function follow(rqId, label) {
  const final = await pollRequest(rqId, (rq) => {
    const pct = rq.progress != null ? ` ${Math.round(rq.progress * 100)}%` : '';
    status(`${label}: ${rq.status}${rq.status === 'started' ? pct : ''}`);
  }, { interval: 500 });
  if (final.status === 'failed') throw new Error(final.message || `${label} failed.`);
  return final;
}

function filenameOf(response, fallback) {
  const header = response.headers.get('Content-Disposition') || '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (star) return decodeURIComponent(star[1]);
  const plain = /filename="?([^";]+)"?/i.exec(header);
  return plain ? plain[1] : fallback;
}

/** Download a finished request's result (same origin) through a blob link. */
async function download(url, fallback) {
  const target = new URL(url, window.location.href);
  const response = await request('GET', target.pathname + target.search, { raw: true });
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const link = h('a', { href, download: filenameOf(response, fallback), hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

async function runExport(task, button, path, label, fallback) {
  button.disabled = true;
  try {
    status(`${label}: starting`);
    const answer = await api.post(path);
    const final = await follow(answer.rq_id, label);
    if (!final.result_url) throw new Error('The server gave no file to download.');
    status(`${label}: downloading`);
    await download(final.result_url, fallback);
    status(`${label}: done`, 'success');
  } catch (error) {
    fail(error);
  } finally {
    button.disabled = false;
  }
}

export async function setupTaskActions(task, { onMoved }) {
  const exportForm = $('#export-form');
  const importForm = $('#import-form');
  const moveForm = $('#move-form');
  let formats = { importers: [], exporters: [] };
  try {
    formats = await api.get('/api/server/annotation/formats');
  } catch (error) {
    fail(error);
  }
  const options = (list) => list.filter((f) => f.enabled !== false).map((f) => h('option', { value: f.name, text: f.name }));
  clear($('#export-format')).append(...options(formats.exporters));
  clear($('#import-format')).append(...options(formats.importers));
  for (const select of [$('#export-format'), $('#import-format')]) {
    const cvat = Array.from(select.options).find((o) => /^CVAT/.test(o.value));
    if (cvat) select.value = cvat.value;
  }

  exportForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const format = $('#export-format').value;
    const params = new URLSearchParams({ format, save_images: $('#export-images').checked ? 'True' : 'False' });
    runExport(task, $('#export-dataset'), `/api/tasks/${task.id}/dataset/export?${params}`, 'Export', `task_${task.id}.zip`);
  });
  $('#backup-task').addEventListener('click', () => {
    runExport(task, $('#backup-task'), `/api/tasks/${task.id}/backup/export`, 'Backup', `task_${task.id}_backup.zip`);
  });

  importForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = $('#import-file').files[0];
    if (!file) {
      status('Choose an annotations file first.', 'error');
      return;
    }
    const button = $('#import-annotations');
    button.disabled = true;
    try {
      status('Import: uploading');
      const rqId = await uploadResourceFile(`/api/tasks/${task.id}/annotations/`, file, { format: $('#import-format').value }, {
        onProgress: (sent, total) => status(`Import: uploading ${Math.round((100 * sent) / Math.max(total, 1))}%`),
      });
      await follow(rqId, 'Import');
      status('Import: done', 'success');
      importForm.reset();
    } catch (error) {
      fail(error);
    } finally {
      button.disabled = false;
    }
  });

  const projectSelect = $('#move-project');
  let projects = [];
  try {
    projects = await listAll('/api/projects');
  } catch {
    projects = [];
  }
  clear(projectSelect).append(
    h('option', { value: '', text: 'Choose a project' }),
    ...projects.filter((p) => p.id !== task.project_id).map((p) => h('option', { value: String(p.id), text: p.name })));
  moveForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!projectSelect.value) {
      status('Choose a project first.', 'error');
      return;
    }
    const button = $('#move-to-project');
    button.disabled = true;
    try {
      const moved = await api.patch(`/api/tasks/${task.id}`, { project_id: Number(projectSelect.value) });
      status(`Moved to project ${moved.project_name || `#${moved.project_id}`}`, 'success');
      onMoved?.(moved);
    } catch (error) {
      fail(error);
    } finally {
      button.disabled = false;
    }
  });
}
