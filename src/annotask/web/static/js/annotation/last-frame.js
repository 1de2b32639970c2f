// Which frame the annotation view opens at. CVAT's `?frame=N` in the address wins (links
// from FiftyOne, CVAT's UI, a colleague); without it, the frame this user last had on
// screen in this job; else the job's first frame that is not deleted.
//
// The last frame is remembered in the browser's localStorage, keyed by user id and job
// id, as CVAT's UI remembers it per job (`Job_<id>_frame`), with the user added so that
// two people sharing a browser profile do not send each other to their frames. It is
// the annotator's view state, like lock and hide: not part of CVAT's API, no server
// round trip on every frame step, and no migration; it does not follow the user to
// another browser.

const PREFIX = 'annotask.lastFrame';

/** The localStorage key of `userId`'s last frame in `jobId`. */
export function frameKey(userId, jobId) {
  return `${PREFIX}.${userId}.${jobId}`;
}

/** localStorage, or null when the browser refuses it (privacy modes, sandboxed frames). */
function browserStorage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** Remember `frame` as `userId`'s place in `jobId`; a full or disabled storage remembers nothing. */
export function rememberFrame(userId, jobId, frame, storage = browserStorage()) {
  if (userId == null || !Number.isInteger(frame)) return;
  try {
    storage?.setItem(frameKey(userId, jobId), String(frame));
  } catch {
    // quota exceeded or storage disabled: the view just opens at the first frame next time
  }
}

/** The remembered frame, or null. */
export function rememberedFrame(userId, jobId, storage = browserStorage()) {
  if (userId == null) return null;
  let raw = null;
  try {
    raw = storage?.getItem(frameKey(userId, jobId)) ?? null;
  } catch {
    return null;
  }
  return raw !== null && /^\d+$/.test(raw) ? Number(raw) : null;
}

/** The job's first frame that is not deleted (its first frame when all are). */
export function firstFrame(job, deleted = new Set()) {
  let frame = job.start_frame;
  while (deleted.has(frame) && frame < job.stop_frame) frame += 1;
  return deleted.has(frame) ? job.start_frame : frame;
}

/**
 * The frame to open `job` at. An address with `?frame=` opens that frame when it is in
 * the job and the first frame otherwise (it named a place; another remembered one would
 * surprise); without it, the remembered frame when it is still in the job and not
 * deleted; else the first frame.
 */
export function initialFrame(job, { userId, deleted = new Set(), search = window.location.search, storage = browserStorage() } = {}) {
  const inJob = (frame) => Number.isInteger(frame) && frame >= job.start_frame && frame <= job.stop_frame;
  const requested = new URLSearchParams(search).get('frame');
  if (requested !== null) {
    const frame = /^\d+$/.test(requested) ? Number(requested) : null;
    return inJob(frame) ? frame : firstFrame(job, deleted);
  }
  const last = rememberedFrame(userId, job.id, storage);
  return inJob(last) && !deleted.has(last) ? last : firstFrame(job, deleted);
}
