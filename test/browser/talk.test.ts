/**
 * End to end in real headless Chromium: the page served by the API at `/` records a spoken question from a
 * fake microphone, shows each stage as it runs, plays the spoken reply, and carries the conversation into
 * a second (typed) turn; a failed job and a refused autoplay are shown. Screenshots in test-results/:
 * talk.png (desktop), talk-phone.png (390 × 844), talk-recording.png, talk-autoplay-refused.png.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyPieces } from '../../src/worker/stages/reply-sentences.ts';
import { type BuiltFile, buildWeb, DEFAULT_OUT_DIR } from '../../web/build.ts';
import { type Stack, startStack } from '../support/stack.ts';
import {
  assertPageServed,
  type FakeMic,
  fakeMic,
  hasChromium,
  launchBrowser,
  recordWithKeyboard,
  turnTimings,
} from './browser.ts';
import type { PageAudio, PageElement, PageGlobals } from './page-types.ts';

const RESULTS = resolve(import.meta.dirname, '../../test-results');

interface Job {
  id: string;
  conversation_id: string | null;
}

describe.skipIf(!hasChromium)('browser page (needs /usr/bin/chromium)', () => {
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  let mic: FakeMic | undefined;
  let built: BuiltFile[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    built = await buildWeb();
    [stack, mic] = await Promise.all([startStack(), fakeMic()]);
    browser = await launchBrowser(mic.wav);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await mic?.cleanup();
  });

  it('the build is small, and holds no inline script or style (the CSP forbids them)', async () => {
    const talkPage = built.filter((f) => !f.path.includes('inbox'));
    const gzipBytes = talkPage.reduce((sum, f) => sum + f.gzipBytes, 0);
    expect(gzipBytes, JSON.stringify(built)).toBeLessThan(20_000);
    const html = await readFile(join(DEFAULT_OUT_DIR, 'index.html'), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).toMatch(/<script type="module" src="\/assets\/app-[A-Z0-9]+\.js">/);
  });

  it('records a question, shows every stage, plays the reply, and remembers it in the next turn', async () => {
    if (!stack || !browser) throw new Error('setup failed');
    const url = stack.url;
    await assertPageServed(url);
    await inPage(browser, 'talk', (page) => talk(page, url, problems));
  });

  it('streams the reply: words shown before the job ends, spoken pieces played in order without gaps, once', async () => {
    if (!stack || !browser) throw new Error('setup failed');
    const s = stack;
    await assertPageServed(s.url);
    s.sim.configure({ latencyProfile: 'openai' });
    try {
      await inPage(browser, 'streamed', (page) => streamed(page, s.url));
    } finally {
      s.sim.configure({ latencyProfile: 'none' });
    }
  });

  it('shows a failed job, and a Play button when the browser refuses to autoplay', async () => {
    if (!stack || !browser) throw new Error('setup failed');
    const s = stack;
    await assertPageServed(s.url);
    await inPage(browser, 'failure', (page) => failureAndBlockedAutoplay(page, s));
  });

  /** Runs `steps` in a fresh tab; on failure, saves a screenshot and says what the page showed. */
  async function inPage(b: Browser, name: string, steps: (page: Page) => Promise<void>): Promise<void> {
    problems.length = 0;
    const context = await b.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(120_000); // page waits follow jobs that run real recognition
    const page = await context.newPage();
    watchForProblems(page, problems);
    try {
      await steps(page);
    } catch (err) {
      const shot = join(RESULTS, `${name}-failure.png`);
      await mkdir(RESULTS, { recursive: true });
      await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
      const shown = await page
        .evaluate(() => {
          const { document } = globalThis as unknown as PageGlobals;
          const text = (id: string) => document.getElementById(id)?.textContent;
          return `status: ${text('status')}; alert: ${text('alert')}`;
        })
        .catch(() => '');
      throw new Error(
        `${(err as Error).message}\n(page ${shown}; problems: ${problems.join(' | ') || 'none'}; screenshot ${shot})`,
        { cause: err },
      );
    } finally {
      await context.close();
    }
  }
});

