// The desktop's sound: spice-html5 plays SPICE's playback channel (Opus, through MediaSource)
// in an <audio> element it puts inside the screen area. Browsers let a page start sound only
// after a gesture, so the first click, tap or key in the page starts it; the toolbar's Sound
// button mutes and unmutes it, and its slider sets the volume, kept across reconnections.
export function installSoundControl(screen: HTMLElement, button: HTMLButtonElement, volume: HTMLInputElement): void {
  let muted = false;
  const players = () => [...screen.querySelectorAll('audio')];
  const apply = () => {
    for (const audio of players()) {
      audio.muted = muted;
      audio.volume = Number(volume.value) / 100;
    }
    button.setAttribute('aria-pressed', String(!muted));
    button.querySelector('.long')!.textContent = muted ? 'Sound off' : 'Sound on';
    button.querySelector('.short')!.textContent = muted ? '🔇' : '🔊';
  };
  const start = () => {
    for (const audio of players()) if (audio.paused) void audio.play().catch(() => {});
  };
  // An <audio> element appears when the desktop starts playing (and again after a reconnection).
  new MutationObserver(() => {
    const playing = players().length > 0;
    button.hidden = volume.hidden = !playing;
    if (playing) apply();
  }).observe(screen, { childList: true, subtree: true });
  for (const gesture of ['pointerdown', 'keydown'] as const) document.addEventListener(gesture, start, { capture: true });
  button.addEventListener('click', () => {
    muted = !muted;
    apply();
  });
  volume.addEventListener('input', apply);
}
