import type { z } from 'zod';
import { HttpError } from '../shared/errors.ts';

/** Parses with a zod schema; on failure a 400 naming every bad field. Callers use the parsed value only. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what = 'request'): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const errors = r.error.issues.map((i) => ({ field: i.path.join('.') || null, message: i.message }));
  const summary = errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
  throw new HttpError(400, 'validation_failed', `Invalid ${what}: ${summary}`, { extra: { errors } });
}
