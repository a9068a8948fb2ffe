// The viewer page: opens one desktop with the fallback chain and offers the controls a user
// needs (Ctrl+Alt+Del, scale to window, full screen, power, disconnect), saying at every moment
// which protocol is in use and why it fell back. When a working connection drops it reconnects
// by itself, with fresh tokens and the same protocol; when the end was meant (signed out, ended
// by an administrator, opened elsewhere) it says so and waits for the person.
import { api, ApiError, type Attempt, type DesktopSummary } from './api.js';
import { installClipboardPanel } from './clipboard-panel.js';
import { installSoundControl } from './sound-control.js';
import { watchForShadowing } from './shadow-prompt.js';
import { installCloseRecorder } from './close-reasons.js';
import type { RemoteSession } from './connectors/connector.js';
import { confirmPower, findDesktop, startDesktop } from './desktop-power.js';
import { ChainFailed, FallbackChain, type Fallback } from './fallback-chain.js';
import { watchLine } from './line-heartbeat.js';
import { installOnScreenKeyboard } from './on-screen-keyboard.js';
import { PROTOCOL_CLIENTS, protocolLabel as label } from './protocols.js';
import { Backoff, describeEnd, reconnectingTitle, type SessionEnd } from './session-end.js';

/** `closed`: ended on purpose, or given up on; `stopped`: the desktop is not running. */
type State = 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed' | 'stopped';

interface ViewerState {
  state: State;
  protocol: string | null;
  fallbacks: Fallback[];
  openedAt: number;
  firstFrameAt: number | null;
  /** Reconnections made since the page opened (for tests and support). */
  reconnects: number;
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
const failedTitle = $('failed-title');
const failedText = $('failed-text');
const retryButton = $<HTMLButtonElement>('reconnect');
const reconnectingPanel = $('reconnecting');
const stoppedPanel = $('stopped');

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
  // A sharing that is over is final (a 409, not an error to retry while reconnecting).
  if (answer.state !== 'accepted' || !answer.attempts) throw new ApiError(409, `The screen sharing is ${answer.state}, not open.`);
  // Whose screen this is, and whether the helpdesk may act on it: said in the toolbar, always.
  watchedWithControl = answer.control === true;
  const title = `Watching ${answer.user ?? 'a user'}'s ${answer.desktopName ?? 'desktop'} — ${watchedWithControl ? 'with control' : 'view only'}`;
  $('desktop-name').textContent = title;
  document.title = `${title} – Porthole`;
  return answer.attempts;
}
// Every connector is loaded as the page starts, beside the first call for attempts.
const page = { signInForm: $<HTMLFormElement>('rdp-sign-in') };
const chain = Promise.all(PROTOCOL_CLIENTS.map((c) => c.connector(page))).then(
  (connectors) => new FallbackChain(connectors, (protocols) => attemptsFor(protocols)),
);
let session: RemoteSession | undefined;
const smallOrTouch = matchMedia('(max-width: 600px), (pointer: coarse)');
/** A helpdesk watching with the user's leave to act on the desktop. */
let watchedWithControl = false;
let stopHeartbeat = () => {};
let fit = true;
let desktop: DesktopSummary | undefined;
const clipboardPanel = installClipboardPanel({
  button: $<HTMLButtonElement>('clipboard'),
  panel: $('clipboard-panel'),
  focusDesktop: () => session?.focus(),
});
const soundControl = installSoundControl($<HTMLButtonElement>('sound'), $<HTMLInputElement>('volume'));

window.portholeViewer = {
  state: 'connecting',
  protocol: null,
  fallbacks: [],
  openedAt: performance.now(),
  firstFrameAt: null,
  reconnects: 0,
};

