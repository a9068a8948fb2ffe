// The pointer events a guest's kernel received from its virtio tablet, read from its serial log
// (guest-image.ts TABLET_LOG): proof that a tap, drag or scroll made in the browser arrived, and where.
import type { SerialLog } from './serial-log.js';

export const EV_KEY = 1;
export const EV_REL = 2;
export const EV_ABS = 3;
export const BTN_LEFT = 0x110;
export const BTN_RIGHT = 0x111;
export const REL_WHEEL = 8;
/** What older QEMU virtio tablets send for the wheel instead of REL_WHEEL. */
export const BTN_GEAR_DOWN = 0x150;
export const BTN_GEAR_UP = 0x151;
/** The tablet's axes run 0..ABS_MAX across the display (QEMU's INPUT_EVENT_ABS_MAX). */
export const ABS_MAX = 0x7fff;

export interface GuestInputEvent {
  type: number;
  code: number;
  value: number;
  /** Where in the serial log it was written. */
  at: number;
}

/** Every event logged (struct input_event: 16 bytes of time, then type, code, value). */
export function inputEvents(serial: SerialLog): GuestInputEvent[] {
  return [...serial.contents().matchAll(/PORTHOLE-INPUT:([0-9a-f]{48})/g)].map((m) => {
    const bytes = Buffer.from(m[1]!, 'hex');
    return { type: bytes.readUInt16LE(16), code: bytes.readUInt16LE(18), value: bytes.readInt32LE(20), at: m.index };
  });
}

/** What the pointer did: button changes where the pointer was (in tablet units), and wheel notches (+1 up, -1 down). */
export interface PointerStory {
  buttons: { code: number; down: boolean; x: number; y: number }[];
  wheel: number[];
  /** Every position the pointer took. */
  positions: { x: number; y: number }[];
}

/**
 * What the pointer did after the log's first `from` characters. The position comes from all the
 * events: the kernel drops an axis's event that would repeat its value, so it may predate `from`.
 */
export function pointerStory(events: GuestInputEvent[], from = 0): PointerStory {
  const story: PointerStory = { buttons: [], wheel: [], positions: [] };
  let x = -1;
  let y = -1;
  for (const e of events) {
    if (e.type === EV_ABS && (e.code === 0 || e.code === 1)) {
      if (e.code === 0) x = e.value;
      else y = e.value;
      if (e.at >= from) story.positions.push({ x, y });
    } else if (e.at < from) continue;
    else if (e.type === EV_KEY && (e.code === BTN_LEFT || e.code === BTN_RIGHT))
      story.buttons.push({ code: e.code, down: e.value === 1, x, y });
    else if (e.type === EV_REL && e.code === REL_WHEEL) story.wheel.push(e.value);
    else if (e.type === EV_KEY && (e.code === BTN_GEAR_UP || e.code === BTN_GEAR_DOWN) && e.value === 1)
      story.wheel.push(e.code === BTN_GEAR_UP ? 1 : -1);
  }
  return story;
}
