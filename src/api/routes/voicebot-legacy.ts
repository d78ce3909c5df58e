import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { Config } from '../../shared/config.ts';
import { HttpError, INPUT_ERROR_CODES } from '../../shared/errors.ts';
import { ACTIVE_STATUSES, isTerminal } from '../../shared/job-states.ts';
import { jobView } from '../../shared/job-view.ts';
import type { ApiDeps } from '../deps.ts';
import { cleanupOnError, parseSubmission, submitJob } from '../intake.ts';
import { linkBase } from '../link-base.ts';
import { json, problem } from '../openapi-responses.ts';
import { defineRoute, type Operation } from '../route.ts';
import { jobSubmission, SUBMIT_ERRORS } from '../submission-docs.ts';
import { waitForJob } from '../wait-for-job.ts';

const legacyResult = z
  .strictObject({ output_wav_url: z.url().nullable(), return_text: z.string() })
  .meta({ id: 'VoicebotResult' });
const legacyAccepted = z
  .strictObject({
    id: z.uuid(),
    status: z.enum(ACTIVE_STATUSES),
    status_url: z.string(),
    output_wav_url: z.null(),
    return_text: z.null(),
  })
  .meta({ id: 'VoicebotAccepted' });

/**
 * POST /api/voicebot/ — the original contract, kept exactly: multipart `audio` or form `text` in,
 * 200 `{output_wav_url, return_text}` out once the job is done. The work runs on the queue like any job;
 * this handler only waits (up to SYNC_WAIT_SECONDS), then answers 202 with the job's status URL.
 */
function voicebotLegacy(deps: ApiDeps): RequestHandler {
  return async (req, res) => {
    const { record } = await submitJob(deps, req);
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const done = await waitForJob(deps, record.id, deps.config.syncWaitMs, abort.signal);
    if (abort.signal.aborted && !res.writableEnded && res.destroyed) return;
    const view = await jobView(done ?? record, deps.storage, deps.config, linkBase(req, deps.config));
    if (view.status === 'succeeded') {
      res.json({ output_wav_url: view.audio_url, return_text: view.reply_text ?? '' });
      return;
    }
    if (isTerminal(view.status)) {
      const code = view.error?.code ?? view.status;
      throw new HttpError(
        INPUT_ERROR_CODES.has(code) ? 422 : 502,
        code,
        view.error?.message ?? `The job was ${view.status}.`,
        {
          extra: { job_id: view.id },
        },
      );
    }
    res
      .status(202)
      .location(`/v1/jobs/${view.id}`)
      .json({
        id: view.id,
        status: view.status,
        status_url: `/v1/jobs/${view.id}`,
        output_wav_url: null,
        return_text: null,
      });
  };
}

const legacy =
  (path: string, operationId: string, summary: string) =>
  (config: Config): Operation => ({
    method: 'post',
    path,
    operationId,
    access: 'client',
    tags: ['voicebot (synchronous)'],
    summary,
    description: `Answers once the job is done, or after SYNC_WAIT_SECONDS (${config.syncWaitMs / 1000} s) with 202 and the job's status URL.`,
    request: jobSubmission(config),
    errors: SUBMIT_ERRORS,
    responses: {
      200: { description: 'The spoken reply and its text', content: json(legacyResult) },
      202: { description: 'Still running: poll status_url', content: json(legacyAccepted) },
      422: problem('The input could not be processed (no speech, rejected by the provider, invalid audio)'),
      502: problem('The job failed for another reason'),
    },
  });

const handlers = (deps: ApiDeps) => [...parseSubmission(deps), voicebotLegacy(deps)];

export const withSlash = defineRoute({
  operation: legacy('/api/voicebot/', 'voicebot', 'The original synchronous contract: waits for the job'),
  handlers,
  onError: cleanupOnError,
});

export const withoutSlash = defineRoute({
  operation: legacy('/api/voicebot', 'voicebotWithoutSlash', 'Same as /api/voicebot/'),
  handlers,
  onError: cleanupOnError,
});
