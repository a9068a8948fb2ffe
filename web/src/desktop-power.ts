// Starting a desktop from the page that wanted it, and restarting or shutting it down after the
// person confirmed: the API call, then the desktop's state as it changes, told as progress.
import { api, type DesktopSummary } from './api.js';

const POLL_MS = 1000;
/** A desktop under TCG can take a while; past this the person is told to ask for help. */
const START_LIMIT_MS = 180_000;

export async function findDesktop(id: string): Promise<DesktopSummary | undefined> {
  return (await api.desktops()).desktops.find((d) => d.id === id);
}

/**
 * Starts the desktop and resolves once it runs with a display, calling `progress` every second
 * with words for the person; rejects with a sentence that says what to do next.
 */
export async function startDesktop(id: string, progress: (text: string) => void): Promise<void> {
  const t0 = Date.now();
  progress('Asking the host to start the desktop…');
  await api.power(id, 'start');
  for (;;) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    const seconds = Math.round((Date.now() - t0) / 1000);
    const desktop = await findDesktop(id).catch(() => undefined);
    if (desktop?.state === 'running' && desktop.protocols.length > 0) return;
    if (desktop?.state === 'crashed')
      throw new Error('The desktop crashed while starting. Try again; if it crashes again, tell your administrator.');
    if (Date.now() - t0 > START_LIMIT_MS) {
      throw new Error(`The desktop has not started after ${seconds} seconds. Try again in a few minutes, or ask your administrator.`);
    }
    progress(`Starting the desktop… ${seconds} s (it is ${desktop?.state ?? 'not answering yet'})`);
  }
}

const CONFIRM: Record<'reboot' | 'shutdown', { question: string; yes: string }> = {
  reboot: { question: 'Restart this desktop? Programs in it close, and work that is not saved is lost.', yes: 'Restart' },
  shutdown: { question: 'Shut this desktop down? Programs in it close, and work that is not saved is lost.', yes: 'Shut down' },
};

/** Asks in `dialog` (a <dialog> with .question, .yes and .no) and resolves with the answer. */
export function confirmPower(dialog: HTMLDialogElement, action: 'reboot' | 'shutdown'): Promise<boolean> {
  dialog.querySelector('.question')!.textContent = CONFIRM[action].question;
  const yes = dialog.querySelector<HTMLButtonElement>('.yes')!;
  const no = dialog.querySelector<HTMLButtonElement>('.no')!;
  yes.textContent = CONFIRM[action].yes;
  return new Promise((resolve) => {
    const done = (answer: boolean) => {
      yes.removeEventListener('click', onYes);
      no.removeEventListener('click', onNo);
      dialog.removeEventListener('cancel', onNo);
      dialog.close();
      resolve(answer);
    };
    const onYes = () => done(true);
    const onNo = () => done(false);
    yes.addEventListener('click', onYes);
    no.addEventListener('click', onNo);
    dialog.addEventListener('cancel', onNo); // Escape
    dialog.showModal();
    no.focus(); // the safe answer is the one Enter gives
  });
}
