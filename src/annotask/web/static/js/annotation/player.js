// Playback of a job's frames: play/pause at CVAT's player speeds, frames fetched ahead
// of the playhead from the server's compressed frame endpoint (the server decodes
// video; nothing is decoded here but JPEG/PNG images, by the browser) and kept decoded
// within a memory bound. The player waits for a frame that is not ready rather than
// skipping it: every frame of the job is shown once, in order, at most at the speed.

/** CVAT's FrameSpeed (frames per second; "Usual" is the 25 fps a video task is played at). */
export const SPEEDS = [['Fastest', 100], ['Fast', 50], ['Usual', 25], ['Slow', 15], ['Slower', 12], ['Slowest', 1]];
export const DEFAULT_FPS = 25;
export const DEFAULT_STEP = 10; // CVAT's frame step (V / C)
const DEFAULT_BUDGET = 384 * 1024 * 1024; // decoded bytes kept (about 45 frames of 1080p)
const AHEAD = 48; // frames fetched ahead of the playhead at most
const PARALLEL = 3; // requests in flight

/**
 * `frames()`: the playable frame numbers in order (deleted ones left out);
 * `url(frame)`: where a frame's image is; `show(frame)`: make it the current frame;
 * `onState(playing)`: the play button's state.
 */
export class FramePlayer {
  constructor({ frames, url, show, onState = () => {}, budget = DEFAULT_BUDGET }) {
    this.frames = frames;
    this.url = url;
    this.showFrame = show;
    this.onState = onState;
    this.budget = budget;
    this.fps = DEFAULT_FPS;
    this.cache = new Map(); // url -> {frame, image, objectUrl, bytes, ready: Promise}
    this.bytes = 0;
    this.inFlight = 0;
    this.playing = false;
    this.current = null;
    this.generation = 0;
  }

  // ---- the cache ---------------------------------------------------------------------

  /** A decoded image of `frame` (fetched once; concurrent callers share the request). */
  load(frame) {
    const url = this.url(frame);
    let entry = this.cache.get(url);
    if (entry) {
      entry.used = performance.now();
      return entry.ready;
    }
    entry = { frame, url, used: performance.now(), bytes: 0, objectUrl: null, image: null };
    this.inFlight += 1;
    entry.ready = (async () => {
      try {
        const response = await fetch(url, { credentials: 'same-origin' });
        if (!response.ok) throw new Error(`frame ${frame}: HTTP ${response.status}`);
        const objectUrl = URL.createObjectURL(await response.blob());
        const image = new Image();
        image.src = objectUrl;
        await image.decode();
        entry.objectUrl = objectUrl;
        entry.image = image;
        entry.bytes = image.naturalWidth * image.naturalHeight * 4;
        this.bytes += entry.bytes;
        this.evict();
        return entry;
      } catch (error) {
        this.cache.delete(url); // try again next time
        throw error;
      } finally {
        this.inFlight -= 1;
      }
    })();
    this.cache.set(url, entry);
    return entry.ready;
  }

  /** The ready object URL of `frame`, or null (not fetched yet): for showing it at once. */
  cachedSrc(frame) {
    return this.cache.get(this.url(frame))?.objectUrl ?? null;
  }

  /** Drop the least recently used frames beyond the budget, never those just ahead. */
  evict() {
    if (this.bytes <= this.budget) return;
    const keep = new Set(this.window(this.current, 4));
    const entries = [...this.cache.values()].filter((e) => e.image && !keep.has(e.frame)).sort((a, b) => a.used - b.used);
    for (const entry of entries) {
      if (this.bytes <= this.budget) break;
      this.cache.delete(entry.url);
      this.bytes -= entry.bytes;
      URL.revokeObjectURL(entry.objectUrl);
      entry.image.src = '';
    }
  }

  /** Up to `count` playable frames after `frame`. */
  window(frame, count) {
    const all = this.frames();
    const index = frame == null ? -1 : all.indexOf(frame);
    return all.slice(index + 1, index + 1 + count);
  }

  /** Fetch ahead of `frame`: as many frames as the budget holds, a few requests at once. */
  prefetch(frame) {
    const perFrame = [...this.cache.values()].find((e) => e.bytes)?.bytes || 8 * 1024 * 1024;
    const ahead = Math.max(2, Math.min(AHEAD, Math.floor(this.budget / perFrame) - 4));
    for (const next of this.window(frame, ahead)) {
      if (this.inFlight >= PARALLEL) break;
      if (!this.cache.has(this.url(next))) this.load(next).catch(() => {});
    }
  }

  /** The memory the cache holds: `{frames, bytes, budget}`. */
  stats() {
    return { frames: [...this.cache.values()].filter((e) => e.image).length, bytes: this.bytes, budget: this.budget };
  }

  // ---- playback ------------------------------------------------------------------------

  setCurrent(frame) {
    this.current = frame;
    if (!this.playing) this.prefetch(frame);
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  pause() {
    if (!this.playing) return;
    this.playing = false;
    this.generation += 1;
    this.onState(false);
  }

  play() {
    if (this.playing || !this.window(this.current, 1).length) return;
    this.playing = true;
    this.onState(true);
    this.run(++this.generation);
  }

  /** Show the next frame when it is decoded and its time has come; wait, never skip. */
  async run(generation) {
    let due = performance.now();
    for (;;) {
      const [next] = this.window(this.current, 1);
      if (next === undefined) break;
      this.prefetch(this.current);
      try {
        await this.load(next);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 200)); // a failed request: retry it
        if (generation !== this.generation) return;
        continue;
      }
      if (generation !== this.generation) return;
      due = Math.max(due + 1000 / this.fps, performance.now() - 1000 / this.fps);
      const wait = due - performance.now();
      if (wait > 4) await new Promise((resolve) => setTimeout(resolve, wait - 4));
      await new Promise((resolve) => requestAnimationFrame(resolve));
      if (generation !== this.generation) return;
      this.showFrame(next);
    }
    if (generation === this.generation) this.pause();
  }
}
