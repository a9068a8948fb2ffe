// What a guest wrote to its serial port (QEMU `-serial file:`), for proving that input typed in a
// browser reached the guest.
import { readFileSync } from 'node:fs';

export class SerialLog {
  constructor(readonly path: string) {}

  contents(): string {
    try {
      return readFileSync(this.path, 'latin1');
    } catch {
      return '';
    }
  }

  /** Waits until the log contains `text`; on time-out the error shows what was awaited and the log's tail. */
  async waitFor(text: string | RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const found = () => (typeof text === 'string' ? this.contents().includes(text) : text.test(this.contents()));
    while (!found()) {
      if (Date.now() > deadline) {
        throw new Error(
          `serial log ${this.path}: no ${String(text)} within ${timeoutMs} ms; it ends with:\n${this.contents().slice(-500)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
