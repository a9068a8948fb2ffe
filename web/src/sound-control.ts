// The viewer's sound controls: a Sound button (mute, unmute) and a volume slider, shown while the
// session's desktop has sound, watchers included (the proxy lets sound through to them). Browsers
// start no sound before a gesture, so the person's first click, tap or key in the page starts it;
// after a reconnection the page's earlier gesture still counts. Volume and mute carry over.
import type { RemoteSession, RemoteSound } from './connectors/connector.js';

export interface SoundControl {
  /** The session in use, or undefined while not connected. */
  update(session: RemoteSession | undefined): void;
}

export function installSoundControl(button: HTMLButtonElement, volume: HTMLInputElement): SoundControl {
  let sound: RemoteSound | undefined;
  let muted = false;
  const show = () => {
    button.hidden = volume.hidden = sound?.available !== true;
  };
  const apply = () => {
    sound?.set(Number(volume.value) / 100, muted);
    button.setAttribute('aria-pressed', String(!muted));
    button.title = muted ? "Sound off: click to hear the desktop's sound" : "Mute the desktop's sound";
  };
  const start = () => sound?.start();
  for (const gesture of ['pointerdown', 'keydown'] as const) document.addEventListener(gesture, start, { capture: true });
  button.addEventListener('click', () => {
    muted = !muted;
    apply();
  });
  volume.addEventListener('input', () => {
    // Moving the slider is wanting to hear it.
    muted = false;
    apply();
  });
  return {
    update(session) {
      if (session?.sound !== sound) {
        sound = session?.sound;
        sound?.onAvailable(show);
        apply();
        if (navigator.userActivation.hasBeenActive) start();
      }
      show();
    },
  };
}
