// When the first picture arrives: every client draws into a canvas inside the screen element,
// and a drawn pixel is opaque where an untouched canvas is transparent. Checked every frame.

function drawn(canvas: HTMLCanvasElement): boolean {
  if (canvas.width < 2 || canvas.height < 2) return false;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) return false;
  const points: Array<[number, number]> = [
    [0, 0],
    [canvas.width >> 1, canvas.height >> 1],
    [canvas.width - 1, canvas.height - 1],
  ];
  return points.some(([x, y]) => context.getImageData(x, y, 1, 1).data[3] === 255);
}

/** Canvases in `root`, including inside open shadow roots (IronRDP's web component draws in one). */
function canvasesIn(root: ParentNode): HTMLCanvasElement[] {
  const found = [...root.querySelectorAll('canvas')];
  for (const element of root.querySelectorAll('*')) if (element.shadowRoot) found.push(...canvasesIn(element.shadowRoot));
  return found;
}

/** Resolves with performance.now() at the first drawn frame in `screen`; rejects when aborted. */
export function firstFrame(screen: HTMLElement, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (signal.aborted) return reject(signal.reason);
      const canvas = canvasesIn(screen).find(drawn);
      if (canvas) resolve(performance.now());
      else requestAnimationFrame(check);
    };
    check();
  });
}