function setState(state: State, protocol: string | null = window.portholeViewer.protocol): void {
  Object.assign(window.portholeViewer, { state, protocol });
  viewer.dataset.state = state;
  viewer.dataset.protocol = protocol ?? '';
  document.body.dataset.state = state;
  // The remote-control buttons mean something only while connected.
  for (const id of ['cad', 'fit', 'fullscreen']) $<HTMLButtonElement>(id).disabled = state !== 'connected';
  // Nothing that acts on the desktop for those who only watch.
  const watchOnly = viewOnly || (shadowId !== null && !watchedWithControl);
  $('cad').hidden = watchOnly;
  clipboardPanel.update(state === 'connected' ? session : undefined, !watchOnly);
  soundControl.update(state === 'connected' ? session : undefined);
  // The on-screen keyboard where the screen is small or touched, and the client can send keys.
  $('osk').hidden = watchOnly || !(smallOrTouch.matches && session?.sendKey && state === 'connected');
  // Restart and shut down: for those who may, never for a watcher, and while there is a desktop to act on.
  $('reboot').hidden = $('shutdown').hidden = !(desktop?.power && !viewOnly && !shadowId && state === 'connected');
  if (state !== 'reconnecting') reconnectingPanel.hidden = true;
  if (state !== 'stopped') stoppedPanel.hidden = true;
  if (state === 'connecting' || state === 'connected' || state === 'reconnecting') failedPanel.hidden = true;
}

function showNotice(text: string): void {
  notice.textContent = text;
  notice.hidden = text === '';
}

function fellBackText(fallbacks: Fallback[]): string {
  return fallbacks.map((f) => `${label(f.protocol)} did not work: ${f.reason}`).join(' ');
}

/** What became of one try at opening the desktop. */
type Outcome = 'connected' | 'retry' | 'final';

/**
 * Opens the desktop, trying its protocols in order; `moveOn` continues with the protocols after
 * one whose session broke, with the reasons so far. While reconnecting (`quiet`), a failure that
 * may pass is left to the caller to retry rather than shown.
 */
async function open(
  options: { moveOn?: { attempts: Attempt[]; fallbacks: Fallback[] }; protocols?: string[]; quiet?: boolean } = {},
): Promise<Outcome> {
  const { moveOn, protocols, quiet = false } = options;
  if (!quiet) showNotice(moveOn ? fellBackText(moveOn.fallbacks) : '');
  screen.replaceChildren();
  window.portholeViewer.openedAt = performance.now();
  window.portholeViewer.firstFrameAt = null;
  window.portholeViewer.fallbacks = [...(moveOn?.fallbacks ?? [])];
  if (!quiet) {
    setState('connecting', null);
    status.textContent = 'Asking Porthole for a connection…';
  }
  try {
    const [attempts, fallbackChain] = await Promise.all([moveOn?.attempts ?? attemptsFor(protocols), chain]);
    const result = await fallbackChain.open(attempts, screen, {
      trying: (connector, index, total) => {
        // After a sign-in to the desktop (RDP), time counts from the moment the person submitted it.
        if (connector.prepare) window.portholeViewer.openedAt = performance.now();
        if (quiet) return;
        setState('connecting', connector.protocol);
        status.textContent = `Connecting over ${connector.label}${total > 1 ? ` (${index + 1} of ${total})` : ''}…`;
      },
      preparing: (connector) => {
        setState('connecting', connector.protocol);
        status.textContent = `${connector.label} needs the desktop's own sign-in…`;
      },
      failed: (f) => {
        window.portholeViewer.fallbacks.push(f);
        if (!quiet) showNotice(fellBackText(window.portholeViewer.fallbacks));
      },
    });
    connected(result.session, attempts, [...(moveOn?.fallbacks ?? []), ...result.fallbacks]);
    return 'connected';
  } catch (error) {
    return failed(error, quiet);
  }
}

