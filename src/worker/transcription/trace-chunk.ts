import type { Job } from 'bullmq';
import { recordTraceparent, tracedProcessor } from '../../shared/tracing.ts';
import type { RunnerDeps } from '../stage-runner.ts';

type ChunkProcessor<J extends Job, R> = (job: J, token?: string, signal?: AbortSignal) => Promise<R>;

/** A chunk's run as one span of its job's trace (`chunk <index>/<count>`); unchanged while tracing is off. */
export function traceChunk<J extends Job<{ jobId: string; index: number; count: number }>, R>(
  deps: Pick<RunnerDeps, 'store'>,
  processor: ChunkProcessor<J, R>,
): ChunkProcessor<J, R> {
  return tracedProcessor(
    'transcribe chunk',
    'transcribe-chunk',
    recordTraceparent(deps.store),
    processor,
    (job) => ({
      'voicebot.job_id': job.data.jobId,
      'voicebot.stage': 'transcribe',
      'voicebot.chunk.index': job.data.index,
      'voicebot.chunk.count': job.data.count,
    }),
  );
}
