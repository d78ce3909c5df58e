/**
 * The voicemail inbox (/inbox) end to end in real headless Chromium, on the simulator: six files are
 * dropped at once (three recordings with speech, one silent, one too large, one not audio), each shows its upload and then its
 * stages; the four audio ones are listed with urgency, caller and number, the document shows why it was
 * refused; sorting, the urgency filter and search give the expected rows; an opened voicemail plays, its
 * highlighted transcript cue follows `currentTime`, a click on a cue seeks; the handled mark survives a
 * reload and shows in a second browser context; the CSV export holds the rows shown; a voicemail made
 * through the API appears by itself and is announced. Screenshots (kept
 * out of the repo): test-results/inbox.png, inbox-detail.png, inbox-phone.png, inbox-phone-detail.png.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltFile, buildWeb, DEFAULT_OUT_DIR } from '../../web/build.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';
import { CHROMIUM_PATH, HEADLESS_ARGS, hasChromium } from './browser.ts';

const RESULTS = resolve(import.meta.dirname, '../../test-results');
const SAMPLES = resolve(import.meta.dirname, '../../../shared/samples');
const run = promisify(execFile);

/** The few page objects the evaluate() callbacks touch (the root tsconfig has no DOM lib). */
interface Audio {
  currentTime: number;
  duration: number;
  paused: boolean;
  readyState: number;
  play(): Promise<void>;
  pause(): void;
}
interface Doc {
  getElementById(id: string): unknown;
  querySelector(s: string): { textContent: string | null; dataset: Record<string, string> } | null;
  documentElement: { scrollWidth: number };
  addEventListener(
    type: string,
    listener: (e: { violatedDirective: string; blockedURI: string }) => void,
  ): void;
}
interface PageWindow {
  document: Doc;
  atob(s: string): string;
  DataTransfer: new () => { items: { add(f: unknown): void } };
  File: new (bits: unknown[], name: string) => unknown;
  DragEvent: new (type: string, init: object) => unknown;
  MutationObserver: new (
    cb: (r: Array<{ target: unknown }>) => void,
  ) => { observe(t: unknown, o: object): void };
  __uploadLog: string[];
}

interface Row {
  urgency: string;
  caller: string;
  number: string;
  tel: string | null;
  summary: string;
  status: string;
}

