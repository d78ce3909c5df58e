import { basename, join } from 'node:path';
import type { Command } from 'commander';
import type { JobView } from '../../../packages/sdk/src/client.ts';
import { clientFor, EXIT, type GlobalOptions, print } from '../context.ts';
import { openReadable } from '../files.ts';
import { saveResults } from '../results.ts';

interface SubmitOptions {
  text?: string;
  wait?: boolean;
  out?: string;
  pipeline?: string;
  voice?: string;
  webhookUrl?: string;
  language?: string;
  wordTimestamps?: boolean;
  diarize?: boolean;
  knownSpeakers?: string;
  channels?: string;
  channelLabels?: string;
  redact?: string | boolean;
  redactAudio?: boolean;
  keyterms?: string;
}

/** "a, b" → ["a", "b"] (the API takes lists as JSON arrays). */
const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((s) => s.trim()));

export function submitCommand(program: Command): void {
  program
    .command('submit')
    .description('submit audio files (one job each) or --text; --wait to wait for the results')
    .argument('[files...]', 'audio files (wav, mp3, m4a, ogg/opus, webm, flac, amr)')
    .option('--text <text>', 'submit text instead of audio')
    .option('--pipeline <name>', 'voicebot (default), transcribe, speak, voicemail')
    .option('--voice <voice>', 'TTS voice, e.g. nova')
    .option('--webhook-url <url>', 'called when each job ends')
    .option('--language <code>', 'the spoken language (ISO-639-1), a hint for transcription')
    .option('--word-timestamps', 'word-level times in transcript.json')
    .option('--diarize', 'speaker labels on segments and words')
    .option('--known-speakers <names>', 'with --diarize: names for the speakers in order of appearance')
    .option('--channels <mode>', '"split": transcribe a stereo recording’s channels on their own')
    .option('--channel-labels <labels>', 'with --channels split: e.g. agent,caller')
    .option('--redact [types]', 'redact personal data: every type, or e.g. phone_number,email')
    .option('--redact-audio', 'with --redact: store a copy of the audio with the redacted spans silenced')
    .option('--keyterms <terms>', 'comma-separated vocabulary for the transcription model (≤ 100)')
    .option('--wait', 'wait until the jobs end')
    .option('--out <dir>', 'with --wait: download each job’s results into <dir>/<job id>/')
    .action(async (files: string[], opts: SubmitOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (files.length === 0 && !opts.text) cmd.error('give audio files or --text', { exitCode: EXIT.usage });
      // Every file is checked before anything is submitted: a typo is a usage error (exit 2), not a failed job.
      const uploads: Array<{ file: Blob; filename: string }> = [];
      for (const f of files) {
        const file = await openReadable(f);
        if (!file) cmd.error(`no such file: ${f}`, { exitCode: EXIT.usage });
        uploads.push({ file, filename: basename(f) });
      }
      const client = clientFor(g);
      const options = {
        pipeline: opts.pipeline,
        voice: opts.voice,
        webhook_url: opts.webhookUrl,
        language: opts.language,
        word_timestamps: opts.wordTimestamps,
        diarize: opts.diarize,
        known_speakers: list(opts.knownSpeakers),
        channels: opts.channels,
        channel_labels: list(opts.channelLabels),
        redact: typeof opts.redact === 'string' ? list(opts.redact) : opts.redact,
        redact_audio: opts.redactAudio,
        keyterms: list(opts.keyterms),
      } as Parameters<typeof client.submit>[1];
      const jobs: JobView[] = [];
      if (opts.text) jobs.push(await client.submit({ text: opts.text }, options));
      for (const upload of uploads) jobs.push(await client.submit(upload, options));
      if (!opts.wait) {
        for (const j of jobs) print(g, j, `${j.id}  ${j.status}`);
        return;
      }
      let failed = 0;
      for (const j of jobs) {
        const done = await client.wait(j.id);
        if (done.status !== 'succeeded') failed++;
        const saved = opts.out ? await saveResults(done, join(opts.out, done.id)) : [];
        print(
          g,
          done,
          `${done.id}  ${done.status}  ${done.error?.message ?? done.reply_text ?? ''}${saved.length ? `  → ${join(opts.out ?? '', done.id)}` : ''}`,
        );
      }
      process.exitCode = failed > 0 ? EXIT.someFailed : EXIT.ok;
    });
}
