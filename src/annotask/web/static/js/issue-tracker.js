// The issue tracker block of the task and project pages (task-semantics 9):
// the URL with an "Open the issue" link in a new tab, or "Not specified".

import { api, describe } from './api.js';
import { h } from './dom.js';
import { inlineEdit } from './inline-edit.js';
import { checkIssueTracker, isHttpUrl } from './validate.js';

export function trackerView(url) {
  if (!url) return h('span', { class: 'muted tracker-empty', text: 'Not specified' });
  // Only http(s) values become links: nothing else may be navigated to from here.
  return h('div', { class: 'tracker' },
    isHttpUrl(url)
      ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'button small open-issue', text: 'Open the issue' })
      : null,
    h('span', { class: 'tracker-url', text: url }));
}

/** An editable issue tracker of `/api/tasks/{id}` or `/api/projects/{id}`. */
export function issueTrackerEditor(container, { url, resource }) {
  inlineEdit(container, {
    value: url || '',
    label: 'issue tracker',
    type: 'url',
    placeholder: 'https://tracker.example.com/issues/42',
    render: trackerView,
    validate: checkIssueTracker,
    save: async (value) => {
      try {
        const saved = await api.patch(resource, { bug_tracker: value });
        return saved.bug_tracker;
      } catch (error) {
        throw new Error(describe(error.body?.bug_tracker ?? error.body) || error.message);
      }
    },
  });
}
