// In the user's viewer: the question when the helpdesk asks to watch this desktop, and a banner
// that stays while someone watches, with a button that ends it at once.
import { api, type ShadowNotice } from './api.js';

const POLL_MS = 1500;

export function watchForShadowing(desktopId: string, prompt: HTMLElement, banner: HTMLElement): void {
  const answered = new Set<string>();
  const question = prompt.querySelector<HTMLElement>('.question')!;
  let current: ShadowNotice | undefined;
  let shown = '';

  const answer = (accept: boolean) => {
    if (!current) return;
    const id = current.requestId;
    answered.add(id);
    prompt.hidden = true;
    void api.answerShadow(id, accept).finally(refresh);
  };
  prompt.querySelector('.allow')!.addEventListener('click', () => answer(true));
  prompt.querySelector('.refuse')!.addEventListener('click', () => answer(false));

  async function refresh(): Promise<void> {
    let notices: ShadowNotice[];
    try {
      notices = (await api.myShadowing()).filter((n) => n.desktop === desktopId);
    } catch {
      return; // signed out or offline: the viewer shows its own errors
    }
    const pending = notices.find((n) => n.state === 'pending' && !answered.has(n.requestId));
    if (pending && pending.requestId !== current?.requestId) {
      current = pending;
      question.textContent = `${pending.asker} from the helpdesk asks to ${pending.control ? 'see your screen and use your keyboard and mouse' : 'see your screen'}. Allow it?`;
      prompt.hidden = false;
    } else if (!pending) {
      prompt.hidden = true;
    }
    const watching = notices.filter((n) => n.state === 'accepted');
    // Rebuilt only when who watches changes: a banner rebuilt on every poll would swallow a
    // "Stop sharing" click that lands while its button is being replaced.
    const now = watching.map((n) => `${n.requestId}:${n.control}`).join(',');
    if (now === shown) return;
    shown = now;
    banner.replaceChildren();
    for (const n of watching) {
      const text = document.createElement('span');
      text.textContent = `${n.asker} from the helpdesk is ${n.control ? 'controlling' : 'watching'} your screen.`;
      const stop = document.createElement('button');
      stop.type = 'button';
      stop.className = 'stop-sharing';
      stop.textContent = n.control ? 'Take back control' : 'Stop sharing';
      stop.addEventListener('click', () => {
        void api.endShadow(n.requestId).finally(refresh);
      });
      banner.append(text, stop);
    }
    banner.hidden = watching.length === 0;
  }

  void refresh();
  setInterval(() => void refresh(), POLL_MS);
}
