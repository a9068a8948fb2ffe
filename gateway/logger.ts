// The service log (pino, JSON lines). Secrets never reach it: cookies, authorization headers,
// passwords and tokens are redacted wherever they appear, and URLs lose their query strings.
import { pino, type Logger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'porthole' },
      redact: {
        paths: [
          'req.headers.cookie',
          'req.headers.authorization',
          'res.headers["set-cookie"]',
          'password',
          '*.password',
          'token',
          '*.token',
        ],
        censor: '[redacted]',
      },
      serializers: {
        req: (req: { method?: string; url?: string; ip?: string }) => ({
          method: req.method,
          url: (req.url ?? '').split('?', 1)[0],
          ip: req.ip,
        }),
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}
