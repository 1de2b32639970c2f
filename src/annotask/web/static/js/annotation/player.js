// Playback of a job's frames: play/pause at CVAT's player speeds, frames fetched ahead
// of the playhead and kept decoded within a memory bound. Nothing is decoded here but
// JPEG/PNG images, by the browser: a job with imageset chunks (zips of JPEGs: image
// tasks, and videos made with `use_zip_chunks`) is fetched a chunk at a time from the
// server's compressed chunk endpoint; a job with video chunks frame by frame from the
// frame endpoint (the server decodes the video). The player waits for a frame that is
// not ready rather than skipping it: every frame is shown once, in order, at most at
// the speed chosen.

import { unzip } from './zip.js';

/** CVAT's FrameSpeed (frames per second; "Usual" is the 25 fps a video task is played at). */
export const SPEEDS = [['Fastest', 100], ['Fast', 50], ['Usual', 25], ['Slow', 15], ['Slower', 12], ['Slowest', 1]];
export const DEFAULT_FPS = 25;
export const DEFAULT_STEP = 10; // CVAT's frame step (V / C)
const DECODED_BUDGET = 384 * 1024 * 1024; // decoded pixels kept (about 45 frames of 1080p)
const COMPRESSED_BUDGET = 192 * 1024 * 1024; // fetched files kept (chunks of JPEGs)
const DECODE_AHEAD = 24; // frames decoded ahead of the playhead at most
const CHUNKS_AHEAD = 2; // chunks fetched ahead of the playhead's chunk
const PARALLEL = 3; // frame requests or decodes in flight

/**
 * `frames()`: the playable frame numbers in order (deleted ones left out);
 * `url(frame)`: a frame's image; `chunk()`: null (frame by frame) or
 * `{size, first, url(index)}` for imageset chunks of `size` frames from frame `first`
 * (asked each time: it follows the quality chosen);
 * `show(frame)`: make it the current frame; `onState(playing)`: the play button.
 */
export class FramePlayer {
  constructor({ frames, url, chunk = () => null, show, onState = () => {}, budget = DECODED_BUDGET }) {
    this.frames = frames;
    this.url = url;
    this.chunk = chunk;
    this.showFrame = show;
    this.onState = onState;
    this.budget = budget;
    this.fps = DEFAULT_FPS;
    this.files = new Map(); // url -> {objectUrl, bytes, used}: fetched, not decoded
    this.fileBytes = 0;
    this.chunks = new Map(); // chunk url -> Promise (fetch and unzip under way or done)
    this.decoded = new Map(); // url -> {frame, image, bytes, used, ready}
    this.decodedBytes = 0;
    this.inFlight = 0;
    this.playing = false;
    this.current = null;
    this.generation = 0;
  }

  // ---- fetched files --------------------------------------------------------------------

  /** Fetch the chunk of `frame` (`chunk` from `this.chunk()`), keeping its members as files. */
  fetchChunk(chunk, frame) {
    const index = Math.floor((frame - chunk.first) / chunk.size);
    const url = chunk.url(index);
    if (!this.chunks.has(url)) {
      const done = (async () => {
        const response = await fetch(url, { credentials: 'same-origin' });
        if (!response.ok) throw new Error(`chunk ${index}: HTTP ${response.status}`);
        const members = await unzip(await response.arrayBuffer());
        members.forEach(({ blob }, i) => {
          const member = chunk.first + index * chunk.size + i;
          this.keepFile(this.url(member), blob, url);
        });
        this.evictFiles();
      })();
      done.catch(() => this.chunks.delete(url)); // asked again next time
      this.chunks.set(url, done);
    }
    return this.chunks.get(url);
  }

  keepFile(url, blob, chunkUrl = null) {
    if (this.files.has(url)) return;
    this.files.set(url, { objectUrl: URL.createObjectURL(blob), bytes: blob.size, used: performance.now(), chunkUrl });
    this.fileBytes += blob.size;
  }

