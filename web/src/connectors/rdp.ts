// RDP through IronRDP's web client (a WASM RDP client in a web component) and Porthole's
// RDCleanPath proxy. Unlike SPICE and VNC, the desktop itself signs the person in (Windows user
// name and password): they are asked for here, handed to IronRDP for this one connection and
// forgotten; Porthole's proxy never sees them in a form it could log (they travel inside TLS or
// CredSSP). IronRDP (6 MB with its WASM) is loaded only when an RDP attempt starts.
import type { Attempt } from '../api.js';
import { runAttempt } from './attempt.js';
import type { Connector, RemoteSession } from './connector.js';
import { rdp } from '../../../proxy/rdp/descriptor.js';

interface Credentials {
  username: string;
  password: string;
}

/** What the web component's `ready` event hands over (a subset of its UserInteraction). */
interface UserInteraction {
  setVisibility(state: boolean): void;
  setScale(scale: number): void;
  setEnableClipboard(enable: boolean): void;
  configBuilder(): {
    withDestination(d: string): ReturnType<UserInteraction['configBuilder']>;
    withProxyAddress(a: string): ReturnType<UserInteraction['configBuilder']>;
    withAuthToken(t: string): ReturnType<UserInteraction['configBuilder']>;
    withUsername(u: string): ReturnType<UserInteraction['configBuilder']>;
    withPassword(p: string): ReturnType<UserInteraction['configBuilder']>;
    withDesktopSize(s: { width: number; height: number }): ReturnType<UserInteraction['configBuilder']>;
    withExtension(e: unknown): ReturnType<UserInteraction['configBuilder']>;
    build(): unknown;
  };
  connect(config: unknown): Promise<{ run(): Promise<{ reason(): string }> }>;
  ctrlAltDel(): void;
  resize(width: number, height: number): void;
  shutdown(): void;
}

interface IronError {
  kind(): number;
  backtrace(): string;
  rdcleanpathDetails?(): { httpStatusCode?: number; wsaErrorCode?: number; tlsAlertCode?: number } | undefined;
}

/** IronErrorKind in @devolutions/iron-remote-desktop. */
const Kind = {
  General: 0,
  WrongPassword: 1,
  LogonFailure: 2,
  AccessDenied: 3,
  RDCleanPath: 4,
  ProxyConnect: 5,
  NegotiationFailure: 6,
} as const;
/** ScreenScale in @devolutions/iron-remote-desktop. */
const Scale = { Fit: 1, Real: 3 } as const;

/** Loads IronRDP once: the web component, then its RDP backend (WASM). */
let loaded: Promise<{ Backend: unknown; displayControl: (enable: boolean) => unknown }> | undefined;
function loadIronRdp(): Promise<{ Backend: unknown; displayControl: (enable: boolean) => unknown }> {
  loaded ??= (async () => {
    await import('@devolutions/iron-remote-desktop');
    const rdp = await import('@devolutions/iron-remote-desktop-rdp');
    await rdp.init('WARN');
    return { Backend: rdp.Backend, displayControl: rdp.displayControl };
  })();
  loaded.catch(() => {
    loaded = undefined;
  });
  return loaded;
}

/**
 * A sentence for a person from IronRDP's error, and whether it beats the proxy's close reason:
 * a refused password is known only inside the encrypted session, where the proxy cannot look.
 */
export function describeIronError(error: unknown): { text: string; ownReason: boolean } {
  const e = error as Partial<IronError> | undefined;
  if (!e || typeof e.kind !== 'function')
    return { text: error instanceof Error ? error.message : 'the connection failed', ownReason: false };
  const own = (text: string) => ({ text, ownReason: true });
  switch (e.kind()) {
    case Kind.WrongPassword:
    case Kind.LogonFailure:
      return own('the desktop did not accept the user name or password. Check them and try again.');
    case Kind.AccessDenied:
      return own('the desktop refused this account. Ask your administrator whether it may sign in remotely.');
    case Kind.General:
      // After Porthole's answer the proxy only relays: a connection the desktop ends before the
      // first picture is, in practice, a sign-in it refused without saying so (FreeRDP, xrdp).
      return own('the desktop ended the connection while signing you in. Check the user name and password, then try again.');
    default:
      return { text: proxyFailureText(e), ownReason: false };
  }
}

function proxyFailureText(e: Partial<IronError>): string {
  switch (e.kind?.()) {
    case Kind.NegotiationFailure:
      return 'the desktop and the browser found no security protocol in common.';
    case Kind.RDCleanPath:
    case Kind.ProxyConnect: {
      const details = e.rdcleanpathDetails?.();
      if (details?.httpStatusCode === 401) return 'the connection link was not valid any more. Try again.';
      if (details?.httpStatusCode === 403) return 'Porthole did not allow this connection.';
      if (details?.wsaErrorCode) return `the desktop's RDP server could not be reached (network error ${details.wsaErrorCode}).`;
      if (details?.tlsAlertCode) return `the desktop's RDP certificate or TLS was refused (TLS alert ${details.tlsAlertCode}).`;
      return 'Porthole could not open the connection to the desktop.';
    }
    default:
      return 'the connection failed.';
  }
}

