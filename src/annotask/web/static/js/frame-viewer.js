// A plain frame viewer: previous / next, a frame number, the image and its name.
// The arrow keys step frames unless the focus is in a text field.

import { api } from './api.js';
import { $, isTypingTarget } from './dom.js';

let started = false;

/** Set the viewer up once the task has frames; later calls do nothing. */
export async function setupFrameViewer(taskId) {
  if (started) return;
  let meta;
  try {
    meta = await api.get(`/api/tasks/${taskId}/data/meta`);
  } catch {
    return;
  }
  const count = meta.size || 0;
  if (!count || started) return;
  started = true;
  $('#frames-empty').hidden = true;
  $('#frame-viewer').hidden = false;
  const input = $('#frame-number');
  const image = $('#frame-image');
  input.max = String(count - 1);
  $('#frame-count').textContent = `of ${count - 1}`;
  let current = -1;

  const show = (number) => {
    const frame = Math.min(Math.max(Number.isFinite(number) ? Math.trunc(number) : 0, 0), count - 1);
    input.value = String(frame);
    if (frame === current) return;
    current = frame;
    const name = meta.frames?.[frame]?.name ?? `frame ${frame}`;
    $('#frame-name').textContent = name;
    image.alt = `Frame ${frame}: ${name}`;
    image.src = `/api/tasks/${taskId}/data/?type=frame&number=${frame}&quality=compressed`;
    $('#frame-prev').disabled = frame === 0;
    $('#frame-next').disabled = frame === count - 1;
  };

  $('#frame-prev').addEventListener('click', () => show(current - 1));
  $('#frame-next').addEventListener('click', () => show(current + 1));
  input.addEventListener('change', () => show(Number(input.value)));
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    if (event.altKey || event.ctrlKey || event.metaKey || isTypingTarget(event)) return;
    event.preventDefault();
    show(current + (event.key === 'ArrowRight' ? 1 : -1));
  });
  show(0);
}
