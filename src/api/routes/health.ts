import type { Queue } from 'bullmq';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { STAGES } from '../../shared/pipelines.ts';
import { DELIVER_QUEUE } from '../../shared/queue-registry.ts';
import type { ApiDeps } from '../deps.ts';
import { json } from '../openapi-responses.ts';
import { defineRoute } from '../route.ts';

const healthSchema = z.strictObject({ status: z.literal('ok') }).meta({ id: 'Health' });
const readySchema = z
  .strictObject({
    status: z.enum(['ok', 'unavailable']),
    checks: z.strictObject({
      redis: z.enum(['ok', 'unavailable']),
      storage: z.enum(['ok', 'unavailable']),
      workers: z
        .record(z.enum([...STAGES, DELIVER_QUEUE]), z.number().int().nullable())
        .describe('Worker connections per queue, across every process (null: could not be read)'),
    }),
    without_workers: z.array(z.string()).optional(),
  })
  .meta({ id: 'Readiness' });

/** GET /healthz — the process is up. */
const healthz: RequestHandler = (_req, res) => {
  res.set('Cache-Control', 'no-store').json({ status: 'ok' });
};

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)),
  ]);

/**
 * GET /readyz — Redis and storage answer; 503 naming what does not. `workers` reports the worker
 * connections on each stage queue and the deliver queue, across every process (null: could not be read).
 * Workers may run elsewhere, so a queue without workers only makes the API not ready when
 * READY_REQUIRES_WORKERS=true.
 */
function readyz(deps: ApiDeps): RequestHandler {
  const queues: Array<[string, { getWorkersCount(): Promise<number> }]> = [
    ...STAGES.map((s) => [s, deps.queues.stages[s]] as [string, Queue]),
    [DELIVER_QUEUE, deps.queues.deliver],
  ];
  return async (_req, res) => {
    const [pings, counts] = await Promise.all([
      Promise.allSettled([within(deps.redis.ping(), 2000), within(deps.storage.ping(), 2000)]),
      Promise.allSettled(queues.map(([, q]) => within(q.getWorkersCount(), 2000))),
    ]);
    const [redis, storage] = pings.map((c) => (c.status === 'fulfilled' ? 'ok' : 'unavailable'));
    const workers = Object.fromEntries(
      queues.map(([name], i) => {
        const c = counts[i];
        return [name, c?.status === 'fulfilled' ? c.value : null];
      }),
    );
    const missing = Object.entries(workers)
      .filter(([, n]) => !n)
      .map(([name]) => name);
    const ok =
      redis === 'ok' && storage === 'ok' && (!deps.config.readyRequiresWorkers || missing.length === 0);
    res
      .status(ok ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({
        status: ok ? 'ok' : 'unavailable',
        checks: { redis, storage, workers },
        ...(missing.length > 0 ? { without_workers: missing } : {}),
      });
  };
}

export const liveness = defineRoute({
  operation: {
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    access: 'public',
    tags: ['operations'],
    summary: 'Liveness: the process is up',
    responses: { 200: { description: 'Up', content: json(healthSchema) } },
  },
  handlers: () => [healthz],
});

export const readiness = defineRoute({
  operation: {
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    access: 'public',
    tags: ['operations'],
    summary: 'Readiness: Redis and storage answer; worker connections per queue',
    description:
      'A queue without workers makes the API not ready only with READY_REQUIRES_WORKERS=true (workers may run elsewhere).',
    responses: {
      200: { description: 'Ready', content: json(readySchema) },
      503: { description: 'Not ready: the checks say what is missing', content: json(readySchema) },
    },
  },
  handlers: (deps) => [readyz(deps)],
});