function connected(opened: RemoteSession, attempts: Attempt[], fallbacks: Fallback[]): void {
  session = opened;
  window.portholeViewer.firstFrameAt = performance.now();
  setState('connected', opened.protocol);
  const seconds = ((window.portholeViewer.firstFrameAt - window.portholeViewer.openedAt) / 1000).toFixed(1);
  const watching = shadowId && !watchedWithControl ? ' · view only' : '';
  const verb = reconnecting ? 'Reconnected' : 'Connected';
  status.textContent = `${verb} over ${label(opened.protocol)} in ${seconds} s${viewOnly ? ' · view only' : ''}${watching}`;
  showNotice(fallbacks.length > 0 ? `Using ${label(opened.protocol)} because ${fellBackText(fallbacks)}` : '');
  opened.scaleToWindow(fit);
  // The desktop takes its own user's window size, never a watcher's (a helpdesk's window is not the user's).
  if (!viewOnly && shadowId === null) opened.followWindow?.();
  opened.focus();
  stopHeartbeat();
  stopHeartbeat = watchLine((why) => {
    if (session !== opened) return;
    opened.disconnect();
    session = undefined;
    void reconnect({ reason: `The connection stalled: ${why}.` }, opened.protocol);
  });
  opened.onClose((end) => {
    if (session !== opened) return;
    session = undefined;
    stopHeartbeat();
    ended(end, opened.protocol);
  });
  // A session that is open but shows nothing useful gives way to the next protocol by itself.
  const later = attempts.slice(attempts.findIndex((a) => a.protocol === opened.protocol) + 1);
  opened.onBroken((reason) => {
    if (session !== opened) return;
    opened.disconnect();
    session = undefined;
    stopHeartbeat();
    const fallback = { protocol: opened.protocol, reason: `during the session, ${reason}` };
    if (later.length > 0) {
      void open({ moveOn: { attempts: later, fallbacks: [...fallbacks, fallback] } });
    } else {
      setState('closed');
      status.textContent = 'Disconnected';
      showFailure('The connection stopped working', `${reason}.`, 'Try again');
    }
  });
}

/** A working connection ended: reconnect, or say what happened. */
function ended(end: SessionEnd, protocol: string): void {
  const ending = describeEnd(end);
  if (ending.reconnect) {
    void reconnect(end, protocol);
    return;
  }
  setState('closed');
  status.textContent = 'Disconnected';
  if (ending.goTo) {
    location.href = ending.goTo;
    return;
  }
  showFailure(ending.title, ending.text, ending.openAgain ? 'Open again' : undefined);
}

let reconnecting = false;
let skipWait: (() => void) | undefined;

/**
 * Tries again and again with backoff, fresh tokens and the protocol that was in use (all of the
 * desktop's protocols after a few failures: its display may have changed), until it works, the
 * failure is one waiting will not mend, or the time is up.
 */
async function reconnect(end: SessionEnd, protocol: string): Promise<void> {
  if (reconnecting) return;
  reconnecting = true;
  const backoff = new Backoff();
  try {
    for (;;) {
      const delay = backoff.next();
      if (delay === undefined) {
        setState('failed', null);
        status.textContent = 'Not connected';
        showFailure(
          'Could not reconnect',
          `${end.reason} Porthole tried for a few minutes. Check your network, then try again.`,
          'Try again',
        );
        return;
      }
      setState('reconnecting', protocol);
      const attempt = backoff.attempt;
      status.textContent = $('reconnecting-title').textContent = reconnectingTitle(end, attempt);
      $('reconnecting-text').textContent = `${end.reason} This page reconnects by itself.`;
      reconnectingPanel.hidden = false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        skipWait = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      skipWait = undefined;
      const outcome = await open({ quiet: true, ...(attempt <= 4 ? { protocols: [protocol] } : {}) });
      if (outcome === 'connected') {
        window.portholeViewer.reconnects++;
        session?.focus(); // the keyboard goes back to the desktop
        return;
      }
      if (outcome === 'final') return;
    }
  } finally {
    reconnecting = false;
  }
}

/** Says why opening failed; while reconnecting, only failures that waiting will not mend. */
function failed(error: unknown, quiet: boolean): Outcome {
  if (error instanceof ApiError) {
    if (error.status === 401) {
      // Back here once signed in (kept through an OpenID provider's round trip too).
      location.href = `/?return=${encodeURIComponent(location.pathname + location.search)}`;
      return 'final';
    }
    if (error.status === 409 && !shadowId) {
      void showStopped(error.message);
      return 'final';
    }
    // The gateway is restarting, draining or out of reach: waiting may mend it.
    if (quiet && (error.status === 0 || error.status >= 500)) return 'retry';
    setState('failed', null);
    status.textContent = 'Not connected';
    showNotice('');
    showFailure(error.status === 429 ? 'A limit is reached' : 'Could not open this desktop', error.message, 'Try again');
    return 'final';
  }
  if (quiet) return 'retry'; // no display answered: the desktop may be restarting or moving host
  setState('failed', null);
  status.textContent = 'Not connected';
  showNotice(''); // the failure panel says it all
  if (error instanceof ChainFailed) {
    showFailure(
      'Could not open this desktop',
      `None of this desktop's displays could be opened. ${fellBackText(error.fallbacks)} ` +
        "Try again in a minute; if it keeps failing, ask your administrator to check that the desktop's display is enabled.",
      'Try again',
    );
  } else {
    showFailure('Could not open this desktop', (error as Error).message, 'Try again');
  }
  return 'final';
}

