// What the clipboard carries, the same for every protocol: text, up to a size that keeps a paste
// from holding up the picture and the keys, which travel on the same connection.

/** UTF-8 bytes. A long document's text fits; a paste of megabytes would stall the session for seconds on a home line. */
export const CLIPBOARD_LIMIT_BYTES = 1024 * 1024;

export const utf8Length = (text: string) => new TextEncoder().encode(text).length;

/** Why `bytes` of text are not carried, as a sentence, or undefined when they are. */
export function tooLargeReason(bytes: number, direction: 'to the desktop' | 'from the desktop'): string | undefined {
  if (bytes <= CLIPBOARD_LIMIT_BYTES) return undefined;
  const mb = (n: number) => `${(n / (1024 * 1024)).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;
  return (
    `The clipboard text ${direction} is ${mb(bytes)}; Porthole carries up to ${mb(CLIPBOARD_LIMIT_BYTES)}, ` +
    'because the clipboard shares the connection with the picture and the keys and a larger paste would hold them up.'
  );
}

/** What a protocol's clipboard tells the page. */
export type ClipboardEvent = { text: string } | { refused: string };
