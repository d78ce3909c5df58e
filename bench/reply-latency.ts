/**
 * Reply latency as a person feels it: from the end of recording (the stop press) to the spoken reply
 * starting to play, measured in real headless Chromium on the page the API serves, with the simulator at
 * zero latency. The page marks the moments with performance.now() in `window.__voicebotTimings`; the fake
 * microphone says test/fixtures/question.wav. One conversation: every run is one more turn, so no run's
 * reply repeats an earlier one (the simulator caches repeated speech requests).
 *
 *   node bench/reply-latency.ts [--runs 5] [--record-ms 5200] [--json]
 */
import { parseArgs } from 'node:util';
import {
  assertPageServed,
  fakeMic,
  hasChromium,
  launchBrowser,
  recordWithKeyboard,
  type TurnTimings,
  turnTimings,
} from '../test/browser/browser.ts';
import { startStack } from '../test/support/stack.ts';
import { buildWeb } from '../web/build.ts';

export interface Segment {
  name: string;
  ms: number[];
  p50: number;
  max: number;
}

export interface ReplyLatencyResult {
  runs: number;
  recordMs: number;
  /** stopped → playing, the figure for BENCHMARKS.md. */
  total: Segment;
  segments: Segment[];
  autoplayBlocked: number;
  simulatorCacheHits: { transcriptions: number; speech: number };
}

const median = (xs: number[]) => percentile(xs, 50);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

function segment(
  name: string,
  timings: TurnTimings[],
  from: (t: TurnTimings) => number | undefined,
  to: (t: TurnTimings) => number | undefined,
): Segment {
  const ms = timings.map((t) => {
    const a = from(t);
    const b = to(t);
    if (a === undefined || b === undefined)
      throw new Error(`run of job ${t.jobId} lacks a mark for "${name}"`);
    return Math.round(b - a);
  });
  return { name, ms, p50: median(ms), max: Math.max(...ms) };
}

export async function runReplyLatency(runs = 5, recordMs = 5200): Promise<ReplyLatencyResult> {
  if (!hasChromium) throw new Error('needs Chromium at /usr/bin/chromium (or CHROMIUM_PATH)');
  await buildWeb();
  const [stack, mic] = await Promise.all([startStack({ simulator: { latencyMs: 0 } }), fakeMic()]);
  const browser = await launchBrowser(mic.wav).catch(async (err) => {
    await Promise.all([stack.close(), mic.cleanup()]);
    throw err;
  });
  try {
    await assertPageServed(stack.url);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${stack.url}/`);
    await page.waitForSelector('#record[data-state="idle"]');
    // One warm-up turn (first use of the recognizer, lazy imports), then the measured runs.
    for (let i = 0; i <= runs; i++) {
      await recordWithKeyboard(page, recordMs);
      await page.waitForSelector(
        `.turn:nth-child(${i + 1}):is([data-status="succeeded"], [data-status="failed"])`,
        {
          timeout: 60_000,
        },
      );
      const status = await page.locator('.turn').nth(i).getAttribute('data-status');
      if (status !== 'succeeded') throw new Error(`run ${i}: the turn ${status}`);
      await page.waitForFunction(
        (n) => {
          const t = (globalThis as unknown as { __voicebotTimings: TurnTimings[] }).__voicebotTimings[n];
          return t?.playing !== undefined || t?.autoplayBlocked === true;
        },
        i,
        { timeout: 20_000 },
      );
      if (await page.locator('#play').isVisible()) await page.locator('#play').click();
      await page.waitForFunction(
        (n) =>
          (globalThis as unknown as { __voicebotTimings: TurnTimings[] }).__voicebotTimings[n]?.playing !==
          undefined,
        i,
      );
      await page.waitForSelector('#record[data-state="idle"]');
      process.stderr.write(i === 0 ? 'warm-up done\n' : `run ${i}/${runs} done\n`);
    }
    const measured = (await turnTimings(page)).slice(1);
    const ev = (type: string) => (t: TurnTimings) => t.events[type];
    const result: ReplyLatencyResult = {
      runs,
      recordMs,
      total: segment(
        'recording stopped → reply playing',
        measured,
        (t) => t.stopped,
        (t) => t.playing,
      ),
      segments: [
        segment(
          'stopped → upload starts (recording finalized)',
          measured,
          (t) => t.stopped,
          (t) => t.submitted,
        ),
        segment(
          'upload → 202 accepted',
          measured,
          (t) => t.submitted,
          (t) => t.accepted,
        ),
        segment('accepted → transcribe done', measured, (t) => t.accepted, ev('stage.completed:transcribe')),
        segment(
          'transcribe done → chat done',
          measured,
          ev('stage.completed:transcribe'),
          ev('stage.completed:chat'),
        ),
        segment('chat done → speak done', measured, ev('stage.completed:chat'), ev('stage.completed:speak')),
        segment(
          'speak done → job.succeeded event',
          measured,
          ev('stage.completed:speak'),
          ev('job.succeeded'),
        ),
        segment(
          'job.succeeded → playing (GET job, fetch + decode audio)',
          measured,
          ev('job.succeeded'),
          (t) => t.playing,
        ),
      ],
      autoplayBlocked: measured.filter((t) => t.autoplayBlocked).length,
      simulatorCacheHits: stack.sim.stats().cacheHits,
    };
    return result;
  } finally {
    await browser.close();
    await stack.close();
    await mic.cleanup();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      'record-ms': { type: 'string', default: '5200' },
      json: { type: 'boolean', default: false },
    },
  });
  const r = await runReplyLatency(Number(values.runs), Number(values['record-ms']));
  if (values.json) console.log(JSON.stringify(r, null, 2));
  else {
    console.log(
      `reply latency in Chromium, simulator at 0 ms, ${r.runs} runs of ${r.recordMs} ms recordings`,
    );
    for (const s of [r.total, ...r.segments])
      console.log(
        `${s.name.padEnd(58)} p50 ${String(s.p50).padStart(5)} ms   max ${String(s.max).padStart(5)} ms   [${s.ms.join(', ')}]`,
      );
    console.log(
      `autoplay refused: ${r.autoplayBlocked} of ${r.runs}; simulator cache hits: ${JSON.stringify(r.simulatorCacheHits)}`,
    );
  }
}
