// JSON schemas shared by several routes.

/** The body of every error answer: one sentence a person understands. */
export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' } },
  required: ['error'],
} as const;

/**
 * One protocol attempt, as `connect` and an accepted shadowing answer it. An RDP attempt also
 * names its `destination` (host:port), which IronRDP's web client must put in its RDCleanPath
 * request and the proxy checks against the inventory.
 */
export const attemptSchema = {
  type: 'object',
  properties: {
    protocol: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' }, expiresAt: { type: 'string' }, destination: { type: 'string' },
  },
  required: ['protocol', 'url', 'token', 'expiresAt'],
} as const;
