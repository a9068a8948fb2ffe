// Touch gestures read as a mouse, for clients with no touch handling of their own (spice-html5;
// noVNC has its own, and these follow it so that both protocols feel the same): a tap clicks, one
// finger moved drags with the left button held, two fingers moved scroll (one wheel notch per
// SCROLL_STEP, content following the fingers), and two fingers tapped click the right button.
// Pure logic: given the fingers on the screen after each touch event, it says what the mouse does.

export interface TouchPoint {
  id: number;
  x: number;
  y: number;
}

export type PointerAction =
  | { kind: 'move'; x: number; y: number }
  | { kind: 'press' | 'release'; button: 'left' | 'right'; x: number; y: number }
  | { kind: 'wheel'; direction: 'up' | 'down'; x: number; y: number };

/** How far (CSS pixels) a finger may wander and still tap, as noVNC's gesture handler allows. */
export const TAP_SLOP = 10;
/** Two-finger travel (CSS pixels) per wheel notch: noVNC's GESTURE_SCRLSENS. */
export const SCROLL_STEP = 50;

type Phase =
  | { kind: 'idle' }
  /** One finger down and still near where it landed: a tap or the start of a drag. */
  | { kind: 'one'; start: TouchPoint }
  | { kind: 'drag'; id: number; last: TouchPoint }
  /** Two fingers: `consumed` is the travel already turned into notches. */
  | { kind: 'two'; start: Point; consumed: number; moved: boolean }
  /** The gesture is over (a finger was lifted or added midway): nothing until every finger is up. */
  | { kind: 'spent' };

interface Point {
  x: number;
  y: number;
}

const centre = (a: TouchPoint, b: TouchPoint): Point => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });
const far = (a: Point, b: Point) => Math.hypot(a.x - b.x, a.y - b.y) > TAP_SLOP;
const point = (p: Point): Point => ({ x: p.x, y: p.y });
const click = (button: 'left' | 'right', at: Point): PointerAction[] => [
  { kind: 'move', ...point(at) },
  { kind: 'press', button, ...point(at) },
  { kind: 'release', button, ...point(at) },
];

export class TouchGestures {
  private phase: Phase = { kind: 'idle' };

  /** The fingers on the screen now (after a touchstart, touchmove, touchend or touchcancel), and what the mouse does. */
  update(touches: readonly TouchPoint[]): PointerAction[] {
    const phase = this.phase;
    const n = touches.length;
    switch (phase.kind) {
      case 'idle':
        if (n === 1) this.phase = { kind: 'one', start: touches[0]! };
        else if (n >= 2) this.phase = { kind: 'two', start: centre(touches[0]!, touches[1]!), consumed: 0, moved: false };
        return [];
      case 'one': {
        if (n === 0) {
          this.phase = { kind: 'idle' };
          return click('left', phase.start);
        }
        if (n >= 2) {
          this.phase = { kind: 'two', start: centre(touches[0]!, touches[1]!), consumed: 0, moved: false };
          return [];
        }
        const now = touches[0]!;
        if (now.id !== phase.start.id) {
          this.phase = { kind: 'one', start: now };
          return [];
        }
        if (!far(now, phase.start)) return [];
        this.phase = { kind: 'drag', id: now.id, last: now };
        return [
          { kind: 'move', ...point(phase.start) },
          { kind: 'press', button: 'left', ...point(phase.start) },
          { kind: 'move', ...point(now) },
        ];
      }
      case 'drag': {
        const now = touches.find((t) => t.id === phase.id);
        if (!now) {
          this.phase = n === 0 ? { kind: 'idle' } : { kind: 'spent' };
          return [{ kind: 'release', button: 'left', ...point(phase.last) }];
        }
        if (now.x === phase.last.x && now.y === phase.last.y) return [];
        this.phase = { ...phase, last: now };
        return [{ kind: 'move', ...point(now) }];
      }
      case 'two': {
        if (n < 2) {
          this.phase = n === 0 ? { kind: 'idle' } : { kind: 'spent' };
          return phase.moved ? [] : click('right', phase.start);
        }
        const at = centre(touches[0]!, touches[1]!);
        const moved = phase.moved || far(at, phase.start);
        const actions: PointerAction[] = [];
        let consumed = phase.consumed;
        // Fingers moving down pull the content down: the wheel turns up (noVNC's direction).
        while (at.y - phase.start.y - consumed >= SCROLL_STEP) {
          actions.push({ kind: 'wheel', direction: 'up', ...at });
          consumed += SCROLL_STEP;
        }
        while (at.y - phase.start.y - consumed <= -SCROLL_STEP) {
          actions.push({ kind: 'wheel', direction: 'down', ...at });
          consumed -= SCROLL_STEP;
        }
        this.phase = { kind: 'two', start: phase.start, consumed, moved };
        return actions.length > 0 ? [{ kind: 'move', ...at }, ...actions] : [];
      }
      case 'spent':
        if (n === 0) this.phase = { kind: 'idle' };
        return [];
    }
  }
}
