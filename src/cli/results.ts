import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobView } from '../../packages/sdk/src/client.ts';

/** File names the stored artifacts are written under. */
const ARTIFACT_FILES: Record<string, string> = {
  transcript_txt: 'transcript.txt',
  transcript_json: 'transcript.json',
  transcript_srt: 'transcript.srt',
  transcript_vtt: 'transcript.vtt',
  summary_json: 'summary.json',
  redacted_audio: 'redacted-audio.mp3',
};

/**
 * Writes a finished job's results into `dir`: job.json always; every stored artifact (transcript
 * txt/json/srt/vtt, summary, redacted audio), reply.txt and the spoken reply (downloaded from their
 * presigned URLs) when they exist.
 */
export async function saveResults(job: JobView, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written = ['job.json'];
  await writeFile(join(dir, 'job.json'), `${JSON.stringify(job, null, 2)}\n`);
  // every stored artifact, downloaded at once
  const saved = await Promise.all(
    Object.entries(job.artifacts ?? {}).map(async ([name, url]) => {
      if (!url) return undefined;
      const res = await fetch(url);
      if (!res.ok) return undefined;
      const file =
        ARTIFACT_FILES[name] ??
        `${name}.${new URL(url).pathname.split('.').pop()?.replace(/\W/g, '') || 'bin'}`;
      await writeFile(join(dir, file), Buffer.from(await res.arrayBuffer()));
      return file;
    }),
  );
  written.push(...saved.filter((f): f is string => f !== undefined));
  if (job.transcript && !written.includes('transcript.txt')) {
    await writeFile(join(dir, 'transcript.txt'), `${job.transcript}\n`);
    written.push('transcript.txt');
  }
  if (job.reply_text) {
    await writeFile(join(dir, 'reply.txt'), `${job.reply_text}\n`);
    written.push('reply.txt');
  }
  if (job.audio_url) {
    const res = await fetch(job.audio_url);
    if (res.ok) {
      const ext = new URL(job.audio_url).pathname.split('.').pop() ?? 'mp3';
      await writeFile(join(dir, `reply.${ext}`), Buffer.from(await res.arrayBuffer()));
      written.push(`reply.${ext}`);
    }
  }
  return written;
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
