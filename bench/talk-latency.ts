/**
 * Talk latency as a person feels it, in real headless Chromium on the page the API serves, with the simulator
 * answering like the hosted models (latency profile `openai`; deterministic recognition and a tone voice, so the
 * machine's two cores go to the service, not to pocketsphinx). The fake microphone says
 * ../shared/samples/question.wav; every turn starts a new conversation, so every reply has the same length;
 * replies are shaped like a voice assistant's (`replyStyle: 'assistant'`: a short first sentence, ~55 words).
 * Per turn, from the stop press: transcript shown, first reply words shown, first reply audio playing, reply
 * played to its end — for the streamed reply and for the whole-stage path (`?stream=off`) in the same run, then
 * both again with a 500-voicemail batch of the same client submitted just before (topped up with another 500
 * whenever fewer than 250 of its jobs still wait, so every turn meets a backlog).
 *
 * Each turn's figures are appended to a JSONL file as soon as it ends (a crash loses nothing measured).
 *
 *   node bench/talk-latency.ts [--turns 20] [--batch-turns N] [--record-ms 5200] [--only streamed]
 *                              [--out bench/results/talk-latency.jsonl]
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { REAL_ENGINES } from '../src/simulator/types.ts';
import {
  assertPageServed,
  fakeMic,
  hasChromium,
  launchBrowser,
  recordWithKeyboard,
  type TurnTimings,
  turnTimings,
} from '../test/browser/browser.ts';
import { type Stack, startStack } from '../test/support/stack.ts';
import { buildWeb } from '../web/build.ts';
import { describeMachine } from './lib/machine.ts';

const SAMPLES = resolve(import.meta.dirname, '../../shared/samples');
const MIC_SOURCE = resolve(SAMPLES, 'question.wav');
const BATCH_AUDIO = resolve(SAMPLES, 'voicemail-short.webm');
const BATCH_SIZE = 500;
const TOP_UP_BELOW = 250;

interface Row {
  variant: string;
  turn: number;
  job: string | null;
  stopToTranscriptMs: number;
  stopToFirstWordsMs: number;
  stopToFirstAudioMs: number;
  stopToFinishedMs: number;
  /** batch jobs still queued when the turn was recorded (batch variants) */
  batchQueued: number | null;
}

const VARIANTS = [
  { name: 'streamed', stream: true, batch: false },
  { name: 'whole-stage', stream: false, batch: false },
  { name: 'streamed + 500-voicemail batch', stream: true, batch: true },
  { name: 'whole-stage + 500-voicemail batch', stream: false, batch: true },
];

const args = parseArgs({
  options: {
    turns: { type: 'string', default: '20' },
    /** turns of the batch variants (default: --turns) */
    'batch-turns': { type: 'string' },
    'record-ms': { type: 'string', default: '5200' },
    out: { type: 'string', default: 'bench/results/talk-latency.jsonl' },
    only: { type: 'string' },
  },
}).values;
const turns = Number(args.turns);
const batchTurns = Number(args['batch-turns'] ?? args.turns);
const recordMs = Number(args['record-ms']);
const out = resolve(args.out ?? 'bench/results/talk-latency.jsonl');

if (!hasChromium) throw new Error('needs Chromium at /usr/bin/chromium (or CHROMIUM_PATH)');
await mkdir(dirname(out), { recursive: true });
const write = (o: unknown) => appendFile(out, `${JSON.stringify(o)}\n`);
await write({ kind: 'run', machine: describeMachine(), turns, recordMs, started: new Date().toISOString() });

await buildWeb();
const [stack, mic] = await Promise.all([
  startStack({
    simulator: { latencyProfile: 'openai', replyStyle: 'assistant', disableTools: [...REAL_ENGINES] },
    env: { RATE_LIMIT_RPM: '0', MAX_BATCH_ITEMS: String(BATCH_SIZE) },
  }),
  fakeMic(MIC_SOURCE),
]);
const browser = await launchBrowser(mic.wav);
let lastBatch: string | undefined;

