// Touch on the SPICE canvas: spice-html5 has no touch handling, so the gestures of
// touch-gestures.ts go to its own mouse handlers as the mouse events they stand for (its
// handlers then send them as a mouse would, in the surface's pixels).
import { TouchGestures, type PointerAction, type TouchPoint } from '../touch-gestures.js';

const BUTTONS = { left: { button: 0, buttons: 1 }, right: { button: 2, buttons: 2 } } as const;

function dispatch(canvas: HTMLCanvasElement, action: PointerAction): void {
  const at = { clientX: action.x, clientY: action.y, bubbles: true, cancelable: true, view: window };
  switch (action.kind) {
    case 'move':
      canvas.dispatchEvent(new MouseEvent('mousemove', at));
      return;
    case 'press':
      canvas.dispatchEvent(new MouseEvent('mousedown', { ...at, ...BUTTONS[action.button] }));
      return;
    case 'release':
      canvas.dispatchEvent(new MouseEvent('mouseup', { ...at, button: BUTTONS[action.button].button, buttons: 0 }));
      return;
    case 'wheel':
      canvas.dispatchEvent(new WheelEvent('wheel', { ...at, deltaMode: 0, deltaY: action.direction === 'up' ? -100 : 100 }));
      return;
  }
}

/** Reads touches on `area` (spice-html5's canvas inside it) as gestures; returns how to stop. */
export function installSpiceTouch(area: HTMLElement): () => void {
  const gestures = new TouchGestures();
  const onTouch = (e: TouchEvent) => {
    const canvas = area.querySelector('canvas');
    if (!canvas) return;
    // No page scrolling or zooming over the desktop, and no emulated mouse events after a tap.
    e.preventDefault();
    if (e.type === 'touchstart') canvas.focus();
    const touches: TouchPoint[] = [...e.touches].map((t) => ({ id: t.identifier, x: t.clientX, y: t.clientY }));
    for (const action of gestures.update(touches)) dispatch(canvas, action);
  };
  const types = ['touchstart', 'touchmove', 'touchend', 'touchcancel'] as const;
  for (const type of types) area.addEventListener(type, onTouch, { passive: false });
  return () => types.forEach((type) => area.removeEventListener(type, onTouch));
}
