// "Are you sure?" before ending someone's work: the page's <dialog>, modal, with the action named
// on its button. Resolves true only when that button was pressed (Escape and Cancel: false).
const dialog = document.getElementById('confirm') as HTMLDialogElement;
const title = document.getElementById('confirm-title')!;
const text = document.getElementById('confirm-text')!;
const yes = document.getElementById('confirm-yes')!;

export function confirmAction(heading: string, explanation: string, action: string): Promise<boolean> {
  title.textContent = heading;
  text.textContent = explanation;
  yes.textContent = action;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true }));
}
