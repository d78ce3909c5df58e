import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import multer from 'multer';
import { HttpError, isRedisUnavailable, StorageError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';

/**
 * The one place that decides what a client sees when something goes wrong: RFC 9457 problem+json with a
 * code and a message a person can act on. Never a stack trace; 5xx only for faults that are ours.
 */
export function sendProblem(res: Response, err: HttpError): void {
  if (res.headersSent) return;
  res
    .status(err.status)
    .set(err.headers)
    .type('application/problem+json')
    .json({
      type: 'about:blank',
      title: titleFor(err.status),
      status: err.status,
      code: err.code,
      detail: err.message,
      request_id: res.getHeader('x-request-id'),
      ...err.extra,
    });
}

const MULTER_MESSAGES: Record<string, [number, string, string]> = {
  LIMIT_FILE_SIZE: [413, 'payload_too_large', 'The audio file is larger than the limit of {limit} bytes.'],
  LIMIT_FILE_COUNT: [400, 'too_many_files', 'Send one audio file per job (use /v1/batches for many).'],
  LIMIT_UNEXPECTED_FILE: [
    400,
    'unexpected_file',
    'Unexpected file field "{field}": send the audio in the field "audio".',
  ],
  LIMIT_FIELD_COUNT: [400, 'too_many_fields', 'Too many form fields.'],
  LIMIT_FIELD_VALUE: [400, 'field_too_large', 'A form field ("{field}") is too large.'],
  LIMIT_FIELD_KEY: [400, 'field_name_too_long', 'A form field name is too long.'],
  LIMIT_PART_COUNT: [400, 'too_many_parts', 'Too many parts in the multipart body.'],
};

/** Maps any thrown error onto an HttpError. */
export function toHttpError(err: unknown, limits: { uploadBytes: number }): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof multer.MulterError) {
    const [status, code, message] = MULTER_MESSAGES[err.code] ?? [
      400,
      'bad_multipart',
      'Malformed multipart body.',
    ];
    return new HttpError(
      status,
      code,
      message.replace('{limit}', String(limits.uploadBytes)).replace('{field}', err.field ?? ''),
    );
  }
  const e = err as { type?: string; status?: number; message?: string; name?: string; code?: string };
  if (e?.type === 'entity.parse.failed')
    return new HttpError(400, 'invalid_json', 'The request body is not valid JSON.');
  if (e?.type === 'entity.too.large')
    return new HttpError(413, 'payload_too_large', 'The request body is too large.');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
    return new HttpError(415, 'unsupported_encoding', 'Unsupported body encoding or charset.');
  if (
    typeof e?.message === 'string' &&
    /^(Multipart|Unexpected end of form|Malformed part header)/i.test(e.message)
  )
    return new HttpError(400, 'bad_multipart', `Malformed multipart body: ${e.message}.`);
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500)
    return new HttpError(e.status, 'bad_request', e.message ?? 'Bad request.');
  if (err instanceof StorageError)
    return new HttpError(503, 'storage_unavailable', 'The file store is unavailable; try again shortly.', {
      cause: err,
      headers: { 'Retry-After': '5' },
    });
  if (isRedisUnavailable(err))
    return new HttpError(503, 'unavailable', 'The job queue is unavailable; try again shortly.', {
      cause: err,
      headers: { 'Retry-After': '5' },
    });
  return new HttpError(500, 'internal', 'Something went wrong on our side; it has been logged.', {
    cause: err,
  });
}

export function problemHandler(log: Logger, limits: { uploadBytes: number }): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpErr = toHttpError(err, limits);
    const reqLog = (req as { log?: Logger }).log ?? log;
    if (httpErr.status >= 500)
      reqLog.error({ err: httpErr.cause ?? err, code: httpErr.code }, 'request failed');
    else reqLog.info({ code: httpErr.code, status: httpErr.status }, 'request refused');
    sendProblem(res, httpErr);
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) =>
  next(new HttpError(404, 'not_found', `No route for ${req.method} ${req.path}.`));

function titleFor(status: number): string {
  const titles: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    409: 'Conflict',
    413: 'Content Too Large',
    415: 'Unsupported Media Type',
    422: 'Unprocessable Content',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
  };
  return titles[status] ?? 'Error';
}
