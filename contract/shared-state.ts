// A store of shared state (Redis) that cannot answer, or answered with data Porthole cannot
// read. Both halves throw it; the HTTP API answers 503 with its sentence, the proxy closes the
// connection with it. Never a session let in on an answer that was not had.

export const STATE_UNAVAILABLE =
  'Porthole cannot reach its shared state right now, so it takes no new sign-ins or connections. Try again in a moment.';

export class SharedStateError extends Error {
  override name = 'SharedStateError';
  /** For a person: what the API or the viewer shows. */
  readonly sentence: string;

  constructor(detail: string, options?: { cause?: unknown; sentence?: string }) {
    super(detail, options?.cause === undefined ? undefined : { cause: options.cause });
    this.sentence = options?.sentence ?? STATE_UNAVAILABLE;
  }
}
