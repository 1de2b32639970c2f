// The controls of tracks and playback, added to the annotation view's toolbars and
// object panel by script (the template stays as it is): play/pause, speed and the frame
// slider; the track-mode switch; outside, keyframe, previous/next keyframe, split and
// propagate buttons; the propagation dialog. `trackKey` is their keyboard: CVAT's keys.

import { $, h } from '../../dom.js';
import { DEFAULT_STEP, SPEEDS } from '../player.js';
import { DEFAULT_PROPAGATE } from './editor.js';

export const TRACK_SHORTCUTS = [
  ['Space', 'Play / pause (held with a drag: pan)'],
  ['V / C', `${DEFAULT_STEP} frames forward / back`],
  ['R / E', 'Next / previous keyframe of the selected track'],
  ['O', 'Outside on/off: the object leaves the frame here (or returns)'],
  ['K', 'Keyframe on/off on this frame'],
  ['M', 'Merge: M, click the objects (on any frames), M again'],
  ['Alt+M', 'Split the selected track on this frame'],
  ['Ctrl+B', 'Propagate the selected shape to the next frames'],
];

/**
 * Add the controls. `ctx`: `{editor, player, show(frame), step(direction), first, last}`.
 */
export function installTrackControls(ctx) {
  const { editor, player } = ctx;
  const next = $('#frame-next');
  const slider = h('input', {
    type: 'range', id: 'frame-slider', class: 'annot-slider', min: String(ctx.first), max: String(ctx.last), value: String(ctx.first),
    'aria-label': 'Frame slider', onInput: (event) => ctx.show(Number(event.target.value)),
  });
  const play = h('button', {
    type: 'button', id: 'play', 'aria-pressed': 'false', 'aria-keyshortcuts': 'Space', title: 'Play / pause (Space)', text: 'Play',
    onClick: () => player.toggle(),
  });
  const speed = h('select', { id: 'speed', class: 'compact', 'aria-label': 'Playback speed', title: 'Playback speed (Usual is 25 frames per second)', onChange: (event) => { player.fps = Number(event.target.value); } },
    ...SPEEDS.map(([name, fps]) => h('option', { value: String(fps), text: name, title: `${fps} frames per second`, selected: fps === player.fps })));
  next.after(play, speed, slider);

  const mode = h('button', {
    type: 'button', id: 'track-mode', 'aria-pressed': 'false', title: 'Draw tracks (objects followed over frames) instead of shapes',
    text: 'Track mode', onClick: () => setTrackMode(editor, !editor.trackMode),
  });
  $('#tool-ellipse').after(mode);

  const action = (id, text, keys, run, extra = {}) => h('button', {
    type: 'button', class: 'small', id, 'aria-keyshortcuts': keys, text, dataset: { trackAction: extra.kind || 'track' }, disabled: true, onClick: run, ...extra.props,
  });
  $('#object-panel .annot-actions').append(
    action('track-outside', 'Outside', 'O', () => editor.toggleOutside(), { props: { 'aria-pressed': 'false' } }),
    action('track-keyframe', 'Keyframe', 'K', () => editor.toggleKeyframe(), { props: { 'aria-pressed': 'false' } }),
    action('track-prev', '← Keyframe', 'E', () => editor.keyframeStep(-1)),
    action('track-next', 'Keyframe →', 'R', () => editor.keyframeStep(1)),
    action('track-split', 'Split', 'Alt+M', () => editor.split()),
    action('propagate', 'Propagate', 'Control+B', () => askPropagate(editor), { kind: 'propagate' }),
  );
  $('#object-panel .annot-actions').after(h('p', { class: 'muted annot-track-info', id: 'track-info', 'aria-live': 'polite' }));

  const count = h('input', { type: 'number', id: 'propagate-count', min: '1', step: '1', value: String(DEFAULT_PROPAGATE) });
  document.body.append(h('dialog', { class: 'annot-help', id: 'propagate-dialog', 'aria-labelledby': 'propagate-heading' },
    h('form', { method: 'dialog' },
      h('h2', { id: 'propagate-heading', text: 'Propagate the shape' }),
      h('p', {}, h('label', { for: 'propagate-count', text: 'Copies on the next frames: ' }), count),
      h('div', { class: 'action-row' },
        h('button', { type: 'submit', class: 'primary', value: 'ok', text: 'Propagate' }),
        h('button', { type: 'submit', value: '', text: 'Cancel' })))));
}

export function setTrackMode(editor, on) {
  editor.trackMode = on;
  const button = $('#track-mode');
  button.setAttribute('aria-pressed', String(on));
  button.classList.toggle('secondary', on);
  editor.status(on ? 'Track mode: new objects are tracks.' : 'Shape mode: new objects are shapes of one frame.');
}

function askPropagate(editor) {
  if (!editor.selected || editor.isTrack(editor.selected) || !editor.canEdit(editor.selected)) {
    editor.propagate(0); // says why not
    return;
  }
  const dialog = $('#propagate-dialog');
  dialog.onclose = () => {
    const count = Math.trunc(Number($('#propagate-count').value));
    if (dialog.returnValue === 'ok' && count > 0) editor.propagate(count);
  };
  dialog.returnValue = '';
  dialog.showModal();
  $('#propagate-count').select();
}

/** The play button follows the player. */
export function showPlaying(playing) {
  const button = $('#play');
  button.setAttribute('aria-pressed', String(playing));
  button.textContent = playing ? 'Pause' : 'Play';
}

/** CVAT's keys of tracks and playback (Space is the page's: it also pans); true when handled. */
export function trackKey(event, ctx) {
  const { editor, player } = ctx;
  const key = event.key.toLowerCase();
  if ((event.ctrlKey || event.metaKey) && !event.altKey && key === 'b') {
    askPropagate(editor);
    return true;
  }
  if (event.ctrlKey || event.metaKey) return false;
  if (event.altKey) {
    if (event.code === 'KeyM') {
      editor.split();
      return true;
    }
    return false;
  }
  if (key === 'escape') {
    editor.cancelMerge();
    return false; // the page's Escape goes on
  }
  const actions = {
    o: () => editor.toggleOutside(),
    k: () => editor.toggleKeyframe(),
    r: () => editor.keyframeStep(1),
    e: () => editor.keyframeStep(-1),
    m: () => editor.toggleMerge(),
    v: () => { player.pause(); ctx.jump(DEFAULT_STEP); },
    c: () => { player.pause(); ctx.jump(-DEFAULT_STEP); },
  };
  const run = actions[key];
  if (!run) return false;
  run();
  return true;
}
