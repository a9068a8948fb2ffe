// Cross-site request protection for state-changing API calls: the Origin must be one Porthole
// serves, and the body must be declared JSON (which a plain HTML form cannot send).
import fp from 'fastify-plugin';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export const originGuard = fp<{ origins: ReadonlySet<string> }>(
  async (app, { origins }) => {
    app.addHook('onRequest', async (request, reply) => {
      if (SAFE.has(request.method) || !request.url.startsWith('/api/')) return;
      const origin = request.headers.origin;
      if (!origin || !origins.has(origin)) {
        request.log.warn({ origin: origin ?? null }, 'API call refused: origin not allowed');
        return reply.code(403).send({ error: 'This request came from a page that is not allowed to use Porthole (origin not allowed).' });
      }
      const type = request.headers['content-type'] ?? '';
      if (!/^application\/json\s*(;|$)/i.test(type)) {
        return reply.code(415).send({ error: 'Send this request with Content-Type: application/json.' });
      }
    });
    // A state-changing call without a body still declares JSON; treat the empty body as {}.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => {
      const text = (body as string).trim();
      if (text === '') return done(null, {});
      try {
        done(null, JSON.parse(text));
      } catch {
        const error = new Error('The request body is not valid JSON.') as Error & { statusCode: number };
        error.statusCode = 400;
        done(error, undefined);
      }
    });
  },
  { name: 'porthole-origin-guard' },
);
