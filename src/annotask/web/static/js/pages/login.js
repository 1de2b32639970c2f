import { api, ApiError } from '../api.js';
import { $, clearErrors, showErrors } from '../dom.js';

/** Only a path on this site (no `//host`, no scheme): never an open redirect. */
function nextTarget() {
  const next = new URLSearchParams(window.location.search).get('next') || '';
  if (!next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return '/tasks';
  return next;
}

const form = $('#login-form');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors(form);
  const username = $('#login-username').value.trim();
  const password = $('#login-password').value;
  const missing = {};
  if (!username) missing.username = ['Enter your username or email.'];
  if (!password) missing.password = ['Enter your password.'];
  if (Object.keys(missing).length) {
    showErrors(form, missing);
    return;
  }
  const button = $('#login-submit');
  button.disabled = true;
  try {
    // The server matches the name against usernames and emails alike.
    await api.post('/api/auth/login', { username, password }, { noLoginRedirect: true });
    window.location.assign(nextTarget());
  } catch (error) {
    button.disabled = false;
    if (error instanceof ApiError && Object.keys(error.fieldErrors()).length) {
      showErrors(form, error.fieldErrors());
    } else {
      showErrors(form, { non_field_errors: [error.message] });
    }
    $('#login-password').select();
  }
});
