/**
 * `channels: "split"`: a stereo call recording's channels are transcribed on their own (ffmpeg `pan`
 * picks one channel per transcode, see media.ts) and merged here onto one timeline in time order, each
 * segment and word tagged with its channel and label (`channel_labels`, else "channel 0", "channel 1").
 */
import type { Segment, TranscriptDoc, Word } from './transcript.ts';

export const channelLabel = (labels: string[], channel: number) => labels[channel] ?? `channel ${channel}`;

export function mergeChannels(docs: TranscriptDoc[], labels: string[]): TranscriptDoc {
  const segments: Segment[] = [];
  const words: Word[] = [];
  let anyWords = false;
  docs.forEach((doc, channel) => {
    const speaker = channelLabel(labels, channel);
    for (const s of doc.segments) segments.push({ ...s, speaker, channel });
    if (doc.words) {
      anyWords = true;
      for (const w of doc.words) words.push({ ...w, speaker, channel });
    }
  });
  const byTime = <T extends { start: number; end: number; channel?: number }>(a: T, b: T) =>
    a.start - b.start || a.end - b.end || (a.channel ?? 0) - (b.channel ?? 0);
  segments.sort(byTime);
  words.sort(byTime);
  const durations = docs.map((d) => d.duration).filter((d): d is number => d !== null);
  const merged: TranscriptDoc = {
    text:
      segments.length > 0
        ? segments.map((s) => s.text).join(' ')
        : docs
            .map((d) => d.text)
            .join(' ')
            .trim(),
    language: docs.find((d) => d.language)?.language ?? null,
    duration: durations.length > 0 ? Math.max(...durations) : null,
    segments,
  };
  if (anyWords) merged.words = words;
  return merged;
}
