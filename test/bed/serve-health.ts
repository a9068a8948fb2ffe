// Waiting for a `porthole serve` started as a process to answer /healthz with 200, naming what
// the process printed when it does not.
import { waitFor } from './deadline.js';
import type { GatewayClient } from './gateway-client.js';

export async function waitUntilHealthy(client: GatewayClient, ms: number, printed: () => string): Promise<void> {
  await waitFor(
    async () => (await client.api('GET', '/healthz').catch(() => ({ status: 0 }))).status === 200,
    ms,
    'porthole serve to become healthy',
    100,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; it said: ${printed()}`, { cause: error });
  });
}