describe.skipIf(!hasChromium)(
  'voicemail inbox in Chromium (needs /usr/bin/chromium, festival, ffmpeg)',
  () => {
    let stack: Stack | undefined;
    let browser: Browser | undefined;
    let dir = '';
    let built: BuiltFile[] = [];
    const files: string[] = [];
    const problems: string[] = [];

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'vb-inbox-'));
      const text =
        'Hello, this is John Baker. I need to cancel my appointment on Friday. Please call me back at five five five, three four one, nine eight seven six. Thank you.';
      await writeFile(join(dir, 'cancel.txt'), text);
      await writeFile(join(dir, 'notes.txt'), `Meeting notes\n${'Not a recording at all. '.repeat(80)}`);
      [built, stack] = await Promise.all([
        buildWeb(),
        // No model settings: the inbox asks for word times, so its uploads go to TRANSCRIBE_TIMESTAMPS_MODEL
        // (whisper-1) and the transcript follows the audio word by word.
        // An upload limit of 1 MB, so one more recording is refused as too large.
        startStack({ env: { MAX_UPLOAD_BYTES: '1000000' } }),
        run('text2wave', [
          '-eval',
          '(voice_cmu_us_slt_arctic_hts)',
          join(dir, 'cancel.txt'),
          '-o',
          join(dir, 'cancel.wav'),
        ]),
        run('ffmpeg', [
          '-v',
          'error',
          '-f',
          'lavfi',
          '-i',
          'anullsrc=r=16000:cl=mono',
          '-t',
          '4',
          join(dir, 'silence.wav'),
        ]),
        run('ffmpeg', [
          '-v',
          'error',
          '-f',
          'lavfi',
          '-i',
          'anullsrc=r=16000:cl=mono',
          '-t',
          '40',
          join(dir, 'too-big.wav'),
        ]),
      ]);
      files.push(
        join(SAMPLES, 'voicemail-short.wav'),
        join(SAMPLES, 'question.wav'),
        join(dir, 'cancel.wav'),
        join(dir, 'silence.wav'),
        join(dir, 'notes.txt'),
        join(dir, 'too-big.wav'),
      );
      browser = await chromium.launch({
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: [...HEADLESS_ARGS, '--autoplay-policy=no-user-gesture-required'],
      });
    });

    afterAll(async () => {
      await browser?.close();
      await stack?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('the inbox page is small and holds no inline script or style (the CSP forbids them)', async () => {
      const inbox = built.filter((f) => f.path.includes('inbox'));
      expect(inbox.map((f) => f.path)).toEqual(expect.arrayContaining(['/inbox.html']));
      expect(inbox.reduce((n, f) => n + f.gzipBytes, 0)).toBeLessThan(16_000);
      const html = await readFile(join(DEFAULT_OUT_DIR, 'inbox.html'), 'utf8');
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
      const res = await fetch(`${stack?.url}/inbox`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await res.text()).toContain('id="voicemails"');
    });

    it('drop → progress → list by urgency → listen with the words → handled everywhere → CSV', async () => {
      if (!stack || !browser) throw new Error('setup failed');
      const url = stack.url;
      const context = await browser.newContext({
        viewport: { width: 1280, height: 900 },
        acceptDownloads: true,
      });
      context.setDefaultTimeout(120_000); // page waits follow jobs that run real recognition
      const page = await context.newPage();
      watch(page, problems);
      try {
        await page.goto(`${url}/inbox`);
        await expect.poll(() => page.locator('#list-count').textContent()).toBe('No voicemails match.');
        expect(await page.getByRole('link', { name: 'Inbox' }).getAttribute('aria-current')).toBe('page');

        // ── Drop six files at once ──
        await logUploads(page);
        await drop(page, files);
        const upload = (name: string) => page.locator('.upload', { hasText: name });
        await expect.poll(() => upload('notes.txt').getAttribute('data-phase')).toBe('refused');
        expect(await upload('notes.txt').textContent()).toContain('Not an audio file');
        // Over the server's limit: the batch is refused, the page sets that file aside and sends the others again.
        await expect.poll(() => upload('too-big.wav').getAttribute('data-phase')).toBe('refused');
        expect(await upload('too-big.wav').textContent()).toContain(
          'Too large (1.3 MB): the server takes files up to 1.0 MB.',
        );
        const audio = files.slice(0, 4).map((f) => basename(f));
        // Real recognition of four files on a possibly busy machine: waited for as long as the page's upload
        // log keeps moving (every stage of every file is a line in it).
        await waitFor(
          async () => {
            for (const name of audio) {
              const ended = `.upload:has-text("${name}"):is([data-phase="done"], [data-phase="failed"])`;
              if ((await page.locator(ended).count()) === 0) return false;
            }
            return true;
          },
          {
            timeoutMs: 120_000,
            intervalMs: 250,
            progress: () => page.evaluate(() => (globalThis as unknown as PageWindow).__uploadLog.length),
            message: 'the four audio uploads to end (done or failed)',
          },
        );
        const log = await page.evaluate(() => (globalThis as unknown as PageWindow).__uploadLog);
        for (const name of audio) {
          const steps = log.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1));
          // Upload progress to 100 %, then the pipeline's stages in order.
          expect(steps, name).toContain('uploading 100');
          const at = (s: string) => steps.findIndex((x) => x.startsWith(s));
          expect(at('uploading'), name).toBeLessThan(at('transcribe'));
          if (name !== 'silence.wav') {
            expect(at('transcribe'), name).toBeLessThan(at('summarize'));
            expect(at('summarize'), name).toBeLessThan(at('done'));
          }
        }
        expect(await upload('voicemail-short.wav').textContent()).toContain('Maria Lopez, high urgency');
        expect(await upload('silence.wav').textContent()).toContain('No speech in this recording');
        expect(log.filter((l) => l.startsWith('notes.txt ')).some((l) => l.includes('uploading'))).toBe(
          false,
        );

        // ── The list: four rows, announced as they arrived, most urgent first ──
        await expect.poll(() => page.locator('#rows tr').count(), { timeout: 120_000 }).toBe(4);
        expect(await page.locator('#announce').textContent()).toMatch(/^New voicemail: /);
        const expected = {
          maria: { urgency: 'High', caller: 'Maria Lopez', number: '555-213-4478', tel: 'tel:5552134478' },
          john: { urgency: 'Normal', caller: 'John Baker', number: '555-341-9876', tel: 'tel:5553419876' },
          question: { urgency: 'Normal', caller: 'Unknown caller', number: '—', tel: null },
          // A blank recording succeeds with no_speech and a summary saying so (urgency low), no provider call.
          silence: { urgency: 'Low', caller: 'Unknown caller', number: '—', tel: null },
        };
        const checkSorted = async () => {
          const rows = await readRows(page);
          expect(rows[0]).toMatchObject(expected.maria);
          expect(
            rows
              .slice(1, 3)
              .map((r) => r.caller)
              .sort(),
          ).toEqual(['John Baker', 'Unknown caller']);
          expect(rows.find((r) => r.caller === 'John Baker')).toMatchObject(expected.john);
          expect(rows[1]?.urgency).toBe('Normal');
          expect(rows[2]?.urgency).toBe('Normal');
          expect(rows[3]).toMatchObject(expected.silence);
          expect(rows[3]?.status).toBe('Done');
          expect(rows[3]?.summary).toBe('No speech in this recording.');
          return rows;
        };
        await checkSorted();
        await page.reload();
        await expect.poll(() => page.locator('#rows tr').count()).toBe(4);
        const shown = await checkSorted();
        expect(await page.getByRole('table', { name: /Voicemails/ }).count()).toBe(1);

        // ── Filters and search ──
        await page.getByRole('combobox', { name: 'Urgency' }).selectOption('high');
        await expect.poll(async () => (await readRows(page)).map((r) => r.caller)).toEqual(['Maria Lopez']);
        await page.getByRole('combobox', { name: 'Urgency' }).selectOption('normal');
        await expect
          .poll(async () => (await readRows(page)).map((r) => r.caller).sort())
          .toEqual(['John Baker', 'Unknown caller']);
        await page.getByRole('combobox', { name: 'Urgency' }).selectOption('');
        await page.getByRole('searchbox', { name: 'Search' }).fill('341 9876');
        await expect.poll(async () => (await readRows(page)).map((r) => r.caller)).toEqual(['John Baker']);
        await page.getByRole('searchbox', { name: 'Search' }).fill('');
        await expect.poll(() => page.locator('#rows tr').count()).toBe(4);
        await mkdir(RESULTS, { recursive: true });
        await page.screenshot({ path: join(RESULTS, 'inbox.png'), fullPage: true });

        // ── Open Maria's voicemail with the keyboard; it plays, the highlighted cue follows the audio ──
        await page.getByRole('link', { name: 'Maria Lopez' }).focus();
        await page.keyboard.press('Enter');
        const dialog = page.getByRole('dialog', { name: 'Maria Lopez' });
        await dialog.waitFor();
        const cues = dialog.locator('#transcript button.cue');
        await expect.poll(() => cues.count()).toBeGreaterThan(1);
        // the cues are words (the upload asked for word times), one per word of the transcript
        expect(await dialog.locator('#transcript').getAttribute('data-unit')).toBe('word');
        expect(await cues.count()).toBeGreaterThan(20);
        expect(await dialog.locator('#transcript').textContent()).toMatch(/maria lopez/i);
        expect(await dialog.locator('#detail-intent').textContent()).toBe('book appointment');
        expect(await dialog.locator('#detail-actions li').allTextContents()).toContain(
          'Call back 555-213-4478',
        );
        expect(await dialog.locator('#downloads a').allTextContents()).toEqual([
          'Transcript (.txt)',
          'Subtitles (.srt)',
          'Subtitles (.vtt)',
          'Transcript with times (.json)',
        ]);
        // each download works: the .txt/.srt/.vtt are rendered by the API from transcript.json
        const links = dialog.locator('#downloads a');
        for (let i = 0; i < (await links.count()); i++) {
          const href = (await links.nth(i).getAttribute('href')) ?? '';
          const res = await fetch(new URL(href, stack?.url));
          expect(res.status, href).toBe(200);
          expect((await res.text()).length, href).toBeGreaterThan(20);
        }
        await page.waitForFunction(
          () =>
            ((globalThis as unknown as PageWindow).document.getElementById('player') as Audio).readyState >=
            1,
        );
        await page.evaluate(() =>
          ((globalThis as unknown as PageWindow).document.getElementById('player') as Audio).play(),
        );
        await page.waitForFunction(() => {
          const a = (globalThis as unknown as PageWindow).document.getElementById('player') as Audio;
          return !a.paused && a.currentTime > 0.3;
        });
        const duration = await page.evaluate(
          () => ((globalThis as unknown as PageWindow).document.getElementById('player') as Audio).duration,
        );
        expect(duration).toBeGreaterThan(15);
        const highlightedAt = async (t: number) => {
          await page.evaluate((time) => {
            const a = (globalThis as unknown as PageWindow).document.getElementById('player') as Audio;
            a.pause();
            a.currentTime = time;
          }, t);
          await page.waitForFunction((time) => {
            const c = (globalThis as unknown as PageWindow).document.querySelector(
              '#transcript [aria-current="true"]',
            );
            return c !== null && Number(c.dataset.start) <= time + 0.01;
          }, t);
          return page.evaluate(() => {
            const c = (globalThis as unknown as PageWindow).document.querySelector(
              '#transcript [aria-current="true"]',
            );
            return { start: Number(c?.dataset.start), text: c?.textContent ?? '' };
          });
        };
        const starts = await cues.evaluateAll((bs) =>
          bs.map((b) => Number((b as unknown as { dataset: { start: string } }).dataset.start)),
        );
        const early = await highlightedAt((starts[0] ?? 0) + 0.05);
        const late = await highlightedAt((starts.at(-1) ?? 0) + 0.05);
        expect(late.start).toBe(starts.at(-1));
        expect(early.start).toBe(starts[0]);
        expect(late.start).toBeGreaterThan(early.start);
        expect(late.text).not.toBe(early.text);
        expect(await cues.and(page.locator('[aria-current="true"]')).count()).toBe(1);

        // Clicking a cue seeks to its start (and plays from there).
        const target = cues.nth(Math.floor((await cues.count()) / 2));
        const start = Number(await target.getAttribute('data-start'));
        await target.click();
        const now = await page.evaluate(
          () =>
            ((globalThis as unknown as PageWindow).document.getElementById('player') as Audio).currentTime,
        );
        expect(now).toBeGreaterThanOrEqual(start - 0.01);
        expect(now).toBeLessThan(start + 1);
        expect(await target.getAttribute('aria-current')).toBe('true');
        await page.screenshot({ path: join(RESULTS, 'inbox-detail.png') });

        // ── Mark handled: shown at once, kept after a reload, seen by another browser ──
        await dialog.getByRole('button', { name: 'Mark handled' }).click();
        await dialog.getByRole('button', { name: 'Mark not handled' }).waitFor();
        expect(await dialog.locator('#handled-note').isVisible()).toBe(true);
        // Escape closes the voicemail; focus goes back to the row it was opened from.
        await page.keyboard.press('Escape');
        await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
        // (The dialog's close event, which moves the focus, comes a task after the dialog has closed.)
        const focused = () =>
          page.evaluate(
            () =>
              (globalThis as unknown as { document: { activeElement: { textContent: string } | null } })
                .document.activeElement?.textContent,
          );
        await expect.poll(focused).toBe('Maria Lopez');
        expect(new URL(page.url()).hash).toBe('');
        await expect
          .poll(() => page.locator('tr', { hasText: 'Maria Lopez' }).locator('.handled').count())
          .toBe(1);
        await page.reload();
        await expect
          .poll(() => page.locator('tr', { hasText: 'Maria Lopez' }).locator('.handled').count())
          .toBe(1);
        const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        other.setDefaultTimeout(120_000); // page waits follow jobs that run real recognition
        try {
          const page2 = await other.newPage();
          watch(page2, problems);
          await page2.goto(`${url}/inbox`);
          await expect
            .poll(() => page2.locator('tr', { hasText: 'Maria Lopez' }).locator('.handled').count())
            .toBe(1);
          await page2.getByRole('combobox', { name: 'Handled' }).selectOption('false');
          await expect.poll(() => page2.locator('#rows tr').count()).toBe(3);
          expect(await page2.locator('#rows').textContent()).not.toContain('Maria Lopez');
        } finally {
          await other.close();
        }

        // ── CSV of the filtered list: the rows shown, in order ──
        await page.getByRole('combobox', { name: 'Urgency' }).selectOption('normal');
        await expect.poll(() => page.locator('#rows tr').count()).toBe(2);
        const rowsShown = await readRows(page);
        const [download] = await Promise.all([
          page.waitForEvent('download'),
          page.getByRole('button', { name: 'Export CSV' }).click(),
        ]);
        const csv = parseCsv(await readFile((await download.path()) ?? '', 'utf8'));
        expect(csv[0]).toEqual(['caller', 'number', 'urgency', 'summary', 'received', 'handled', 'link']);
        expect(csv.slice(1).map((r) => [r[0] || 'Unknown caller', r[1] || '—', r[2]])).toEqual(
          rowsShown.map((r) => [r.caller, r.number, r.urgency.toLowerCase()]),
        );
        expect(csv.slice(1).every((r) => r[5] === 'no' && r[6]?.startsWith(`${url}/inbox#`))).toBe(true);
        await page.getByRole('combobox', { name: 'Urgency' }).selectOption('');
        await expect.poll(() => page.locator('#rows tr').count()).toBe(4);
        expect(shown).toHaveLength(4);

        // ── Phone width: nothing overflows sideways, controls stay large, the detail fits ──
        await page.setViewportSize({ width: 390, height: 844 });
        await page.reload();
        await expect.poll(() => page.locator('#rows tr').count()).toBe(4);
        expect(
          await page.evaluate(
            () => (globalThis as unknown as PageWindow).document.documentElement.scrollWidth,
          ),
        ).toBeLessThanOrEqual(390);
        expect(await smallTargets(page)).toEqual([]);
        await page.screenshot({ path: join(RESULTS, 'inbox-phone.png'), fullPage: true });
        await page.getByRole('link', { name: 'John Baker' }).click();
        await page.getByRole('dialog', { name: 'John Baker' }).waitFor();
        await expect.poll(() => page.locator('#transcript button.cue').count()).toBeGreaterThan(0);
        await page.screenshot({ path: join(RESULTS, 'inbox-phone-detail.png') });
        await page.keyboard.press('Escape');

        // ── A voicemail that arrives through the API (another client program) appears by itself, announced ──
        const created = await fetch(`${url}/v1/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            pipeline: 'voicemail',
            text: 'This is Ann Lee, it is urgent, my crown fell out. Please call me back at 555 010 2000.',
          }),
        });
        expect(created.status).toBe(202);
        await expect
          .poll(async () => (await readRows(page))[0]?.caller, { timeout: 120_000, interval: 500 })
          .toBe('Ann Lee');
        expect(await page.locator('#announce').textContent()).toBe('New voicemail: Ann Lee, high urgency.');
        expect(await page.locator('#rows tr').count()).toBe(5);

        // The one expected failure: the refused batch with the too-large file (Chromium logs every HTTP error).
        const expected413 = 'Failed to load resource: the server responded with a status of 413';
        expect(problems.filter((p) => !p.includes(expected413))).toEqual([]);
        expect(problems.filter((p) => p.includes(expected413))).toHaveLength(1);
      } catch (err) {
        await mkdir(RESULTS, { recursive: true });
        await page.screenshot({ path: join(RESULTS, 'inbox-failure.png'), fullPage: true }).catch(() => {});
        throw new Error(`${(err as Error).message}\n(problems: ${problems.join(' | ') || 'none'})`, {
          cause: err,
        });
      } finally {
        await context.close();
      }
    });
  },
);

/** Console errors, page errors and CSP violations, all of which should be none. */
function watch(page: Page, problems: string[]): void {
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  void page.addInitScript(() => {
    (globalThis as unknown as PageWindow).document.addEventListener('securitypolicyviolation', (e) =>
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`),
    );
  });
}

