// Client-side checks that mirror the server's (task-semantics 1a, 1b, 8, 9), so
// the user hears about a mistake before anything is created.

export const ISSUE_TRACKER_MESSAGE = 'Issue tracker is expected to be URL';

/** An absolute http(s) URL with a host and no spaces. */
export function isHttpUrl(text) {
  if (!text || /\s/.test(text)) return false;
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && Boolean(url.hostname);
  } catch {
    return false;
  }
}

/** Error message for an issue tracker value, or '' when it is fine (empty is fine). */
export function checkIssueTracker(value) {
  const text = value.trim();
  if (!text) return '';
  if (text.length > 2000) return 'Issue tracker must have at most 2000 characters';
  return isHttpUrl(text) ? '' : ISSUE_TRACKER_MESSAGE;
}

// Dataset repository: "URL [PATH]" (semantics 8). The path is in square brackets and
// names a .zip or .xml file (the only formats the sync supports). The server checks
// again and has the last word (credentials in URLs, local repositories).
const HOST = '(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\\.)*[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
// The same forms the server accepts (domain/dataset_repo/parsing.py): a scheme'd
// http(s) URL needs a path; a bare host.tld/owner/repos two parts.
const HTTP_REPO = new RegExp(`^(?:https?://${HOST}(?::\\d{1,5})?(?:/[^\\s/]+)+|${HOST}(?::\\d{1,5})?(?:/[^\\s/]+){2,})/?$`);
const SSH_REPO = new RegExp(`^(?:ssh://(?:[A-Za-z0-9_.-]+@)?${HOST}(?::\\d{1,5})?/[^\\s/]+(?:/[^\\s/]+)*|[A-Za-z0-9_.-]+@${HOST}:[^\\s/-][^\\s]*)/?$`);

/** The server's rule for the file in the repository: relative parts, none hidden
 * or empty, a .zip or .xml file (task names with dots or any letters are fine). */
function checkRepoPath(path) {
  const inner = path.slice(1, -1).trim().replace(/^\/+/, '');
  const parts = inner.split('/');
  return Boolean(inner) && !/[\\\u0000-\u001f]/.test(inner)
    && parts.every((part) => part && part !== '.' && part !== '..' && !part.startsWith('.'))
    && /\.(zip|xml)$/.test(inner);
}

/** Split "URL [PATH]" into its parts; null parts are absent. */
export function parseRepository(value) {
  const text = value.trim();
  const match = /^(\S+)\s*(\[.*\])?$/.exec(text);
  if (!match) return { url: text, path: null, malformed: true };
  return { url: match[1], path: match[2] || null, malformed: false };
}

// Local repositories (an on-premise mirror), which the server takes when
// ANNOTASK_GIT_ALLOW_LOCAL is on: file:///path or /path.
const LOCAL_REPO = /^(?:file:\/\/(?:localhost)?)?\/\S+$/;

export function checkRepository(value) {
  const text = value.trim();
  if (!text) return '';
  const { url, path, malformed } = parseRepository(text);
  if (malformed || !(HTTP_REPO.test(url) || SSH_REPO.test(url) || LOCAL_REPO.test(url))) {
    return 'Dataset repository URL is not valid: use https://host/owner/repos, git@host:owner/repos or file:///path, optionally followed by [PATH]';
  }
  if (path && !checkRepoPath(path)) {
    return 'The repository path must be in square brackets and name a .zip or .xml file, e.g. [annotation/task.zip]';
  }
  return '';
}

/** Parse an optional whole-number field: {value: number|null, error: string}. */
export function integerField(text, { min = 0, max = 2 ** 31 - 1, name = 'The value' } = {}) {
  const raw = String(text ?? '').trim();
  if (raw === '') return { value: null, error: '' };
  if (!/^-?\d+$/.test(raw)) return { value: null, error: `${name} must be a whole number` };
  const value = Number(raw);
  if (value < min) return { value, error: `${name} must be at least ${min}` };
  if (value > max) return { value, error: `${name} must be at most ${max}` };
  return { value, error: '' };
}

/** The non-empty lines of the remote-source box and a message per bad line. */
export function parseRemoteUrls(text) {
  const urls = [];
  const errors = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const url = line.trim();
    if (!url) return;
    if (!isHttpUrl(url)) errors.push(`Line ${index + 1} is not an http(s) URL: ${url.slice(0, 80)}`);
    urls.push(url);
  });
  return { urls, errors };
}
