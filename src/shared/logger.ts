/**
 * Structured logs (pino JSON). Secrets are redacted by path; readable output in development with pino-pretty
 * when it is installed. Child loggers carry `req_id` / `job_id` so one job can be followed across processes.
 */
import { type Logger, pino } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'secret',
  '*.secret',
  'audio_url',
  '*.audio_url',
  'url',
];

export function createLogger(opts: { level: string; env: string; name?: string }): Logger {
  const pretty = opts.env === 'development' && process.stdout.isTTY;
  return pino({
    level: opts.level,
    name: opts.name,
    base: { pid: process.pid, proc: opts.name },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}
