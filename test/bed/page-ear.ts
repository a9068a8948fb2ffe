// What a page sends to the speakers, heard as a person's ear would: every Web Audio connection
// to an AudioContext's destination gets an analyser spliced in before the page's scripts run,
// so the test hears the page's own output, after its volume and mute. (The <audio> element's own
// volume and mute do not reach Web Audio in Chromium: an analyser on the element would not hear them.)
import type { Page } from 'puppeteer-core';

export interface Heard {
  /** The loudest sample, 0 (silence) to 1 (full scale). */
  peak: number;
  /** The strongest frequency, in Hz. */
  pitch: number;
}

const EAR = `(() => {
  const analysers = [];
  const connect = AudioNode.prototype.connect;
  AudioNode.prototype.connect = function (target, ...rest) {
    if (target instanceof AudioDestinationNode) {
      const analyser = this.context.createAnalyser();
      analyser.fftSize = 4096;
      connect.call(this, analyser);
      analysers.push(analyser);
    }
    return connect.call(this, target, ...rest);
  };
  window.portholeTestEar = () => {
    let best = { peak: 0, pitch: 0 };
    for (const analyser of analysers) {
      if (analyser.context.state !== 'running') continue;
      const wave = new Float32Array(analyser.fftSize);
      analyser.getFloatTimeDomainData(wave);
      const peak = wave.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      if (peak <= best.peak) continue;
      const spectrum = new Float32Array(analyser.frequencyBinCount);
      analyser.getFloatFrequencyData(spectrum);
      let bin = 1;
      for (let i = 1; i < spectrum.length; i++) if (spectrum[i] > spectrum[bin]) bin = i;
      best = { peak, pitch: (bin * analyser.context.sampleRate) / analyser.fftSize };
    }
    return best;
  };
})()`;

/** Listens to what `page` plays from its next navigation on. */
export async function listenTo(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(EAR);
}

/** What the page plays now: over its analysers' last 4096 samples, the loudest output. */
export async function hearNow(page: Page): Promise<Heard> {
  return (await page.evaluate('window.portholeTestEar()')) as Heard;
}

/** The loudest the page plays over `seconds`: a measurement window, for proving silence, not a wait. */
export async function loudestOver(page: Page, seconds: number): Promise<number> {
  return (await page.evaluate(`new Promise((resolve) => {
    const until = performance.now() + ${seconds * 1000};
    let loudest = 0;
    const listen = () => {
      loudest = Math.max(loudest, window.portholeTestEar().peak);
      if (performance.now() >= until) resolve(loudest);
      else setTimeout(listen, 40);
    };
    listen();
  })`)) as number;
}
