// The viewer page: opens one desktop with the fallback chain and offers the controls a user
// needs (Ctrl+Alt+Del, scale to window, full screen, disconnect), saying at every moment which
// protocol is in use and why it fell back.
import { api, ApiError, type Attempt } from './api.js';
import { watchForShadowing } from './shadow-prompt.js';
import { installCloseRecorder } from './close-reasons.js';
import type { RemoteSession } from './connectors/connector.js';
import { ChainFailed, FallbackChain, type Fallback } from './fallback-chain.js';
import { PROTOCOL_CLIENTS, protocolLabel as label } from './protocols.js';

type State = 'connecting' | 'connected' | 'failed' | 'closed';

interface ViewerState {
  state: State;
  protocol: string | null;
  fallbacks: Fallback[];
  openedAt: number;
  firstFrameAt: number | null;
}

declare global {
  interface Window {
    portholeViewer: ViewerState;
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const viewer = $('viewer');
const screen = $('screen');
const status = $('status');
const notice = $('notice');
const failedPanel = $('failed');
const failedText = $('failed-text');

const params = new URLSearchParams(location.search);
const desktopId = params.get('desktop') ?? '';
/** Watch without control: the proxy drops keyboard and mouse input, whatever this page does. */
const viewOnly = params.get('viewOnly') === '1';
/** A helpdesk watching someone's screen after their yes: attempts come from the request. */
const shadowId = params.get('shadow');

/** Attempts for this page: the desktop's own, or the accepted shadowing's. */
async function attemptsFor(protocols?: string[]): Promise<Attempt[]> {
  if (!shadowId) return (await api.connect(desktopId, { ...(protocols ? { protocols } : {}), viewOnly })).attempts;
  const answer = await api.shadow(shadowId);
  if (answer.state !== 'accepted' || !answer.attempts) throw new Error(`The screen sharing is ${answer.state}, not open.`);
  return answer.attempts;
}
// Every connector is loaded as the page starts, beside the first call for attempts.
const page = { signInForm: $<HTMLFormElement>('rdp-sign-in') };
const chain = Promise.all(PROTOCOL_CLIENTS.map((c) => c.connector(page))).then(
  (connectors) => new FallbackChain(connectors, (protocols) => attemptsFor(protocols)),
);
let session: RemoteSession | undefined;
let fit = true;

window.portholeViewer = { state: 'connecting', protocol: null, fallbacks: [], openedAt: performance.now(), firstFrameAt: null };

function setState(state: State, protocol: string | null = window.portholeViewer.protocol): void {
  Object.assign(window.portholeViewer, { state, protocol });
  viewer.dataset.state = state;
  viewer.dataset.protocol = protocol ?? '';
  document.body.dataset.state = state;
  // The remote-control buttons mean something only while connected.
  for (const id of ['cad', 'fit', 'fullscreen']) $<HTMLButtonElement>(id).disabled = state !== 'connected';
  $('cad').hidden = viewOnly;
}

function showNotice(text: string): void {
  notice.textContent = text;
  notice.hidden = text === '';
}

function fellBackText(fallbacks: Fallback[]): string {
  return fallbacks.map((f) => `${label(f.protocol)} did not work: ${f.reason}`).join(' ');
}

/**
 * Opens the desktop, trying its protocols in order; `moveOn` continues with the protocols after
 * one whose session broke, with the reasons so far.
 */
async function open(moveOn?: { attempts: Attempt[]; fallbacks: Fallback[] }): Promise<void> {
  failedPanel.hidden = true;
  showNotice(moveOn ? fellBackText(moveOn.fallbacks) : '');
  screen.replaceChildren();
  window.portholeViewer.openedAt = performance.now();
  window.portholeViewer.firstFrameAt = null;
  window.portholeViewer.fallbacks = [...(moveOn?.fallbacks ?? [])];
  setState('connecting', null);
  status.textContent = 'Asking Porthole for a connection…';
  try {
    const [attempts, fallbackChain] = await Promise.all([moveOn?.attempts ?? attemptsFor(), chain]);
    const result = await fallbackChain.open(attempts, screen, {
      trying: (connector, index, total) => {
        // After a sign-in to the desktop (RDP), time counts from the moment the person submitted it.
        if (connector.prepare) window.portholeViewer.openedAt = performance.now();
        setState('connecting', connector.protocol);
        status.textContent = `Connecting over ${connector.label}${total > 1 ? ` (${index + 1} of ${total})` : ''}…`;
      },
      preparing: (connector) => {
        setState('connecting', connector.protocol);
        status.textContent = `${connector.label} needs the desktop's own sign-in…`;
      },
      failed: (f) => {
        window.portholeViewer.fallbacks.push(f);
        showNotice(fellBackText(window.portholeViewer.fallbacks));
      },
    });
    session = result.session;
    window.portholeViewer.firstFrameAt = performance.now();
    setState('connected', session.protocol);
    const seconds = ((window.portholeViewer.firstFrameAt - window.portholeViewer.openedAt) / 1000).toFixed(1);
    status.textContent = `Connected over ${label(session.protocol)} in ${seconds} s${viewOnly ? ' · view only' : ''}${shadowId ? ' · helpdesk' : ''}`;
    const fallbacks = [...(moveOn?.fallbacks ?? []), ...result.fallbacks];
    if (fallbacks.length > 0) {
      showNotice(`Using ${label(session.protocol)} because ${fellBackText(fallbacks)}`);
    }
    session.scaleToWindow(fit);
    session.focus();
    session.onClose((reason) => {
      session = undefined;
      setState('closed');
      status.textContent = 'Disconnected';
      showFailure(`The connection ended: ${reason}`, true);
    });
    // A session that is open but shows nothing useful gives way to the next protocol by itself.
    const broken = session;
    const later = attempts.slice(attempts.findIndex((a) => a.protocol === broken.protocol) + 1);
    broken.onBroken((reason) => {
      if (session !== broken) return;
      broken.disconnect();
      session = undefined;
      const fallback = { protocol: broken.protocol, reason: `during the session, ${reason}` };
      if (later.length > 0) {
        void open({ attempts: later, fallbacks: [...fallbacks, fallback] });
      } else {
        setState('closed');
        status.textContent = 'Disconnected';
        showFailure(`The connection stopped working: ${reason}`, true);
      }
    });
  } catch (error) {
    setState('failed', null);
    status.textContent = 'Not connected';
    showNotice(''); // the failure panel says it all
    if (error instanceof ChainFailed) {
      showFailure(
        `None of this desktop's displays could be opened. ${fellBackText(error.fallbacks)} ` +
          "Try again in a minute; if it keeps failing, ask your administrator to check that the desktop's display is enabled.",
        true,
      );
    } else if (error instanceof ApiError && error.status === 401) {
      // Back here once signed in (kept through an OpenID provider's round trip too).
      location.href = `/?return=${encodeURIComponent(location.pathname + location.search)}`;
    } else {
      showFailure((error as Error).message, true);
    }
  }
}

function showFailure(text: string, canRetry: boolean): void {
  failedText.textContent = text;
  $('reconnect').hidden = !canRetry;
  failedPanel.hidden = false;
}

$('cad').addEventListener('click', () => {
  session?.sendCtrlAltDel();
  session?.focus();
});
$('fit').addEventListener('click', (e) => {
  fit = !fit;
  (e.currentTarget as HTMLElement).setAttribute('aria-pressed', String(fit));
  screen.classList.toggle('fit', fit);
  session?.scaleToWindow(fit);
  session?.focus();
});
$('fullscreen').addEventListener('click', () => {
  if (document.fullscreenElement) void document.exitFullscreen();
  else void viewer.requestFullscreen().then(() => session?.focus());
});
$('disconnect').addEventListener('click', () => {
  session?.disconnect();
  session = undefined;
  location.href = '/';
});
$('reconnect').addEventListener('click', () => void open());
screen.addEventListener('click', () => session?.focus());

installCloseRecorder();
if (shadowId) {
  $('desktop-name').textContent = "Watching a user's screen";
  void open();
} else if (!desktopId) {
  setState('failed', null);
  showFailure('No desktop was chosen. Go back to your desktops and pick one.', false);
} else {
  api.desktops().then(
    ({ desktops }) => {
      const d = desktops.find((x) => x.id === desktopId);
      if (d) {
        $('desktop-name').textContent = d.name;
        document.title = `${d.name} – Porthole`;
      }
    },
    () => {},
  );
  void open();
  // The user is asked here when the helpdesk wants to watch, and sees while it does.
  watchForShadowing(desktopId, $('shadow-prompt'), $('shadow-banner'));
}