async function failureAndBlockedAutoplay(page: Page, stack: Stack): Promise<void> {
  // The browser refuses to autoplay: play() of a reply works only inside a click on the Play button.
  await page.addInitScript(() => {
    const g = globalThis as unknown as PageGlobals & {
      HTMLMediaElement: { prototype: { play(this: PageAudio): Promise<void> } };
      DOMException: new (message: string, name: string) => Error;
    };
    let inPlayClick = false;
    g.document.addEventListener(
      'click',
      (e) => {
        inPlayClick = (e.target as PageElement | null)?.id === 'play';
        setTimeout(() => {
          inPlayClick = false;
        });
      },
      true,
    );
    const play = g.HTMLMediaElement.prototype.play;
    g.HTMLMediaElement.prototype.play = function (this: PageAudio) {
      if (this.src.includes('/files/') && !inPlayClick)
        return Promise.reject(new g.DOMException('play() needs a user gesture', 'NotAllowedError'));
      return play.call(this);
    };
  });
  await page.goto(`${stack.url}/`);
  await expect.poll(() => page.locator('#status').textContent()).toContain('Ready');

  // A job that fails: the turn says why, an alert is raised, the controls are usable again.
  stack.sim.configure({ failNext: [{ endpoint: 'chat', status: 400, message: 'simulated refusal' }] });
  await page.getByLabel('Or type a message').fill('Hello');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForSelector('.turn:nth-child(1)[data-status="failed"]', { timeout: 120_000 });
  expect(await page.locator('.turn .msg.bot .text').textContent()).toMatch(/^Failed: /);
  expect(await page.getByRole('alert').textContent()).toMatch(/did not work/);
  expect(await page.locator('[data-stage="chat"]').getAttribute('data-state')).toBe('failed');
  expect(await page.locator('#record').getAttribute('aria-disabled')).toBe('false');

  // Autoplay refused: a visible Play button appears, and pressing it plays the reply.
  await page.getByLabel('Or type a message').fill('Hello again');
  await page.keyboard.press('Enter');
  await finishedTurn(page, 2);
  const play = page.getByRole('button', { name: 'Play reply', exact: true }).and(page.locator('#play'));
  await play.waitFor({ timeout: 120_000 });
  expect(await page.locator('#status').textContent()).toContain('Play reply');
  await mkdir(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, 'talk-autoplay-refused.png') });
  await play.click();
  await page.waitForFunction(() => (globalThis as unknown as PageGlobals).__voicebotTimings[1]?.playing);
  expect(await play.isHidden()).toBe(true);
  const [, t2] = await turnTimings(page);
  expect(t2?.autoplayBlocked).toBe(true);
  expect(t2?.playing).toBeGreaterThan(0);
}

const SAID =
  'First I would like to know the time. Then tell me the weather please. And last of all the news.';

