// Create a project: name, labels (Constructor / Raw), issue tracker.

import { ApiError, api } from '../api.js';
import { boot } from '../app.js';
import { $, clearErrors, showErrors } from '../dom.js';
import { LabelsEditor } from '../labels-editor.js';
import { checkIssueTracker } from '../validate.js';

const form = $('#create-project');

async function main() {
  await boot();
  const editor = new LabelsEditor();
  $('#labels-editor').append(editor.el);
  let busy = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    clearErrors(form);
    const errors = {};
    const name = $('#project-name').value.trim();
    if (!name) errors.name = ['A project needs a name.'];
    if (editor.form && !editor.form.isBlank()) errors.labels = ['Finish the label you are editing: press Done or Cancel.'];
    else if (editor.isEditing()) errors.labels = ['Apply the raw labels with Done, or Reset them.'];
    const tracker = $('#bug-tracker').value.trim();
    const trackerError = checkIssueTracker(tracker);
    if (trackerError) errors.bug_tracker = [trackerError];
    if (Object.keys(errors).length) {
      showErrors(form, errors);
      return;
    }
    busy = true;
    $('#submit').disabled = true;
    try {
      const project = await api.post('/api/projects', { name, labels: editor.getLabels(), bug_tracker: tracker });
      window.location.assign(`/projects/${project.id}`);
    } catch (error) {
      showErrors(form, error instanceof ApiError && error.status === 400 ? error.fieldErrors() : { non_field_errors: [error.message] });
      busy = false;
      $('#submit').disabled = false;
    }
  });
  form.dataset.ready = '1';
}

main();