try {
  await assertPageServed(stack.url);
  for (const v of VARIANTS) {
    if (args.only && !v.name.startsWith(args.only)) continue;
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${stack.url}/${v.stream ? '' : '?stream=off'}`);
    await page.waitForSelector('#record[data-state="idle"]');
    // One warm-up turn per page, then the measured ones.
    const n = v.batch ? batchTurns : turns;
    for (let turn = 0; turn <= n; turn++) {
      const batchQueued = v.batch ? await keepBatchRunning(stack) : null;
      const t = await oneTurn(page);
      if (turn === 0) continue;
      const at = (mark: number | undefined) => Math.round((mark ?? Number.NaN) - t.stopped);
      const row: Row = {
        variant: v.name,
        turn,
        job: t.jobId,
        stopToTranscriptMs: at(t.events['stage.completed:transcribe']),
        stopToFirstWordsMs: at(v.stream ? t.events['reply.delta'] : t.events['stage.completed:chat']),
        stopToFirstAudioMs: at(t.playing),
        stopToFinishedMs: at(t.finished),
        batchQueued,
      };
      await write({ kind: 'turn', ...row });
      process.stderr.write(`${v.name} ${turn}/${n}: ${JSON.stringify(row)}\n`);
    }
    await page.close();
  }
  await write({ kind: 'end', at: new Date().toISOString() });
  console.log(summarize(await readFile(out, 'utf8')));
} finally {
  await browser.close();
  await stack.close();
  await mic.cleanup();
}

/** One spoken turn in a new conversation, to the end of its playback; the page's marks for it. */
async function oneTurn(page: Page): Promise<TurnTimings> {
  await page.locator('#new-conversation').click();
  const before = (await turnTimings(page)).length;
  await recordWithKeyboard(page, recordMs);
  await page.waitForFunction(
    (n) => {
      const t = (globalThis as unknown as { __voicebotTimings: TurnTimings[] }).__voicebotTimings[n];
      return t?.finished !== undefined || t?.autoplayBlocked === true;
    },
    before,
    { timeout: 300_000 },
  );
  await page.waitForSelector('#record[data-state="idle"]');
  const t = (await turnTimings(page))[before];
  if (!t || t.autoplayBlocked) throw new Error('the turn did not play (autoplay refused?)');
  return t;
}

/** Submits a 500-voicemail batch when fewer than 250 of the last one's jobs wait; returns how many wait. */
async function keepBatchRunning(s: Stack): Promise<number> {
  let queued = 0;
  if (lastBatch) {
    const batch = (await (await fetch(`${s.url}/v1/batches/${lastBatch}`)).json()) as {
      counts: { queued: number };
    };
    queued = batch.counts.queued;
  }
  if (queued >= TOP_UP_BELOW) return queued;
  const audio = new Uint8Array(await readFile(BATCH_AUDIO));
  const form = new FormData();
  form.append('pipeline', 'voicemail');
  for (let i = 0; i < BATCH_SIZE; i++)
    form.append('audio', new Blob([audio], { type: 'audio/webm' }), `voicemail-${i}.webm`);
  const res = await fetch(`${s.url}/v1/batches`, { method: 'POST', body: form });
  if (res.status !== 202) throw new Error(`batch refused: ${res.status} ${await res.text()}`);
  lastBatch = ((await res.json()) as { id: string }).id;
  return queued + BATCH_SIZE;
}

/** p50 / p90 / max per variant and figure, from the JSONL file (the last run in it). */
export function summarize(jsonl: string): string {
  const lines = jsonl
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const lastRun = lines.map((l) => l.kind).lastIndexOf('run');
  const rows = lines.slice(lastRun).filter((l) => l.kind === 'turn') as unknown as Row[];
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
  };
  const figures: Array<[string, keyof Row]> = [
    ['stop → transcript shown', 'stopToTranscriptMs'],
    ['stop → first reply words', 'stopToFirstWordsMs'],
    ['stop → first reply audio playing', 'stopToFirstAudioMs'],
    ['stop → reply finished', 'stopToFinishedMs'],
  ];
  const outLines = [
    '| path | turns | figure | p50 ms | p90 ms | max ms |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const v of VARIANTS) {
    const mine = rows.filter((r) => r.variant === v.name);
    if (mine.length === 0) continue;
    for (const [label, key] of figures) {
      const xs = mine.map((r) => r[key] as number);
      outLines.push(
        `| ${v.name} | ${mine.length} | ${label} | ${pct(xs, 50)} | ${pct(xs, 90)} | ${Math.max(...xs)} |`,
      );
    }
  }
  return outLines.join('\n');
}
