// Client files through CVAT's upload protocol (spec 1.5), as cvat-sdk sends them:
// Upload-Start; files of up to 100 MiB grouped into multipart requests of at
// most 100 MiB (`Upload-Multiple`, parts `client_files[i]`); bigger files by TUS
// (create, 10 MiB PATCH chunks, resume from HEAD after an error); Upload-Finish
// with the data parameters, answered with the request id to poll.
// Each file travels under its name in the task: the base name of a picked file,
// the relative path (`folder/sub/a.jpg`) of a file from a folder.

import { ApiError, csrfHeaders, request } from './api.js';

export const MiB = 1024 * 1024;
export const BULK_LIMIT = 100 * MiB;
export const TUS_CHUNK = 10 * MiB;
const MAX_TUS_ERRORS = 3;

/** Group files (in the given order; anything with a `size`) into requests of at most `limit` bytes each. */
export function groupFiles(files, limit = BULK_LIMIT) {
  const groups = [];
  let current = [];
  let size = 0;
  for (const file of files) {
    if (current.length && size + file.size > limit) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(file);
    size += file.size;
  }
  if (current.length) groups.push(current);
  return groups;
}

function parseXhrBody(xhr) {
  const text = xhr.responseText;
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

/** An XHR (fetch has no upload progress); resolves to the XHR for any status. */
function send(method, url, { headers = {}, body = null, onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.withCredentials = true;
    for (const [key, value] of Object.entries(csrfHeaders(headers))) xhr.setRequestHeader(key, value);
    if (onProgress) xhr.upload.addEventListener('progress', (event) => onProgress(event.loaded, event.total));
    xhr.addEventListener('load', () => resolve(xhr));
    xhr.addEventListener('error', () => reject(new TypeError('Network error')));
    xhr.addEventListener('abort', () => reject(new TypeError('The upload was aborted')));
    xhr.send(body);
  });
}

