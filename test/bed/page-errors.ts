// Script errors a page raises, as a person would never see them but a test must: uncaught
// exceptions with their stacks, console errors, and spice-html5's own error lines (it reports
// errors with console.log("ERROR: ...")).
import type { Page } from 'puppeteer-core';

export interface PageErrors {
  list(): string[];
}

export function watchPageErrors(page: Page): PageErrors {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`uncaught: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
  page.on('console', (m) => {
    const text = m.text();
    // Chromium logs an HTTP error answer as a console error too ("Failed to load resource"): the
    // desktop list's probe for the helpdesk link is answered 403 for a user, by design.
    if (m.type() === 'error' && !text.startsWith('Failed to load resource'))
      errors.push(`console.error: ${text} ${m.location().url ?? ''}`.trim());
    else if (text.startsWith('ERROR: ')) errors.push(`spice-html5: ${text}`);
  });
  return { list: () => [...errors] };
}
