// Finish job, CVAT's "Finish the job": after a confirmation, unsaved changes are saved,
// then `PATCH /api/jobs/{id}` sets the state `completed`. The task's staff (owner or
// assignee of the task or its project, and admins) also move the job to the
// `acceptance` stage, as CVAT's annotation menu did; the job's own assignee may only
// set its state (the server refuses them the stage), so for them the stage stays.
// The header shows the job's stage and state, and the button says when it is done.

import { describe, request } from '../api.js';
import { confirmDialog, h } from '../dom.js';

const staffAnswers = new Map();

/**
 * Whether the user runs the job's task. Task staff are exactly those who may read the
 * task (`GET /api/tasks/{id}`; a job assignee gets 404), so one probe answers it.
 */
export function isTaskStaff(job) {
  if (!staffAnswers.has(job.task_id)) {
    staffAnswers.set(job.task_id, request('GET', `/api/tasks/${job.task_id}`, { noLoginRedirect: true })
      .then(() => true, () => false));
  }
  return staffAnswers.get(job.task_id);
}

/** The PATCH body that finishes a job for staff or for its assignee. */
export function finishChanges(staff) {
  return staff ? { stage: 'acceptance', state: 'completed' } : { state: 'completed' };
}

/** Nothing left to finish: completed, and for staff in the acceptance stage too. */
export function isFinished(job, staff) {
  return job.state === 'completed' && (!staff || job.stage === 'acceptance');
}

const capital = (text) => (text ? text[0].toUpperCase() + text.slice(1) : '');

/** "Annotation · In progress" in the header. */
function showProgress(element, job) {
  if (!element) return;
  element.textContent = `${capital(job.stage)} · ${capital(job.state)}`;
  element.className = `job-progress${job.state === 'completed' ? ' completed' : ''}`;
  element.dataset.stage = job.stage;
  element.dataset.state = job.state;
}

function showButton(button, job, staff) {
  const done = isFinished(job, staff);
  button.disabled = done;
  button.textContent = done ? 'Finished' : 'Finish';
  button.setAttribute('aria-label', done ? 'The job is finished' : 'Finish the job');
  button.title = done
    ? 'The job is completed'
    : `Save, then mark the job completed${staff ? ' and move it to acceptance' : ''}`;
}

/**
 * Wire the Finish button. `save()` saves unsaved changes and resolves to true when
 * nothing unsaved is left (false: not finished, the save said why); `status(text, kind)`
 * is the view's status line; `onFinished(job)` gets the job as the server answered.
 */
export async function setUpFinish({ button, progress, job, save, status, onFinished }) {
  showProgress(progress, job);
  const staff = await isTaskStaff(job);
  showButton(button, job, staff);
  button.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Finish job #${job.id}?`,
      message: `Unsaved changes are saved first. Then the job is marked completed${
        staff ? ' and moves to the acceptance stage' : ''}.`,
      confirm: 'Finish the job',
    });
    if (!ok) return;
    button.disabled = true;
    try {
      if (!(await save())) {
        status('Not finished: the changes are not saved yet.', 'error');
        showButton(button, job, staff);
        return;
      }
      status('Finishing the job…');
      const updated = await request('PATCH', `/api/jobs/${job.id}`, { json: finishChanges(staff) });
      Object.assign(job, updated);
      showProgress(progress, job);
      showButton(button, job, staff);
      status(h('span', { text: `Job #${job.id} finished: ${job.state}, stage ${job.stage}. ` },
        h('a', { href: '/jobs', text: 'Back to the jobs' })), 'success');
      onFinished?.(job);
    } catch (error) {
      showButton(button, job, staff);
      status(`Could not finish the job: ${describe(error.body) || error.message}`, 'error');
    }
  });
}
