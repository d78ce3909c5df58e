import { describe, expect, it } from 'vitest';
import { fromHash, type JobRecord, toHash } from '../../src/shared/job-record.ts';
import { acceptsInput, firstStage, nextStage, STAGES } from '../../src/shared/pipelines.ts';
import { chunkJobId, runOf, stageJobId } from '../../src/shared/queue-registry.ts';

describe('pipelines', () => {
  it('voice runs transcribe → chat → speak; text starts at chat', () => {
    expect(firstStage('voicebot', 'audio')).toBe('transcribe');
    expect(firstStage('voicebot', 'text')).toBe('chat');
    expect(nextStage('voicebot', 'transcribe')).toBe('chat');
    expect(nextStage('voicebot', 'chat')).toBe('speak');
    expect(nextStage('voicebot', 'speak')).toBeUndefined();
  });

  it('knows which inputs each pipeline takes', () => {
    expect(acceptsInput('transcribe', 'text')).toBe(false);
    expect(acceptsInput('speak', 'audio')).toBe(false);
    expect(firstStage('speak', 'text')).toBe('speak');
  });

  it('derives one BullMQ id per job and stage (a repeated hand-off is a no-op)', () => {
    expect(stageJobId('abc', 'chat')).toBe('abc_chat');
    // One id per (job, stage): every stage of a job has its own, and no two jobs share one.
    const ids = ['abc', 'abd'].flatMap((job) => STAGES.map((stage) => stageJobId(job, stage)));
    expect(new Set(ids).size).toBe(2 * STAGES.length);
    // BullMQ refuses custom ids with ':' and reads an all-digit id as its own counter.
    for (const id of ids) expect(id).not.toMatch(/:|^\d+$/);
  });

  it('gives a retried job’s later runs their own stage and chunk ids (the first run’s are unchanged)', () => {
    expect(stageJobId('abc', 'chat', 1)).toBe('abc_chat');
    expect(stageJobId('abc', 'chat', 2)).toBe('abc_chat_r2');
    expect(chunkJobId('abc', 3)).toBe('abc_chunk_3');
    expect(chunkJobId('abc', 3, 2)).toBe('abc_chunk_3_r2');
    expect(runOf({ retries: null })).toBe(1);
    expect(runOf({ retries: 2 })).toBe(3);
  });
});

describe('job record hash', () => {
  it('round-trips through Redis hash fields, nulls absent', () => {
    const record: JobRecord = {
      id: '5b0c1d7e-1f1e-4c1a-9a43-0d6f2b0f0a11',
      client_id: 'public',
      req_id: 'req-1',
      trace_parent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      batch_id: null,
      mode: 'interactive',
      stream_reply: true,
      retries: 2,
      priority: 3,
      status: 'failed',
      stage: 'chat',
      pipeline: 'voicebot',
      input_kind: 'audio',
      input_type: 'audio/wav',
      input_bytes: 1234,
      source_url: null,
      voice: null,
      instructions: null,
      metadata: { caller: 'x', n: 1 },
      webhook_url: null,
      webhook: null,
      conversation_id: 'c1',
      transcript: 'hi',
      reply_text: null,
      audio_key: null,
      language_hint: 'en',
      language: 'en',
      duration_seconds: 3599.5,
      artifacts: ['transcript_txt', 'summary_json'],
      summary: {
        summary: 'Maria called.',
        caller_name: 'Maria Lopez',
        callback_number: null,
        urgency: 'normal',
        intent: 'callback request',
        action_items: [],
      },
      transcript_options: {
        word_timestamps: true,
        diarize: false,
        known_speakers: [],
        channels: 'split',
        channel_labels: ['agent', 'caller'],
        redact: ['phone_number'],
        redact_audio: false,
        keyterms: ['Riverside'],
      },
      transcription_model: { model: 'whisper-1', reason: 'word_timestamps' },
      warnings: ['keyterms were ignored'],
      speakers: [{ label: 'agent', talk_seconds: 12.5 }],
      redactions: [{ type: 'phone_number', start: 1.5, end: 3 }],
      no_speech: false,
      handled_at: '2026-01-01T00:05:00.000Z',
      error: { code: 'provider_rejected', message: 'm', stage: 'chat', attempts: 1 },
      provider: 'simulator',
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:00:00.000Z',
      finished_at: null,
      deleted_at: null,
    };
    const hash = toHash(record);
    expect(hash).not.toHaveProperty('voice');
    expect(fromHash(hash)).toEqual(record);
  });
});
