import { api, ApiError } from '../api.js';
import { $, clearErrors, showErrors } from '../dom.js';

/**
 * Where to go after signing in: `next` only when it is a path on this site.
 * The browser's own parser reads it (tabs and newlines dropped, backslashes as
 * slashes, `//host`, `javascript:`), and the result must have this page's
 * origin; the absolute URL it gives is what we navigate to, so nothing is
 * re-read differently later. Never an open redirect.
 */
export function nextTarget(search = window.location.search) {
  const fallback = new URL('/tasks', window.location.origin).href;
  const next = new URLSearchParams(search).get('next') || '';
  if (!next.startsWith('/')) return fallback;
  let url;
  try {
    url = new URL(next, window.location.origin);
  } catch {
    return fallback;
  }
  return url.origin === window.location.origin ? url.href : fallback;
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
