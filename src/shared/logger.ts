/**
 * Structured logs (pino JSON). Secrets are redacted by path; readable output in development with pino-pretty
 * when it is installed. Child loggers carry `req_id` / `job_id` so one job can be followed across processes.
 */
import { type Logger, pino } from 'pino';
import { traceFields } from './tracing.ts';

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
  'output_wav_url',
  '*.output_wav_url',
  'webhook_secret',
  '*.webhook_secret',
  'key',
  '*.key',
  'token',
  '*.token',
  'url',
  // authorization headers and tokens wherever they are logged
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  'headers.cookie',
  '*.headers.cookie',
  'api_key',
  '*.api_key',
  'access_token',
  '*.access_token',
  'password',
  '*.password',
  // webhook signing secrets (the rotation list)
  'secrets',
  '*.secrets',
  // signed URLs and URLs that may carry credentials in their query
  '*.url',
  'artifacts',
  '*.artifacts',
  'source_url',
  '*.source_url',
  'webhook_url',
  '*.webhook_url',
];

export function createLogger(opts: { level: string; env: string; name?: string }): Logger {
  const pretty = opts.env === 'development' && process.stdout.isTTY;
  return pino({
    level: opts.level,
    name: opts.name,
    base: { pid: process.pid, proc: opts.name },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // trace_id / span_id of the active span (tracing on), so a log line leads to its trace
    mixin: traceFields,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}