function utf8Base64(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** A same-origin path for a Location header (the server may name another host behind a proxy). */
function samePath(location, fallbackBase) {
  const url = new URL(location, fallbackBase);
  return url.pathname + url.search;
}

async function tusUpload(url, file, { chunkSize, onProgress, name = file.name }) {
  const created = await send('POST', url, {
    headers: {
      'Tus-Resumable': '1.0.0',
      'Upload-Length': String(file.size),
      'Upload-Metadata': `filename ${utf8Base64(name)}`,
      'Content-Type': 'application/json',
    },
  });
  if (created.status < 200 || created.status >= 300) throw new ApiError(created.status, parseXhrBody(created));
  const location = created.getResponseHeader('Location');
  if (!location) throw new Error('The server did not send the upload location.');
  const chunkUrl = samePath(location, window.location.href);
  const storedName = created.getResponseHeader('Upload-Filename') || name;
  let offset = 0;
  let errors = 0;
  const recover = async (error) => {
    errors += 1;
    if (errors >= MAX_TUS_ERRORS) throw new Error(`Too many upload errors for ${name}: ${error.message}`);
    const head = await send('HEAD', chunkUrl, { headers: { 'Tus-Resumable': '1.0.0' } });
    if (head.status < 200 || head.status >= 300) throw new ApiError(head.status, null);
    offset = Number(head.getResponseHeader('Upload-Offset'));
  };
  while (offset < file.size) {
    const chunk = file.slice(offset, offset + chunkSize);
    let xhr;
    try {
      xhr = await send('PATCH', chunkUrl, {
        headers: {
          'Tus-Resumable': '1.0.0',
          'Upload-Offset': String(offset),
          'Content-Type': 'application/offset+octet-stream',
        },
        body: chunk,
        onProgress: (loaded) => onProgress(offset + loaded),
      });
    } catch (error) {
      await recover(error);
      continue;
    }
    if (xhr.status === 409) {
      offset = Number(xhr.getResponseHeader('Upload-Offset'));
    } else if (xhr.status >= 500) {
      await recover(new ApiError(xhr.status, parseXhrBody(xhr)));
    } else if (xhr.status < 200 || xhr.status >= 300) {
      throw new ApiError(xhr.status, parseXhrBody(xhr));
    } else {
      const next = Number(xhr.getResponseHeader('Upload-Offset'));
      if (!(next >= offset + chunk.size && next <= file.size)) throw new Error('The server reported an unexpected upload offset.');
      offset = next;
    }
    onProgress(offset);
  }
  return storedName;
}

/** A `File`, or `{file, name}` for a file that goes under another name (a relative path). */
function asUpload(entry, index) {
  const file = entry instanceof Blob ? entry : entry.file;
  const name = entry instanceof Blob ? entry.name : entry.name ?? file.name;
  return { file, name, size: file.size, index };
}

/**
 * Upload `files` (`File`s or `{file, name}`) to task `taskId` and start the data
 * processing with `params`. `onProgress(sentBytes, totalBytes)` follows the bytes;
 * `onFileProgress(index, sentBytes, state)` follows each file by its index in
 * `files`, with `state` one of `uploading`, `done` (the server has it) and
 * `failed`; it is called only when a file's bytes or state change. Resolves to
 * the `rq_id`.
 */
export async function uploadTaskData(taskId, files, params, {
  onProgress = () => {}, onFileProgress = () => {}, bulkLimit = BULK_LIMIT, chunkSize = TUS_CHUNK,
} = {}) {
  const url = `/api/tasks/${taskId}/data/`;
  const uploads = files.map(asUpload);
  const total = uploads.reduce((sum, upload) => sum + upload.size, 0);
  const sentOf = new Array(uploads.length).fill(-1);
  let done = 0;
  const report = (current) => onProgress(Math.min(done + current, total), total);
  const fileProgress = (upload, sent, state = 'uploading') => {
    if (state === 'uploading' && sentOf[upload.index] === sent) return;
    sentOf[upload.index] = sent;
    onFileProgress(upload.index, sent, state);
  };

  await request('POST', url, { headers: { 'Upload-Start': '', 'Content-Type': 'application/json' } });
  const small = uploads.filter((upload) => upload.size <= bulkLimit);
  const big = uploads.filter((upload) => upload.size > bulkLimit);
  for (const group of groupFiles(small, bulkLimit)) {
    const groupBytes = group.reduce((sum, upload) => sum + upload.size, 0);
    // The body carries the parts in order: its share sent is each file's share sent.
    const onGroupProgress = (loaded, length) => {
      const sent = length ? Math.round(groupBytes * Math.min(1, loaded / length)) : 0;
      let start = 0;
      for (const upload of group) {
        fileProgress(upload, Math.max(0, Math.min(upload.size, sent - start)));
        start += upload.size;
      }
      report(sent);
    };
    const form = new FormData();
    form.append('image_quality', String(params.image_quality ?? 70));
    group.forEach((upload, index) => form.append(`client_files[${index}]`, upload.file, upload.name));
    let xhr;
    try {
      xhr = await send('POST', url, { headers: { 'Upload-Multiple': '' }, body: form, onProgress: onGroupProgress });
      if (xhr.status < 200 || xhr.status >= 300) throw new ApiError(xhr.status, parseXhrBody(xhr));
    } catch (error) {
      group.forEach((upload) => fileProgress(upload, Math.max(0, sentOf[upload.index]), 'failed'));
      throw error;
    }
    group.forEach((upload) => fileProgress(upload, upload.size, 'done'));
    done += groupBytes;
    report(0);
  }
  for (const upload of big) {
    try {
      await tusUpload(url, upload.file, {
        chunkSize,
        name: upload.name,
        onProgress: (sent) => {
          fileProgress(upload, sent);
          report(sent);
        },
      });
    } catch (error) {
      fileProgress(upload, Math.max(0, sentOf[upload.index]), 'failed');
      throw error;
    }
    fileProgress(upload, upload.size, 'done');
    done += upload.size;
    report(0);
  }
  const body = { ...params };
  if (body.sorting_method === 'predefined') body.upload_file_order = uploads.map((upload) => upload.name);
  const finished = await request('POST', url, { headers: { 'Upload-Finish': '' }, json: body });
  return finished.rq_id;
}

/** Start the data processing from share paths or URLs (one request, no upload). */
export async function startTaskData(taskId, params) {
  const answer = await request('POST', `/api/tasks/${taskId}/data/`, { json: params });
  return answer.rq_id;
}

/**
 * Upload one file by TUS to a resource endpoint (annotations, backups) and
 * finish it with the `params` query: Upload-Start, TUS, Upload-Finish with
 * `filename` set to the name the server chose. Resolves to the `rq_id`.
 */
export async function uploadResourceFile(url, file, params = {}, { onProgress = () => {}, chunkSize = TUS_CHUNK } = {}) {
  const withQuery = (extra) => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries({ ...params, ...extra })) {
      if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
    }
    const text = search.toString();
    return text ? `${url}?${text}` : url;
  };
  await request('POST', withQuery({ filename: file.name }), { headers: { 'Upload-Start': '' } });
  const stored = await tusUpload(url, file, { chunkSize, onProgress: (sent) => onProgress(sent, file.size) });
  const finished = await request('POST', withQuery({ filename: stored }), { headers: { 'Upload-Finish': '' } });
  return finished.rq_id;
}
