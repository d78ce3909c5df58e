/**
 * What the transcript options add once a transcript exists, before it is stored: known speaker names,
 * redaction (src/worker/transcription/redact.ts); and, from the stored document, the job's fields
 * (speakers, redactions, warnings, no_speech) and the voicemail summary of a blank recording.
 */
import type { JobRecord } from '../../shared/job-record.ts';
import type { VoicemailSummary } from '../../shared/summary.ts';
import type { Speaker, TranscriptOptions } from '../../shared/transcript-options.ts';
import type { StageContext } from '../stages/stage.ts';
import { type Entities, findEntities, redactText } from './redact.ts';
import { redactDoc } from './redact-doc.ts';
import type { TranscriptDoc } from './transcript.ts';

/** Names for diarized speakers (in order of first appearance), then redaction. */
export async function finishDoc(
  ctx: StageContext,
  doc: TranscriptDoc,
  options: TranscriptOptions | null,
): Promise<TranscriptDoc> {
  if (!options) return doc;
  let out = doc;
  if (options.diarize && options.known_speakers.length > 0) out = nameSpeakers(out, options.known_speakers);
  if (options.redact.length > 0 && !out.no_speech) {
    const types = new Set(options.redact);
    let entities: Entities | undefined;
    if ((types.has('person_name') || types.has('address')) && out.text.trim() !== '') {
      // The model sees the text with the patterned data already taken out.
      const patterned = new Set([...types].filter((t) => t !== 'person_name' && t !== 'address'));
      entities = await findEntities(ctx.providers.chat, redactText(out.text, patterned), ctx.signal);
    }
    const { doc: redacted, redactions } = redactDoc(out, types, entities);
    out = { ...redacted, redactions };
  }
  return out;
}

function nameSpeakers(doc: TranscriptDoc, names: string[]): TranscriptDoc {
  const order: string[] = [];
  for (const s of doc.segments) if (s.speaker && !order.includes(s.speaker)) order.push(s.speaker);
  const rename = (label: string | undefined) => {
    if (label === undefined) return undefined;
    const k = order.indexOf(label);
    return names[k] ?? label;
  };
  const out: TranscriptDoc = {
    ...doc,
    segments: doc.segments.map((s) => (s.speaker ? { ...s, speaker: rename(s.speaker) } : s)),
  };
  if (doc.words) out.words = doc.words.map((w) => (w.speaker ? { ...w, speaker: rename(w.speaker) } : w));
  return out;
}

/** Each speaker (diarized or a split channel's label) with their talk time, in order of first appearance. */
export function speakersOf(doc: TranscriptDoc): Speaker[] | null {
  const talk = new Map<string, number>();
  for (const s of doc.segments)
    if (s.speaker) talk.set(s.speaker, (talk.get(s.speaker) ?? 0) + Math.max(0, s.end - s.start));
  if (talk.size === 0) return null;
  return [...talk].map(([label, seconds]) => ({ label, talk_seconds: Math.round(seconds * 10) / 10 }));
}

export const NO_SPEECH_SUMMARY: VoicemailSummary = {
  summary: 'The recording holds no speech: the caller said nothing (silence or a hang-up).',
  caller_name: null,
  callback_number: null,
  urgency: 'low',
  intent: 'no message',
  action_items: [],
};

/**
 * What redaction could not do as precisely as asked: with `redact_audio`, a value the words could not place
 * was silenced with its whole segment (or the whole recording). One sentence per kind.
 */
export function redactionWarnings(doc: TranscriptDoc, options: TranscriptOptions | null): string[] {
  if (!options?.redact_audio || !doc.redactions) return [];
  const warnings: string[] = [];
  const bySegment = doc.redactions.filter((r) => r.located === 'segment');
  if (doc.words && bySegment.length > 0)
    warnings.push(
      `redact_audio: ${bySegment.length} redacted value(s) (${[...new Set(bySegment.map((r) => r.type))].join(', ')}) could not be placed on the word times; the whole segment holding each was silenced.`,
    );
  const whole = doc.redactions.filter((r) => r.located === 'recording');
  if (whole.length > 0)
    warnings.push(
      `redact_audio: ${whole.length} redacted value(s) could not be placed on the recording's timeline; the whole recording was silenced.`,
    );
  return warnings;
}

/** The record fields the options produce (null when the job asked for none). */
export function optionFields(
  record: JobRecord,
  doc: TranscriptDoc,
  honoured: TranscriptOptions | null,
  warnings: string[],
): Pick<JobRecord, 'transcript_options' | 'warnings' | 'speakers' | 'redactions' | 'no_speech'> {
  const all = [...warnings, ...redactionWarnings(doc, honoured)];
  return {
    transcript_options: honoured ?? record.transcript_options,
    warnings: all.length > 0 ? all : null,
    speakers: speakersOf(doc),
    redactions: doc.redactions ?? null,
    no_speech: doc.no_speech === true ? true : null,
  };
}
