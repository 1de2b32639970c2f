// Files and folders from a drop or a folder picker, as `{file, name}` items whose
// name is the path inside what the user chose (`holiday/day1/a.jpg`), the way
// CVAT keeps the relative path of a file from a folder. Hidden files inside
// folders (`.DS_Store`, `.git/...`) are left out: they are never task media.

const isHidden = (name) => name.startsWith('.');
const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** Paths in the order of a walk that sorts each folder by name. */
function byPath(a, b) {
  const left = a.split('/');
  const right = b.split('/');
  for (let i = 0; i < Math.min(left.length, right.length); i += 1) {
    if (left[i] !== right[i]) return byName(left[i], right[i]);
  }
  return left.length - right.length;
}

/** The path of an entry inside the drop, without the leading slash of `fullPath`. */
function relativeName(entry) {
  return (entry.fullPath || entry.name).replace(/^\/+/, '');
}

function fileOf(entry) {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** Every entry of a directory: `readEntries` answers in batches until an empty one. */
async function readAll(directory) {
  const reader = directory.createReader();
  const all = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) return all;
    all.push(...batch);
  }
}

/**
 * Walk a file-system entry (`FileSystemFileEntry`, `FileSystemDirectoryEntry`, or
 * anything with the same interface) recursively, in name order inside each
 * folder, appending `{file, name}` items to `out`; rejects when a folder cannot
 * be read.
 */
async function visit(entry, nested, out) {
  if (nested && isHidden(entry.name)) return;
  if (entry.isFile) {
    out.push({ file: await fileOf(entry), name: relativeName(entry) });
  } else if (entry.isDirectory) {
    const children = await readAll(entry);
    children.sort((a, b) => byName(a.name, b.name));
    for (const child of children) await visit(child, true, out);
  }
}

/**
 * The items of a drop. Must be called during the `drop` event: a DataTransfer's
 * items can only be read then, so the entries are taken at once and walked after.
 * Without the entries API a folder cannot be read; only plain files are kept
 * (a folder then arrives as an empty file without a type, which is skipped).
 */
export function droppedItems(dataTransfer) {
  const parts = []; // in the order of the drop: {entry} to walk, or {item} ready
  for (const item of dataTransfer?.items || []) {
    if (item.kind !== 'file') continue;
    const entry = typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null;
    const file = entry ? null : item.getAsFile();
    if (entry) parts.push({ entry });
    else if (file && (file.size > 0 || file.type)) parts.push({ item: { file, name: file.name } });
  }
  if (!parts.length) {
    for (const file of dataTransfer?.files || []) {
      if (file.size > 0 || file.type) parts.push({ item: { file, name: file.name } });
    }
  }
  return (async () => {
    const out = [];
    for (const part of parts) {
      if (part.entry) await visit(part.entry, false, out);
      else out.push(part.item);
    }
    return out;
  })();
}

/**
 * The items of a picker. Files from a folder (`webkitdirectory`) carry their
 * relative path, and come in the order a drop of that folder gives.
 */
export function pickedItems(fileList) {
  const items = [];
  for (const file of fileList) {
    const name = file.webkitRelativePath || file.name;
    if (name.split('/').slice(1).some(isHidden)) continue;
    items.push({ file, name });
  }
  if (items.some((item) => item.name.includes('/'))) items.sort((a, b) => byPath(a.name, b.name));
  return items;
}
