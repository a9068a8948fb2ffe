// A minimal QMP client (QEMU's JSON control protocol) over a unix socket: enough to set the VNC
// password, ask where VNC listens, send keys and take screenshots.
import { connect, type Socket } from 'node:net';
import { withDeadline } from './deadline.js';

export class Qmp {
  #socket: Socket;
  #buffer = '';
  #pending: Array<{ resolve: (v: unknown) => void; reject: (e: Error) => void }> = [];
  #greeted: Promise<void>;

  private constructor(socket: Socket) {
    this.#socket = socket;
    let greet!: () => void;
    this.#greeted = new Promise((r) => {
      greet = r;
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let nl: number;
      while ((nl = this.#buffer.indexOf('\n')) >= 0) {
        const line = this.#buffer.slice(0, nl).trim();
        this.#buffer = this.#buffer.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc: string }; event?: string };
        if (msg.QMP) greet();
        else if (msg.event) continue;
        else {
          const waiter = this.#pending.shift();
          if (msg.error) waiter?.reject(new Error(`QMP: ${msg.error.desc}`));
          else waiter?.resolve(msg.return);
        }
      }
    });
  }

  /** Connects, retrying while QEMU creates the socket (which took more than 10 s with three QEMUs starting on two loaded cores). */
  static async open(path: string, timeoutMs = 60_000): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path, () => resolve(s));
          s.once('error', reject);
        });
        const qmp = new Qmp(socket);
        await withDeadline(qmp.#greeted, timeoutMs, `QEMU's QMP greeting on ${path}`).catch((e: unknown) => {
          socket.destroy();
          throw e;
        });
        await qmp.execute('qmp_capabilities');
        return qmp;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`QMP socket ${path}: ${(error as Error).message}`, { cause: error });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  execute<T = unknown>(command: string, args?: object, timeoutMs = 30_000): Promise<T> {
    return withDeadline(
      new Promise<T>((resolve, reject) => {
        this.#pending.push({ resolve: resolve as (v: unknown) => void, reject });
        this.#socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`);
      }),
      timeoutMs,
      `QEMU's answer to QMP ${command}`,
    );
  }

  close(): void {
    this.#socket.destroy();
  }
}
