// RDP certificates pinned on first use; forgetting one (after a confirmation) lets the next
// connection pin the desktop's new certificate.
import { adminApi, type PinnedCertificate } from './admin-api.js';
import { confirmAction } from './confirm.js';
import { actions, button, cell, fill, row, when } from './table.js';

export function pinRows(
  pins: PinnedCertificate[],
  desktopName: (id: string) => string,
  report: (m: string) => void,
  reload: () => void,
): void {
  fill(
    document.getElementById('pin-rows')!,
    pins.map((p) => {
      const forget = button('Forget', 'danger forget-pin', () => {
        void (async () => {
          const sure = await confirmAction(
            `Forget the certificate of ${desktopName(p.desktop)}?`,
            'The next RDP connection to this desktop trusts whatever certificate it presents, and pins that one. Do this only when its certificate was replaced on purpose.',
            'Forget',
          );
          if (!sure) return;
          try {
            await adminApi.forgetPin(p.desktop);
            report(`Forgot the certificate of ${desktopName(p.desktop)}.`);
          } catch (error) {
            report((error as Error).message);
          }
          reload();
        })();
      });
      return row(
        { desktop: p.desktop },
        cell(desktopName(p.desktop), 'strong'),
        cell(p.subject, 'wrap'),
        cell(p.fingerprint, 'mono wrap'),
        cell(when(p.validTo)),
        cell(when(p.firstSeen)),
        actions(forget),
      );
    }),
    document.getElementById('pins-empty')!,
  );
}
