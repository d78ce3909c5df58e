/**
 * A real provider outage, seen as an operator's Prometheus would see it: the chat provider answers 500 to
 * every request while jobs keep coming. The service's /metrics is scraped as the outage goes on (one scrape
 * per two jobs ended, not per unit of time), the scrapes become promtool input series (one scrape a minute in
 * promtool's time), and promtool evaluates the alert's own expressions on them: the oldest waiting job's age
 * rises, and VoicebotJobFailureRatioHigh (its expr and `for` from deploy/prometheus/alerts.yml) is quiet
 * while healthy and fires for provider_server_error during the outage.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ALERTS_FILE } from '../../scripts/prometheus-rule.ts';
import { postJob, waitForJob } from '../support/http.ts';
import { type Family, parsePrometheusText, sampleValue } from '../support/prometheus.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';

const HEALTHY_JOBS = 10;
const OUTAGE_JOBS = 60;
const JOBS_PER_SCRAPE = 2;
/** The series promtool is given: the failure ratio's counter and the chat queue's age. */
const KEPT = /^(voicebot_jobs_ended_total|voicebot_queue_oldest_waiting_seconds)$/;

const hasPromtool = (() => {
  try {
    execFileSync('which', ['promtool'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasPromtool)
  console.warn('outage-alerts: promtool not found: the outage test is SKIPPED (apt-get install prometheus)');

interface Scrape {
  text: string;
  families: Map<string, Family>;
}

const ended = (s: Scrape, status: string) => sampleValue(s.families, 'voicebot_jobs_ended_total', { status });
const chatAge = (s: Scrape) =>
  sampleValue(s.families, 'voicebot_queue_oldest_waiting_seconds', { queue: 'chat' });

/** promtool input series from the scrapes: one value per scrape (`_` where a series was absent). */
function inputSeries(scrapes: Scrape[]): Array<{ series: string; values: string }> {
  const series = new Map<string, Array<number | undefined>>();
  scrapes.forEach((s, i) => {
    for (const family of s.families.values()) {
      for (const sample of family.samples) {
        if (!KEPT.test(sample.name)) continue;
        const labels = Object.entries(sample.labels)
          .filter(([, v]) => v !== '')
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .sort()
          .join(',');
        const key = `${sample.name}{${labels}}`;
        const values = series.get(key) ?? new Array<number | undefined>(scrapes.length).fill(undefined);
        values[i] = sample.value;
        series.set(key, values);
      }
    }
  });
  return [...series].map(([key, values]) => ({
    series: key,
    values: values.map((v) => (v === undefined ? '_' : String(v))).join(' '),
  }));
}

describe.skipIf(!hasPromtool)('a provider outage on /metrics, evaluated by promtool', () => {
  let stack: Stack;
  let dir: string;
  const scrapes: Scrape[] = [];

  const scrapeNow = async (): Promise<Scrape> => {
    const res = await fetch(`${stack.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    return { text, families: parsePrometheusText(text) };
  };

  /** Scrapes until `done`, keeping a scrape each time JOBS_PER_SCRAPE more jobs ended with `status`. */
  const scrapeWhile = async (status: string, total: number, what: string) => {
    let last = scrapes.at(-1);
    await waitFor(
      async () => {
        const s = await scrapeNow();
        if (!last || ended(s, status) >= ended(last, status) + JOBS_PER_SCRAPE) {
          scrapes.push(s);
          last = s;
        }
        return ended(s, status) >= total;
      },
      { timeoutMs: 120_000, intervalMs: 100, message: what },
    );
  };

  beforeAll(async () => {
    stack = await startStack({
      simulator: { latencyMs: { chat: 50 } },
      env: { CHAT_CONCURRENCY: '1', STAGE_ATTEMPTS: '1' },
    });
    dir = await mkdtemp(join(tmpdir(), 'vb-outage-'));
  });
  afterAll(async () => {
    await stack?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the oldest waiting job ages and the failure ratio alert fires for provider_server_error', async () => {
    // Healthy: jobs succeed.
    scrapes.push(await scrapeNow());
    const healthy = await Promise.all(
      Array.from(
        { length: HEALTHY_JOBS },
        async (_, i) => (await postJob(stack.url, { text: `fine ${i}` })).body,
      ),
    );
    await scrapeWhile('succeeded', HEALTHY_JOBS, 'the healthy jobs to succeed');
    for (const j of healthy) expect((await waitForJob(stack.url, j.id)).status).toBe('succeeded');
    const healthyEnd = scrapes.length - 1;

    // The outage: every chat request answers 500; jobs keep coming.
    stack.sim.configure({
      // each 500 comes after 0.4 s (a gateway giving up): the outage lasts ~25 s, a backlog builds up
      failNext: Array.from({ length: OUTAGE_JOBS }, () => ({
        endpoint: 'chat' as const,
        status: 500,
        afterMs: 400,
      })),
    });
    await Promise.all(
      Array.from({ length: OUTAGE_JOBS }, (_, i) => postJob(stack.url, { text: `outage ${i}` })),
    );
    await scrapeWhile('failed', OUTAGE_JOBS, 'the outage jobs to fail');
    const last = scrapes.at(-1) as Scrape;
    expect(sampleValue(last.families, 'voicebot_jobs_ended_total', { code: 'provider_server_error' })).toBe(
      OUTAGE_JOBS,
    );

    // What the scrapes show, read directly: the chat queue's oldest job ages while the backlog lasts.
    expect(scrapes.length - healthyEnd, 'scrapes during the outage').toBeGreaterThanOrEqual(20);
    const mid = healthyEnd + 10;
    const ages = scrapes.map(chatAge);
    expect(ages[mid]).toBeGreaterThan(ages[mid - 5] ?? 0);
    console.info(
      `outage: ${scrapes.length} scrapes; chat oldest waiting (s) ${ages.map((a) => a.toFixed(1)).join(' ')}`,
    );

    // What promtool says on the same series.
    const alert = (
      parse(await readFile(ALERTS_FILE, 'utf8')) as {
        groups: Array<{ rules: Array<{ alert: string; expr: string; for: string; labels: object }> }>;
      }
    ).groups
      .flatMap((g) => g.rules)
      .find((r) => r.alert === 'VoicebotJobFailureRatioHigh');
    if (!alert) throw new Error('VoicebotJobFailureRatioHigh is not in alerts.yml');
    // The alert as written, without its annotations (their values depend on the run).
    const rules = {
      groups: [
        {
          name: 'outage',
          rules: [{ alert: alert.alert, expr: alert.expr, for: alert.for, labels: alert.labels }],
        },
      ],
    };
    await writeFile(join(dir, 'rules.yml'), stringify(rules));
    const ratio = `sum by (code) (rate(voicebot_jobs_ended_total{status="failed"}[15m])) / ignoring (code) group_left sum(rate(voicebot_jobs_ended_total[15m]))`;
    const age = (offset = '') => `max(voicebot_queue_oldest_waiting_seconds{queue="chat"}${offset})`;
    const end = scrapes.length - 1;
    const tests = {
      rule_files: ['rules.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          name: 'provider outage, from the scraped /metrics',
          interval: '1m',
          input_series: inputSeries(scrapes),
          alert_rule_test: [
            { eval_time: `${healthyEnd}m`, alertname: alert.alert, exp_alerts: [] },
            {
              eval_time: `${end}m`,
              alertname: alert.alert,
              exp_alerts: [{ exp_labels: { ...alert.labels, code: 'provider_server_error' } }],
            },
          ],
          promql_expr_test: [
            // healthy: no failure at all
            { expr: `${ratio} > bool 0`, eval_time: `${healthyEnd}m`, exp_samples: [] },
            // the outage: the failure ratio for provider_server_error above the alert's 5%
            {
              expr: `${ratio} > bool 0.05`,
              eval_time: `${end}m`,
              exp_samples: [{ labels: '{code="provider_server_error"}', value: 1 }],
            },
            // the chat queue's oldest job waits longer than 5 scrapes before
            {
              expr: `${age()} - ${age(' offset 5m')} > bool 0`,
              eval_time: `${mid}m`,
              exp_samples: [{ labels: '{}', value: 1 }],
            },
          ],
        },
      ],
    };
    await writeFile(join(dir, 'outage.test.yml'), stringify(tests));
    const run = spawnSync('promtool', ['test', 'rules', join(dir, 'outage.test.yml')], { encoding: 'utf8' });
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  });
});
