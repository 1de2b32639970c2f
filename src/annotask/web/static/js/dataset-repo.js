// The dataset repository's background requests, as CVAT's UI follows them: a
// clone or push answers an rq_id, and /api/git/repository/check/<rq_id> is polled
// until it is neither queued nor started.

import { api } from './api.js';

/** Poll CVAT's check endpoint of a clone or push until it ends; resolves to its answer. */
export async function waitRepository(rqId, { interval = 1000 } = {}) {
  for (;;) {
    const answer = await api.get(`/api/git/repository/check/${encodeURIComponent(rqId)}`);
    if (!['queued', 'started'].includes(answer.status)) return answer;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