function showFailure(title: string, text: string, retryLabel: string | undefined): void {
  reconnectingPanel.hidden = true;
  failedTitle.textContent = title;
  failedText.textContent = text;
  retryButton.hidden = retryLabel === undefined;
  if (retryLabel) retryButton.textContent = retryLabel;
  failedPanel.hidden = false;
}

/** The desktop is not running: say so, and offer to start it where this user may. */
async function showStopped(why: string): Promise<void> {
  desktop = (await findDesktop(desktopId).catch(() => undefined)) ?? desktop;
  if (desktop?.state === 'running') {
    // A 409 for a running desktop: it has no display of the protocol asked for.
    setState('failed', null);
    status.textContent = 'Not connected';
    showFailure('Could not open this desktop', why, 'Try again');
    return;
  }
  setState('stopped', null);
  status.textContent = 'Desktop off';
  showNotice('');
  const start = $<HTMLButtonElement>('start');
  $('stopped-text').textContent = desktop?.power
    ? why.replace(/ Start it and try again\.?$/, '')
    : `${why} Ask your administrator to start it.`;
  $('stopped-progress').textContent = '';
  start.hidden = !desktop?.power;
  start.disabled = false;
  stoppedPanel.hidden = false;
  if (desktop?.power) start.focus();
}

$('start').addEventListener('click', () => {
  const start = $<HTMLButtonElement>('start');
  const progress = $('stopped-progress');
  start.disabled = true;
  startDesktop(desktopId, (text) => {
    progress.textContent = text;
    status.textContent = text;
  }).then(
    () => void open(),
    (error: Error) => {
      progress.textContent = error.message;
      start.disabled = false;
    },
  );
});

for (const action of ['reboot', 'shutdown'] as const) {
  $(action).addEventListener('click', () => {
    void confirmPower($<HTMLDialogElement>('confirm'), action).then(async (yes) => {
      if (!yes) return session?.focus();
      try {
        await api.power(desktopId, action);
        showNotice(action === 'reboot' ? 'The desktop is restarting.' : 'The desktop is shutting down.');
      } catch (error) {
        showNotice((error as Error).message);
      }
      session?.focus();
    });
  });
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
  stopHeartbeat();
  session?.disconnect();
  session = undefined;
  location.href = '/';
});
$('reconnect').addEventListener('click', () => void open());
$('reconnect-now').addEventListener('click', () => skipWait?.());
screen.addEventListener('click', () => session?.focus());
installOnScreenKeyboard($<HTMLButtonElement>('osk'), $<HTMLTextAreaElement>('osk-input'), () => session, showNotice);
smallOrTouch.addEventListener('change', () => setState(window.portholeViewer.state));

installCloseRecorder();
if (shadowId) {
  $('desktop-name').textContent = "Watching a user's screen";
  void open();
} else if (!desktopId) {
  setState('failed', null);
  showFailure('No desktop chosen', 'No desktop was chosen. Go back to your desktops and pick one.', undefined);
} else {
  findDesktop(desktopId).then(
    (d) => {
      if (!d) return;
      desktop = d;
      $('desktop-name').textContent = d.name;
      document.title = `${d.name} – Porthole`;
      setState(window.portholeViewer.state); // shows the power buttons where they apply
    },
    () => {},
  );
  void open();
  // The user is asked here when the helpdesk wants to watch, and sees while it does.
  watchForShadowing(desktopId, $('shadow-prompt'), $('shadow-banner'));
}