async function streamed(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/`);
  await expect.poll(() => page.locator('#status').textContent()).toContain('Ready');
  await page.getByLabel('Or type a message').fill(SAID);
  await page.keyboard.press('Enter');
  // The reply's words are on the page while the job still runs.
  await page.waitForFunction(() => {
    const { document } = globalThis as unknown as PageGlobals;
    const running = document.querySelectorAll('.turn[data-status="running"] .msg.bot .text')[0];
    return (running?.textContent ?? '').includes('You said');
  });
  const turn = await finishedTurn(page, 1);
  const reply = (await turn.locator('.msg.bot .text').textContent()) ?? '';
  expect(reply).toBe(`You said: "${SAID}". (turn 1)`);
  await page.waitForFunction(() => (globalThis as unknown as PageGlobals).__voicebotTimings[0]?.finished);
  const [t] = await turnTimings(page);
  if (!t) throw new Error('no timings');
  expect(t.events['reply.delta']).toBeLessThan(t.events['job.succeeded'] ?? 0);
  // Every piece played once, in order, each starting within 250 ms of the previous one's end.
  const pieces = replyPieces(reply);
  expect(t.pieces?.length).toBe(pieces.length);
  const gaps: number[] = [];
  t.pieces?.forEach((p, i) => {
    expect(p.playing, `piece ${i} played`).toBeGreaterThan(0);
    expect(p.ended, `piece ${i} ended`).toBeGreaterThanOrEqual(p.playing ?? Infinity);
    const before = t.pieces?.[i - 1]?.ended;
    if (before !== undefined) gaps.push((p.playing ?? 0) - before);
  });
  expect(
    gaps.every((g) => g >= 0 && g <= 250),
    `gaps ${gaps.join(', ')} ms`,
  ).toBe(true);
  // The whole reply was heard from the pieces: the page did not also play reply.mp3.
  expect(t.audioRequested).toBeUndefined();
  expect(t.playing).toBeGreaterThanOrEqual(t.pieces?.[0]?.playing ?? Infinity);
}

async function talk(page: Page, url: string, problems: string[]): Promise<void> {
  // The whole-stage path (reply.mp3 in the page's player once the job ends); the streamed reply: streamed().
  await page.goto(`${url}/?stream=off`);
  await expect.poll(() => page.locator('#status').textContent()).toContain('Ready');
  await installStageLog(page);

  // ── Turn 1: spoken, with the keyboard only (Space starts, Enter stops and sends) ──
  await recordWithKeyboard(page, 5200, async () => {
    await page.waitForTimeout(2000);
    await mkdir(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'talk-recording.png') });
  });
  const turn1 = await finishedTurn(page, 1);
  const heard = (await turn1.locator('.msg.you .text').textContent()) ?? '';
  expect(heard.toLowerCase()).toContain('opening');
  expect(await turn1.locator('.msg.bot .text').textContent()).toContain('You said');

  // Each stage was shown running, then done, in order.
  const log = await stageLog(page);
  for (const stage of ['upload', 'transcribe', 'chat', 'speak'])
    expect(log, `stage ${stage}`).toEqual(expect.arrayContaining([`${stage}:running`, `${stage}:done`]));
  const firstRun = (s: string) => log.indexOf(`${s}:running`);
  expect(firstRun('transcribe')).toBeLessThan(firstRun('chat'));
  expect(firstRun('chat')).toBeLessThan(firstRun('speak'));

  // The reply plays by itself (or behind the visible Play button if autoplay is refused).
  await playReply(page);
  const audio = await audioState(page);
  expect(audio.readyState).toBeGreaterThanOrEqual(2);
  expect(audio.duration).toBeGreaterThan(0);
  expect(audio.fetchStatus).toBe(200);
  expect(audio.contentType).toBe('audio/mpeg');
  const [t1] = await turnTimings(page);
  expect(t1?.playing).toBeGreaterThan(t1?.stopped ?? Infinity);

  // ── Turn 2: typed; the chat stage got turn 1 as context ──
  await page.getByLabel('Or type a message').fill('What did I ask you before?');
  await page.keyboard.press('Enter');
  const turn2 = await finishedTurn(page, 2);
  const reply2 = (await turn2.locator('.msg.bot .text').textContent()) ?? '';
  expect(reply2).toContain('Earlier you said');
  expect(reply2.toLowerCase()).toContain('opening');
  expect(await page.locator('[data-stage="transcribe"]').getAttribute('data-state')).toBe('skipped');
  await playReply(page);

  // Both jobs belong to the tab's one conversation.
  const timings = await turnTimings(page);
  const jobs = await Promise.all(
    timings.map(async (t) => (await (await fetch(`${url}/v1/jobs/${t.jobId}`)).json()) as Job),
  );
  const conversationId = await page.evaluate(() => {
    const { sessionStorage } = globalThis as unknown as PageGlobals;
    return (JSON.parse(sessionStorage.getItem('voicebot.conversation') ?? '{}') as { id?: string }).id;
  });
  expect(jobs.map((j) => j.conversation_id)).toEqual([conversationId, conversationId]);

  // Each turn can be replayed.
  await turn1.getByRole('button', { name: /Play reply/ }).click();
  await expect.poll(() => page.locator('#player').getAttribute('data-job-id')).toBe(jobs[0]?.id);

  // Accessible names, live regions, touch targets.
  await expect.poll(() => page.getByRole('button', { name: 'Start recording' }).count()).toBe(1);
  expect(await page.getByRole('status').count()).toBe(1);
  expect(await page.getByRole('log').count()).toBe(1);
  await page.getByText('Settings').click();
  await page.getByLabel('API key').waitFor();
  expect(await smallTargets(page)).toEqual([]);
  await page.getByLabel('API key').press('Escape');
  await expect.poll(() => page.locator('#settings').getAttribute('open')).toBeNull();

  await mkdir(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, 'talk.png'), fullPage: true });

  // Phone width: nothing overflows sideways, targets stay large; the conversation survives a reload.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await expect.poll(() => page.locator('.turn').count()).toBe(2);
  const pageWidth = await page.evaluate(
    () => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth,
  );
  expect(pageWidth).toBeLessThanOrEqual(390);
  expect(await smallTargets(page)).toEqual([]);
  await page.screenshot({ path: join(RESULTS, 'talk-phone.png'), fullPage: true });

  expect(problems).toEqual([]);
}

/** Waits for the n-th turn (1-based) to end; a failed turn fails at once with the error the page shows. */
async function finishedTurn(page: Page, n: number): Promise<Locator> {
  const turn = page.locator('.turn').nth(n - 1);
  await page.waitForSelector(`.turn:nth-child(${n}):is([data-status="succeeded"], [data-status="failed"])`, {
    timeout: 120_000,
  });
  if ((await turn.getAttribute('data-status')) !== 'succeeded')
    throw new Error(`turn ${n} failed: ${await turn.locator('.msg.bot .text').textContent()}`);
  return turn;
}

/** Console errors, page errors and CSP violations, all of which should be none. */
function watchForProblems(page: Page, problems: string[]): void {
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  void page.addInitScript(() => {
    (globalThis as unknown as PageGlobals).document.addEventListener('securitypolicyviolation', (e) =>
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`),
    );
  });
}

