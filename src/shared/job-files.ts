/**
 * The files a job stores: the storage key of each (under `jobs/<id>/`) and the names under which some of them are
 * exposed as artifacts.
 */

/** Storage keys of a job: each stage writes its output under a deterministic key (its checkpoint). */
export const keys = {
  prefix: (jobId: string) => `jobs/${jobId}/`,
  input: (jobId: string) => `jobs/${jobId}/input`,
  transcript: (jobId: string) => `jobs/${jobId}/transcript.txt`,
  reply: (jobId: string) => `jobs/${jobId}/reply.txt`,
  speech: (jobId: string, ext: string) => `jobs/${jobId}/reply.${ext}`,
  transcriptJson: (jobId: string) => `jobs/${jobId}/transcript.json`,
  transcriptSrt: (jobId: string) => `jobs/${jobId}/transcript.srt`,
  transcriptVtt: (jobId: string) => `jobs/${jobId}/transcript.vtt`,
  summary: (jobId: string) => `jobs/${jobId}/summary.json`,
  /** a streamed reply: sentence i spoken (the hash of its text in the name: a retry that words it otherwise pays anew) */
  speechSegment: (jobId: string, index: number, textHash: string, ext: string) =>
    `jobs/${jobId}/speech/${index}-${textHash}.${ext}`,
  /** `redact_audio`: the input with every redacted span silenced (MP3; the input itself is then deleted) */
  redactedAudio: (jobId: string) => `jobs/${jobId}/redacted-audio.mp3`,
  /** long audio: the chunk plan, each chunk's audio and each chunk's transcript (a retry skips done chunks) */
  chunks: (jobId: string) => `jobs/${jobId}/chunks/`,
  chunkPlan: (jobId: string) => `jobs/${jobId}/chunks/plan.json`,
  chunkAudio: (jobId: string, i: number, ext: string) => `jobs/${jobId}/chunks/${i}.${ext}`,
  chunkTranscript: (jobId: string, i: number) => `jobs/${jobId}/chunks/${i}.json`,
};

/** Stored files a job exposes as presigned URLs (`artifacts` on the job), by name. */
export const ARTIFACTS = {
  transcript_txt: keys.transcript,
  transcript_json: keys.transcriptJson,
  transcript_srt: keys.transcriptSrt,
  transcript_vtt: keys.transcriptVtt,
  summary_json: keys.summary,
  redacted_audio: keys.redactedAudio,
} as const;
export type ArtifactName = keyof typeof ARTIFACTS;
export const ARTIFACT_NAMES = Object.keys(ARTIFACTS) as [ArtifactName, ...ArtifactName[]];
