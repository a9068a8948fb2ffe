// What a SPICE server sent on a display channel, read from the bytes the browser received (the
// WebSocket frames, as Chromium's DevTools protocol reports them): how many messages of each
// type, and which image types and flags its DrawCopy messages carried. It shows which encodings
// the server chose for a line (JPEG on a slow one), so a test knows it exercised them.

const IMAGE_TYPES: Record<number, string> = {
  0: 'bitmap',
  1: 'quic',
  100: 'lz-plt',
  101: 'lz-rgb',
  102: 'glz-rgb',
  103: 'from-cache',
  104: 'surface',
  105: 'jpeg',
  106: 'from-cache-lossless',
  107: 'zlib-glz-rgb',
  108: 'jpeg-alpha',
  109: 'lz4',
};
const DRAW_COPY = 304;
const CLIP_RECTS = 1;
const CACHE_ME = 1;

export interface DisplayCensus {
  /** Count per message type. */
  messages: Map<number, number>;
  /** Count per image type name in DrawCopy messages (`jpeg+cache` when also cached by the client). */
  images: Map<string, number>;
}

/** The DrawCopy's image: the type name, with `+cache` when the client is asked to cache it. */
function drawCopyImage(body: Buffer): string | undefined {
  let at = 4 + 16; // surface id, box
  if (body.length < at + 1) return undefined;
  const clip = body.readUInt8(at++);
  if (clip === CLIP_RECTS) at += 4 + 16 * body.readUInt32LE(at);
  const offset = body.readUInt32LE(at);
  if (offset === 0 || body.length < offset + 10) return undefined;
  const type = body.readUInt8(offset + 8);
  const flags = body.readUInt8(offset + 9);
  return `${IMAGE_TYPES[type] ?? `type-${type}`}${flags & CACHE_ME ? '+cache' : ''}`;
}

/**
 * Reads one channel's server-to-client stream: the link reply (REDQ header and body), the link
 * result (4 bytes), then messages with SPICE's mini header (type u16, size u32). A stream that is
 * not a SPICE display channel's yields what could be read.
 */
export function displayCensus(stream: Buffer): DisplayCensus {
  const census: DisplayCensus = { messages: new Map(), images: new Map() };
  if (stream.length < 16 || stream.toString('latin1', 0, 4) !== 'REDQ') return census;
  let at = 16 + stream.readUInt32LE(12) + 4;
  while (at + 6 <= stream.length) {
    const type = stream.readUInt16LE(at);
    const size = stream.readUInt32LE(at + 2);
    const body = stream.subarray(at + 6, at + 6 + size);
    if (body.length < size) break;
    census.messages.set(type, (census.messages.get(type) ?? 0) + 1);
    if (type === DRAW_COPY) {
      const image = drawCopyImage(body);
      if (image) census.images.set(image, (census.images.get(image) ?? 0) + 1);
    }
    at += 6 + size;
  }
  return census;
}