/** Records every data-state the progress steps go through, as `stage:state`. */
async function installStageLog(page: Page): Promise<void> {
  await page.evaluate(() => {
    const page = globalThis as unknown as PageGlobals;
    const log: string[] = [];
    page.__stageLog = log;
    const stages = page.document.getElementById('stages');
    if (!stages) throw new Error('#stages missing');
    new page.MutationObserver((records) => {
      for (const r of records) {
        const li = r.target as PageElement;
        log.push(`${li.dataset.stage}:${li.dataset.state}`);
      }
    }).observe(stages, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  });
}

function stageLog(page: Page): Promise<string[]> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).__stageLog);
}

/** Waits for the reply to play, pressing the visible Play button if the browser refused autoplay. */
async function playReply(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const { document } = globalThis as unknown as PageGlobals;
      const audio = document.getElementById('player') as PageAudio;
      const button = document.getElementById('play') as PageElement;
      return (audio.src.includes('/files/') && !audio.paused) || !button.hidden;
    },
    undefined,
    { timeout: 120_000 },
  );
  if (await page.locator('#play').isVisible()) await page.locator('#play').click();
  await page.waitForFunction(() => {
    const audio = (globalThis as unknown as PageGlobals).document.getElementById('player') as PageAudio;
    return audio.readyState >= 2 && audio.duration > 0;
  });
}

function audioState(page: Page) {
  return page.evaluate(async () => {
    const audio = (globalThis as unknown as PageGlobals).document.getElementById('player') as PageAudio;
    const res = await fetch(audio.currentSrc);
    await res.arrayBuffer();
    return {
      readyState: audio.readyState,
      duration: audio.duration,
      fetchStatus: res.status,
      contentType: res.headers.get('content-type'),
    };
  });
}

/** Visible controls smaller than 44 × 44 CSS px. */
function smallTargets(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(
      (globalThis as unknown as PageGlobals).document.querySelectorAll('button, input, summary, a[href]'),
    )
      .filter((el) => el.checkVisibility() && !el.classList.contains('skip-link'))
      .map((el) => ({ el, r: el.getBoundingClientRect() }))
      .filter(({ r }) => r.width < 44 || r.height < 44)
      .map(({ el, r }) => `${el.id || el.className || el.tagName} ${r.width}×${r.height}`),
  );
}
