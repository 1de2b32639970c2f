// Reading the server's imageset chunks (zip files of JPEG/PNG frames) in the browser:
// the central directory, then each member stored or deflated (DecompressionStream,
// built into the browser). No third-party code; ZIP64 is not needed for chunks.

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;

/** The members of a zip as `[{name, blob}]`, in the archive's order. */
export async function unzip(buffer, type = 'image/jpeg') {
  const view = new DataView(buffer);
  let end = -1;
  for (let i = buffer.byteLength - 22; i >= Math.max(0, buffer.byteLength - 22 - 65535); i -= 1) {
    if (view.getUint32(i, true) === EOCD) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error('not a zip file');
  const count = view.getUint16(end + 10, true);
  let offset = view.getUint32(end + 16, true);
  const decoder = new TextDecoder();
  const members = [];
  for (let n = 0; n < count; n += 1) {
    if (view.getUint32(offset, true) !== CENTRAL) throw new Error('broken zip directory');
    const method = view.getUint16(offset + 10, true);
    const size = view.getUint32(offset + 20, true);
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    const local = view.getUint32(offset + 42, true);
    const name = decoder.decode(new Uint8Array(buffer, offset + 46, nameLength));
    offset += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith('/')) continue;
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const raw = new Blob([new Uint8Array(buffer, start, size)]);
    let blob;
    if (method === 0) blob = raw;
    else if (method === 8) blob = await new Response(raw.stream().pipeThrough(new DecompressionStream('deflate-raw'))).blob();
    else throw new Error(`zip method ${method} is not supported`);
    const kind = /\.png$/i.test(name) ? 'image/png' : type;
    members.push({ name, blob: new Blob([blob], { type: kind }) });
  }
  return members;
}
