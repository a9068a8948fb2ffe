// The desktop's size against the window's. A guest that can change its resolution is asked for
// the window's size in device pixels (a HiDPI screen then shows it sharp, one desktop pixel per
// device pixel), once the window has stopped changing: dragging a window's edge would otherwise
// ask for dozens of modes a second. Where the guest keeps its size, the picture is scaled.

export interface Size {
  width: number;
  height: number;
}

/** Smallest mode asked for: below it guests refuse or become unusable. */
export const MIN_RESOLUTION: Size = { width: 320, height: 240 };
/** Quiet time after the last change of the window before the guest is asked. */
export const SETTLE_MS = 400;

/**
 * The resolution that fills `css` (CSS pixels) at `ratio` device pixels per CSS pixel: whole
 * device pixels, an even width (QXL and X drivers want one), never below MIN_RESOLUTION.
 */
export function deviceResolution(css: Size, ratio: number): Size {
  const r = Number.isFinite(ratio) && ratio > 0 ? ratio : 1;
  const width = Math.floor((css.width * r) / 2) * 2;
  const height = Math.floor(css.height * r);
  return { width: Math.max(MIN_RESOLUTION.width, width), height: Math.max(MIN_RESOLUTION.height, height) };
}

/** Holds the latest of a burst of values and acts on it once none came for `quietMs`; never twice running on the same size. */
export class SettledSize {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private last: Size | undefined;

  constructor(
    private readonly act: (size: Size) => void,
    private readonly quietMs = SETTLE_MS,
  ) {}

  push(size: Size): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.last && this.last.width === size.width && this.last.height === size.height) return;
      this.last = size;
      this.act(size);
    }, this.quietMs);
  }

  /** Forgets what was asked last, so that the next size is asked for even if unchanged (a guest that came back). */
  forget(): void {
    this.last = undefined;
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

/**
 * Watches `element`'s size and the device pixel ratio, and calls `request` with the resolution
 * that fills it once they settle (first at once). Returns how to stop watching.
 */
export function followElement(element: HTMLElement, request: (size: Size) => void, quietMs = SETTLE_MS): { stop(): void; again(): void } {
  const settled = new SettledSize(request, quietMs);
  const measure = () => {
    const { width, height } = element.getBoundingClientRect();
    if (width > 0 && height > 0) settled.push(deviceResolution({ width, height }, devicePixelRatio));
  };
  const observer = new ResizeObserver(measure);
  observer.observe(element);
  // A window moved to a screen of another pixel ratio keeps its CSS size: the ratio's own query.
  let ratioQuery: MediaQueryList | undefined;
  const watchRatio = () => {
    ratioQuery?.removeEventListener('change', onRatio);
    ratioQuery = matchMedia(`(resolution: ${devicePixelRatio}dppx)`);
    ratioQuery.addEventListener('change', onRatio);
  };
  const onRatio = () => {
    watchRatio();
    measure();
  };
  watchRatio();
  return {
    stop: () => {
      observer.disconnect();
      ratioQuery?.removeEventListener('change', onRatio);
      settled.stop();
    },
    again: () => {
      settled.forget();
      measure();
    },
  };
}

/**
 * Shows `area`'s canvas at one canvas pixel per device pixel while `on`, following the canvas's
 * own size and the pixel ratio: `sized` is the element given that CSS size (the canvas itself, or
 * for a client that scales its canvas to its container, the container). Off, the stylesheet's.
 */
export function devicePixelCanvas(
  area: HTMLElement,
  sized: (canvas: HTMLCanvasElement) => HTMLElement = (canvas) => canvas,
): { set(on: boolean): void; stop(): void } {
  let on = false;
  const apply = () => {
    const canvas = [...area.querySelectorAll('canvas')].sort((a, b) => b.width * b.height - a.width * a.height)[0];
    if (!canvas) return;
    const element = sized(canvas);
    element.style.width = on ? `${canvas.width / devicePixelRatio}px` : '';
    element.style.height = on ? `${canvas.height / devicePixelRatio}px` : '';
    element.style.flex = on ? 'none' : '';
    element.style.margin = on ? 'auto' : '';
  };
  const observer = new MutationObserver(apply);
  observer.observe(area, { subtree: true, childList: true, attributes: true, attributeFilter: ['width', 'height'] });
  const ratio = matchMedia('(min-resolution: 1.01dppx)');
  ratio.addEventListener('change', apply);
  return {
    set: (value) => {
      on = value;
      apply();
    },
    stop: () => {
      observer.disconnect();
      ratio.removeEventListener('change', apply);
    },
  };
}