/** Every phase and progress value each upload goes through, as `<file> <phase> <progress>`. */
async function logUploads(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as unknown as PageWindow;
    w.__uploadLog = [];
    new w.MutationObserver((records) => {
      for (const r of records) {
        const li = r.target as {
          dataset: Record<string, string>;
          querySelector(s: string): { textContent: string };
        };
        const name = li.querySelector('.upload-name')?.textContent;
        if (!name || !li.dataset.phase) continue;
        const entry = `${name} ${li.dataset.phase} ${li.dataset.progress ?? ''}`.trim();
        if (w.__uploadLog.at(-1) !== entry) w.__uploadLog.push(entry);
      }
    }).observe(w.document.getElementById('uploads'), {
      subtree: true,
      attributes: true,
      attributeFilter: ['data-phase', 'data-progress'],
    });
  });
}

/** Drops files on the drop zone as a person dragging them from a file manager would. */
async function drop(page: Page, paths: string[]): Promise<void> {
  const payload = await Promise.all(
    paths.map(async (p) => ({ name: basename(p), base64: (await readFile(p)).toString('base64') })),
  );
  await page.evaluate((items) => {
    const w = globalThis as unknown as PageWindow;
    const dt = new w.DataTransfer();
    for (const { name, base64 } of items) {
      const bin = w.atob(base64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      dt.items.add(new w.File([bytes], name));
    }
    const zone = w.document.getElementById('drop') as { dispatchEvent(e: unknown): boolean };
    for (const type of ['dragenter', 'dragover', 'drop'])
      zone.dispatchEvent(new w.DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, payload);
}

async function readRows(page: Page): Promise<Row[]> {
  return page.locator('#rows tr').evaluateAll((trs) =>
    trs.map((tr) => {
      const el = tr as unknown as {
        querySelector(s: string): { textContent: string; getAttribute(a: string): string | null } | null;
      };
      const text = (s: string) => el.querySelector(s)?.textContent?.trim() ?? '';
      return {
        urgency: text('td.urgency'),
        caller: text('td.caller'),
        number: text('td.number'),
        tel: el.querySelector('td.number a')?.getAttribute('href') ?? null,
        summary: text('td.summary'),
        status: text('td.status'),
      };
    }),
  );
}

/** Visible controls smaller than 44 × 44 CSS px (transcript words are inline text, exempt). */
function smallTargets(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(
      (
        globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<unknown> } }
      ).document.querySelectorAll('button:not(.cue), input, select, summary, a[href]'),
    )
      .map(
        (x) =>
          x as {
            id: string;
            className: string;
            tagName: string;
            textContent: string;
            checkVisibility(): boolean;
            classList: { contains(c: string): boolean };
            getBoundingClientRect(): { width: number; height: number };
          },
      )
      .filter((el) => el.checkVisibility() && !el.classList.contains('skip-link'))
      .map((el) => ({ el, r: el.getBoundingClientRect() }))
      .filter(({ r }) => r.width < 44 || r.height < 44)
      .map(
        ({ el, r }) => `${el.id || el.className || el.tagName} "${el.textContent}" ${r.width}×${r.height}`,
      ),
  );
}

/** RFC 4180 CSV (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field.replace(/\r$/, ''));
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  return rows;
}
