// Response headers that make the browser enforce what the server means: no framing, no
// sniffing, scripts only from this origin (WebAssembly too on the viewer page), HTTPS only.
import fp from 'fastify-plugin';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/**
 * The viewer page alone runs IronRDP (RDP): WebAssembly compilation ('wasm-unsafe-eval', not
 * 'unsafe-eval'), its WASM inlined as a data: URL that it fetches, and the inline styles of its
 * web component. It also plays the desktop's sound, which spice-html5 feeds to an <audio>
 * element through a MediaSource (a blob: URL). Every other page keeps the strict policy.
 */
export const VIEWER_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'")
  .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
  .replace("connect-src 'self'", "connect-src 'self' data:")
  .replace("font-src 'self'", "font-src 'self'; media-src 'self' blob:");

const VIEWER_PAGES = new Set(['/viewer.html', '/viewer']);

export const securityHeaders = fp(
  async (app) => {
    app.addHook('onSend', async (_request, reply) => {
      const path = _request.url.split('?', 1)[0]!;
      reply.header('Content-Security-Policy', VIEWER_PAGES.has(path) ? VIEWER_CONTENT_SECURITY_POLICY : CONTENT_SECURITY_POLICY);
      reply.header('Strict-Transport-Security', 'max-age=31536000');
      reply.header('X-Content-Type-Options', 'nosniff');
      reply.header('X-Frame-Options', 'DENY');
      reply.header('Referrer-Policy', 'no-referrer');
      reply.header('Cross-Origin-Opener-Policy', 'same-origin');
      reply.header('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
      if (_request.url.startsWith('/api/')) reply.header('Cache-Control', 'no-store');
    });
  },
  { name: 'porthole-security-headers' },
);
