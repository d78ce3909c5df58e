import type { RequestHandler } from 'express';
import { HttpError, INPUT_ERROR_CODES } from '../../shared/errors.ts';
import { isTerminal } from '../../shared/job-states.ts';
import { jobView } from '../../shared/job-view.ts';
import type { ApiDeps } from '../deps.ts';
import { submitJob } from '../intake.ts';
import { linkBase } from '../link-base.ts';
import { waitForJob } from '../wait-for-job.ts';

/**
 * POST /api/voicebot/ — the original contract, kept exactly: multipart `audio` or form `text` in,
 * 200 `{output_wav_url, return_text}` out once the job is done. The work runs on the queue like any job;
 * this handler only waits (up to SYNC_WAIT_SECONDS), then answers 202 with the job's status URL.
 */
export function voicebotLegacy(deps: ApiDeps): RequestHandler {
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
