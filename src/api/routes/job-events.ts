import type { RequestHandler } from 'express';
import { z } from 'zod';
import { type JobEvent, readJobEvents } from '../../shared/events.ts';
import { isTerminal, TERMINAL_EVENTS } from '../../shared/job-states.ts';
import type { ApiDeps } from '../deps.ts';
import { loadJob } from '../load-job.ts';
import { defineRoute } from '../route.ts';
import { jobIdParams } from '../submission-docs.ts';

const KEEPALIVE_MS = 15_000;
const TERMINAL_GRACE_MS = 1_000;

/**
 * GET /v1/jobs/:id/events — Server-Sent Events: every event of the job in order (replayed from the start,
 * or after `Last-Event-ID`), then live ones until the terminal event (of the job's last run, once retried). Works whichever process runs the job:
 * events come from Redis streams through the process's one shared reader.
 */
function jobEvents(deps: ApiDeps): RequestHandler {
  const { hub, redis, config } = deps;
  return async (req, res) => {
    const record = await loadJob(deps, req);
    const after = String(req.get('last-event-id') ?? req.query.last_event_id ?? '-');
    const lastEventId = /^\d+-\d+$/.test(after) ? after : '-';
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    let last = lastEventId;
    let closed = false;
    const pending: JobEvent[] = [];
    let replaying = true;
    // `ends`: false for a replayed terminal event of a run that was retried since (the stream goes on).
    const send = (e: JobEvent, ends = true) => {
      if (closed || (last !== '-' && compareIds(e.id, last) <= 0)) return;
      last = e.id;
      res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ type: e.type, ...e.data })}\n\n`);
      if (ends && TERMINAL_EVENTS.has(e.type)) finish();
    };
    const unsubscribe = await hub.subscribe(record.id, (e) => (replaying ? pending.push(e) : send(e)));
    const keepalive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
    const finish = () => {
      if (closed) return;
      closed = true;
      clearInterval(keepalive);
      unsubscribe();
      res.end();
    };
    req.on('close', finish);
    const replayed = await readJobEvents(redis, config.prefix, record.id, lastEventId);
    const resumedAt = replayed.findLastIndex((e) => e.type === 'job.retried');
    for (const [i, e] of replayed.entries()) send(e, i > resumedAt);
    replaying = false;
    for (const e of pending.splice(0)) send(e);
    // The record turns terminal a moment before its terminal event is published: give the live event a
    // moment to arrive. A job whose events expired still ends the stream, with its status and error.
    if (!closed && isTerminal(record.status) && lastEventId === '-') {
      await new Promise((r) => setTimeout(r, TERMINAL_GRACE_MS));
      if (closed) return;
      const current = (await deps.store.get(record.id)) ?? record;
      send({
        id: `${Date.now()}-0`,
        jobId: record.id,
        type: `job.${current.status}` as JobEvent['type'],
        data: {
          job_id: record.id,
          status: current.status,
          ...(current.error ? { error: current.error } : {}),
        },
      });
    }
  };
}

function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

export const route = defineRoute({
  operation: {
    method: 'get',
    path: '/v1/jobs/:id/events',
    operationId: 'getJobEvents',
    access: 'client',
    tags: ['jobs'],
    summary: 'Live Server-Sent Events of a job (replayed from the start or after Last-Event-ID)',
    description:
      'Events: job.queued, stage.started, stage.completed, stage.retrying, then job.succeeded / job.failed / job.canceled (and job.retried when an ended job is retried). A job with stream_reply also sends reply.delta {seq, text} (the reply as it is written) and speech.segment {index, text, url, url_expires_at, content_type} (each sentence once spoken, in order; a retried stage may announce an index again). EventSource cannot send headers: pass the API key as `access_token`.',
    request: {
      params: jobIdParams,
      query: z.object({ access_token: z.string().optional(), last_event_id: z.string().optional() }),
      headers: z.object({ 'last-event-id': z.string().optional() }),
    },
    errors: [404],
    responses: {
      200: { description: 'An event stream', content: { 'text/event-stream': { schema: z.string() } } },
    },
  },
  handlers: (deps) => [jobEvents(deps)],
});
