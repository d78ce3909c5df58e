/**
 * What each transcription model can give, as OpenAI's API answers (the simulator answers the same way):
 * - `whisper-*`: `verbose_json` with segment times, and word times on request (`timestamp_granularities`);
 * - the gpt-4o transcribe models: text only (`json`), so a whole request is one segment and there are no words;
 * - the diarization model: `diarized_json`, segments with a speaker each, no words, no `prompt`.
 * Kept apart from the HTTP client (provider.ts) and the request planner (request-plan.ts), which both use it.
 */

/** Models that answer `verbose_json` with segment (and, asked for, word) timestamps. */
export const givesTimestamps = (model: string) => /^whisper/i.test(model);