export class RdpConnector implements Connector {
  readonly protocol = rdp.id;
  readonly label = rdp.label;
  #credentials: Credentials | undefined;

  /** @param form the viewer's sign-in form (user name, password, Connect, Cancel) */
  constructor(readonly form: HTMLFormElement) {}

  prepare(_attempt: Attempt, signal: AbortSignal): Promise<void> {
    const form = this.form;
    const username = form.elements.namedItem('username') as HTMLInputElement;
    const password = form.elements.namedItem('password') as HTMLInputElement;
    const cancel = form.querySelector<HTMLButtonElement>('.cancel')!;
    form.querySelector('.why')!.textContent =
      "This desktop opens over RDP, which asks for the desktop's own user name and password (for Windows, your Windows account).";
    password.value = '';
    form.hidden = false;
    (username.value ? password : username).focus();
    void loadIronRdp().catch(() => {}); // start loading while the person types
    return new Promise((resolve, reject) => {
      const done = () => {
        form.hidden = true;
        password.value = '';
        form.removeEventListener('submit', submit);
        cancel.removeEventListener('click', cancelled);
        signal.removeEventListener('abort', aborted);
      };
      const submit = (event: SubmitEvent) => {
        event.preventDefault();
        this.#credentials = { username: username.value.trim(), password: password.value };
        done();
        resolve();
      };
      const cancelled = () => {
        done();
        reject(new Error('you cancelled the sign-in to the desktop.'));
      };
      const aborted = () => {
        done();
        reject(signal.reason);
      };
      form.addEventListener('submit', submit);
      cancel.addEventListener('click', cancelled);
      signal.addEventListener('abort', aborted, { once: true });
    });
  }

  connect(attempt: Attempt, screen: HTMLElement, signal: AbortSignal): Promise<RemoteSession> {
    const credentials = this.#credentials;
    this.#credentials = undefined; // used for this one connection only
    return runAttempt(this.protocol, this.label, attempt, screen, signal, 'screen-rdp', (area, fail) => {
      if (!credentials) throw new Error('no user name and password were given');
      if (!attempt.destination) throw new Error("Porthole did not name the desktop's RDP address");
      let ui: UserInteraction | undefined;
      let stopped = false;
      let connected = false;
      let stopResizing = () => {};
      const element = document.createElement('iron-remote-desktop') as HTMLElement & { module?: unknown; scale?: string };
      element.setAttribute('scale', 'fit');
      element.setAttribute('flexcenter', 'true');
      element.addEventListener(
        'ready',
        (event) => {
          ui = (event as CustomEvent<{ irgUserInteraction: UserInteraction }>).detail.irgUserInteraction;
          if (stopped) return;
          void loaded!
            .then(({ displayControl }) => {
              ui!.setEnableClipboard(true);
              const config = ui!
                .configBuilder()
                .withDestination(attempt.destination!)
                .withProxyAddress(attempt.url)
                .withAuthToken(attempt.token)
                .withUsername(credentials.username)
                .withPassword(credentials.password)
                .withDesktopSize({ width: Math.max(640, area.clientWidth), height: Math.max(480, area.clientHeight) })
                .withExtension(displayControl(true))
                .build();
              return ui!.connect(config).then((session) => {
                connected = true;
                ui!.setVisibility(true);
                // Ask the desktop to match the window (Display Control; servers without it ignore this).
                let timer: ReturnType<typeof setTimeout> | undefined;
                const follow = () => {
                  clearTimeout(timer);
                  timer = setTimeout(() => {
                    if (!stopped && area.clientWidth > 0) ui!.resize(area.clientWidth, area.clientHeight);
                  }, 400);
                };
                window.addEventListener('resize', follow);
                stopResizing = () => {
                  clearTimeout(timer);
                  window.removeEventListener('resize', follow);
                };
                return session.run().then((end) => fail(`the session ended (${end.reason()})`));
              });
            })
            .catch((error: unknown) => {
              // Once connected, the sign-in is past: the proxy's reason (ended by an administrator,
              // idle, ...) says more than IronRDP's.
              if (connected) return fail('the connection was lost.');
              const { text, ownReason } = describeIronError(error);
              fail(text, ownReason);
            });
        },
        { once: true },
      );
      void loadIronRdp().then(
        ({ Backend }) => {
          if (stopped) return;
          element.module = Backend; // set before the element is connected: it reads the backend once
          area.append(element);
        },
        (error: Error) => fail(`IronRDP could not be loaded: ${error.message}`),
      );
      return {
        stop: () => {
          stopped = true;
          stopResizing();
          try {
            ui?.shutdown();
          } catch {
            /* not connected yet */
          }
        },
        focus: () => element.shadowRoot?.querySelector('canvas')?.focus(),
        sendCtrlAltDel: () => ui?.ctrlAltDel(),
        scaleToWindow: (fit) => ui?.setScale(fit ? Scale.Fit : Scale.Real),
      };
    });
  }
}