  /** The fetched file of `frame` (its object URL), fetching its chunk or itself. */
  async file(frame) {
    const url = this.url(frame);
    if (!this.files.has(url)) {
      const chunk = this.chunk();
      if (chunk) {
        await this.fetchChunk(chunk, frame);
      } else {
        const response = await fetch(url, { credentials: 'same-origin' });
        if (!response.ok) throw new Error(`frame ${frame}: HTTP ${response.status}`);
        this.keepFile(url, await response.blob());
      }
    }
    const file = this.files.get(url);
    if (!file) throw new Error(`frame ${frame} is not in its chunk`);
    file.used = performance.now();
    return file.objectUrl;
  }

  // ---- decoded images -------------------------------------------------------------------

  /** A decoded image of `frame` (fetched once; concurrent callers share the work). */
  load(frame) {
    const url = this.url(frame);
    let entry = this.decoded.get(url);
    if (entry) {
      entry.used = performance.now();
      return entry.ready;
    }
    entry = { frame, url, used: performance.now(), bytes: 0, image: null };
    this.inFlight += 1;
    entry.ready = (async () => {
      try {
        const image = new Image();
        image.src = await this.file(frame);
        await image.decode();
        entry.image = image;
        entry.bytes = image.naturalWidth * image.naturalHeight * 4;
        this.decodedBytes += entry.bytes;
        this.evictDecoded();
        return entry;
      } catch (error) {
        this.decoded.delete(url);
        throw error;
      } finally {
        this.inFlight -= 1;
      }
    })();
    this.decoded.set(url, entry);
    return entry.ready;
  }

  /** The object URL of `frame` when it is decoded: shown at once, from memory. */
  cachedSrc(frame) {
    const url = this.url(frame);
    return this.decoded.get(url)?.image ? this.files.get(url)?.objectUrl ?? null : null;
  }

  /** Drop the least recently used decoded images beyond the budget, never those just ahead. */
  evictDecoded() {
    if (this.decodedBytes <= this.budget) return;
    const keep = new Set([this.current, ...this.window(this.current, 4)]);
    const entries = [...this.decoded.values()].filter((e) => e.image && !keep.has(e.frame)).sort((a, b) => a.used - b.used);
    for (const entry of entries) {
      if (this.decodedBytes <= this.budget) break;
      this.decoded.delete(entry.url);
      this.decodedBytes -= entry.bytes;
      entry.image.src = ''; // lets the browser free the pixels
    }
  }

  /** Drop the least recently used fetched files beyond their budget (not decoded ones). */
  evictFiles() {
    if (this.fileBytes <= COMPRESSED_BUDGET) return;
    const entries = [...this.files.entries()].filter(([url]) => !this.decoded.has(url)).sort((a, b) => a[1].used - b[1].used);
    for (const [url, file] of entries) {
      if (this.fileBytes <= COMPRESSED_BUDGET) break;
      this.files.delete(url);
      this.fileBytes -= file.bytes;
      URL.revokeObjectURL(file.objectUrl);
      if (file.chunkUrl) this.chunks.delete(file.chunkUrl); // fetched again when needed
    }
  }

  /** Up to `count` playable frames after `frame`. */
  window(frame, count) {
    const all = this.frames();
    const index = frame == null ? -1 : all.indexOf(frame);
    return all.slice(index + 1, index + 1 + count);
  }

  /** Fetch and decode ahead of `frame`, as far as the budget allows. */
  prefetch(frame) {
    const chunk = this.chunk();
    if (chunk && frame != null) {
      const last = this.frames().at(-1) ?? frame;
      for (let k = 0, f = frame; k <= CHUNKS_AHEAD && f <= last; k += 1, f += chunk.size) {
        this.fetchChunk(chunk, Math.min(f, last)).catch(() => {});
      }
    }
    const perFrame = [...this.decoded.values()].find((e) => e.bytes)?.bytes || 8 * 1024 * 1024;
    const ahead = Math.max(2, Math.min(DECODE_AHEAD, Math.floor(this.budget / perFrame) - 4));
    for (const next of this.window(frame, ahead)) {
      if (this.inFlight >= PARALLEL) break;
      if (!this.decoded.has(this.url(next))) this.load(next).catch(() => {});
    }
  }

  /** The memory the player holds: decoded frames and fetched files. */
  stats() {
    return {
      decoded: [...this.decoded.values()].filter((e) => e.image).length, decodedBytes: this.decodedBytes,
      files: this.files.size, fileBytes: this.fileBytes, budget: this.budget,
    };
  }

  // ---- playback --------------------------------------------------------------------------

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
