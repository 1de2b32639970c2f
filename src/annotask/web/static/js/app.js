// What every signed-in page does first: who is the user, the user menu, logout.

import { api, toLogin } from './api.js';
import { $ } from './dom.js';

function setUpMenu() {
  const button = $('#user-button');
  const menu = $('#user-menu');
  if (!button || !menu) return;
  const close = () => {
    menu.hidden = true;
    button.setAttribute('aria-expanded', 'false');
  };
  button.addEventListener('click', (event) => {
    event.stopPropagation();
    const open = menu.hidden;
    menu.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
  });
  document.addEventListener('click', (event) => {
    if (!menu.contains(event.target)) close();
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
  });
  $('#logout').addEventListener('click', async () => {
    try {
      await api.post('/api/auth/logout', undefined, { noLoginRedirect: true });
    } finally {
      window.location.assign('/login');
    }
  });
}

/** Resolve to the signed-in user (`/api/users/self`); a 401 goes to the login page. */
export async function boot() {
  setUpMenu();
  try {
    const user = await api.get('/api/users/self');
    const name = $('#username');
    if (name) name.textContent = user.username;
    return user;
  } catch (error) {
    if (error.status === 401) {
      toLogin();
      return new Promise(() => {}); // the page is going away
    }
    throw error;
  }
}

/** Read a `data-*` id from `<main>` (set by the page route). */
export function pageId(name) {
  const value = document.getElementById('main').dataset[name];
  return value ? Number(value) : null;
}
