// SPICE's sound. spice-html5 plays the playback channel (Opus in WebM, through a MediaSource) in
// an <audio> element that it adds to the screen area when the guest opens a stream and removes
// when the guest closes it, so a desktop playing one sound after another gets a new element each
// time. Each element is routed through one Web Audio gain, the person's volume and mute: an
// element's own volume does not reach Web Audio in Chromium and cannot be set at all on iOS.
// Nothing plays before the person's first gesture, since browsers start no sound before one.
import type { RemoteSound } from './connector.js';

export class SpiceSound implements RemoteSound {
  #available = false;
  readonly #listeners: (() => void)[] = [];
  #volume = 1;
  #muted = false;
  #started = false;
  #output: { context: AudioContext; gain: GainNode } | undefined;
  readonly #routed = new WeakSet<HTMLAudioElement>();
  readonly #elements: MutationObserver;

  constructor(private readonly area: HTMLElement) {
    this.#elements = new MutationObserver(() => this.#apply());
    this.#elements.observe(area, { childList: true });
  }

  get available(): boolean {
    return this.#available;
  }

  /** The main channel opened a playback channel (the hook web/patches adds). */
  opened(): void {
    this.#available = true;
    for (const listener of this.#listeners) listener();
  }

  onAvailable(listener: () => void): void {
    this.#listeners.push(listener);
  }

  start(): void {
    this.#started = true;
    if (this.#output?.context.state === 'suspended') void this.#output.context.resume();
    this.#apply();
  }

  set(volume: number, muted: boolean): void {
    this.#volume = Math.min(1, Math.max(0, volume));
    this.#muted = muted;
    this.#apply();
  }

  stop(): void {
    this.#elements.disconnect();
    for (const audio of this.area.querySelectorAll('audio')) audio.pause();
    void this.#output?.context.close();
  }

  #apply(): void {
    const players = [...this.area.querySelectorAll('audio')];
    // No gesture yet, the browser would not play it; no sound yet, no AudioContext needed.
    if (!this.#started || (players.length === 0 && !this.#output)) return;
    if (!this.#output) {
      // After the page's first gesture, which lets an AudioContext run.
      const context = new AudioContext();
      const gain = context.createGain();
      gain.connect(context.destination);
      this.#output = { context, gain };
    }
    const output = this.#output;
    output.gain.gain.value = this.#muted ? 0 : this.#volume;
    for (const audio of players) {
      if (!this.#routed.has(audio)) {
        this.#routed.add(audio);
        output.context.createMediaElementSource(audio).connect(output.gain);
      }
      // Before its first data, play() waits for it.
      if (audio.paused) audio.play().catch(() => {});
    }
  }
}
