/**
 * The alert rules (deploy/prometheus/alerts.yml): promtool checks them and runs their unit tests
 * (deploy/prometheus/alerts.test.yml); every alert has a summary, a severity and a runbook entry, a test that
 * fires it and one that stays quiet; the Kubernetes PrometheusRule is generated from the same file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALERTS_FILE, prometheusRule, RULE_FILE } from '../../scripts/prometheus-rule.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const TESTS_FILE = join(ROOT, 'deploy/prometheus/alerts.test.yml');

interface Rule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  name: string;
  alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }>;
}

const promtool = (() => {
  try {
    return execFileSync('which', ['promtool'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
})();
if (!promtool)
  console.warn(
    'alert-rules: promtool not found: `promtool check rules` / `test rules` SKIPPED (Debian: apt-get install prometheus; .ci/run installs it)',
  );

describe('alert rules', () => {
  let alertsText: string;
  let rules: Rule[];
  let tests: RuleTest[];
  let runbook: string;
  beforeAll(async () => {
    alertsText = await readFile(ALERTS_FILE, 'utf8');
    rules = (parse(alertsText) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
    tests = (parse(await readFile(TESTS_FILE, 'utf8')) as { tests: RuleTest[] }).tests;
    runbook = await readFile(join(ROOT, 'docs/runbook.md'), 'utf8');
  });

  it.skipIf(!promtool)('promtool check rules: the file is valid', () => {
    const run = spawnSync('promtool', ['check', 'rules', ALERTS_FILE], { encoding: 'utf8' });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it.skipIf(!promtool)('promtool test rules: every unit test passes', () => {
    const run = spawnSync('promtool', ['test', 'rules', TESTS_FILE], { encoding: 'utf8' });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('SUCCESS');
  });

  it('covers every alert the service needs', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(
      [
        'VoicebotClientCostBurnHigh',
        'VoicebotJobFailureRatioHigh',
        'VoicebotJobsLostToStalls',
        'VoicebotProviderRateLimited',
        'VoicebotProviderServerErrors',
        'VoicebotQueueBacklogOld',
        'VoicebotQueueNoWorkers',
        'VoicebotRedisUnreachable',
        'VoicebotRetentionBehind',
        'VoicebotStageStalled',
        'VoicebotWebhooksFailing',
      ].sort(),
    );
  });

  it('every alert has a summary, a severity and a runbook entry that exists', () => {
    for (const r of rules) {
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(['critical', 'warning'], r.alert).toContain(r.labels?.severity);
      const anchor = r.alert.toLowerCase();
      expect(r.annotations?.runbook_url, r.alert).toBe(`docs/runbook.md#${anchor}`);
      // a "### VoicebotX" heading is the anchor #voicebotx; each entry says what it means, how to confirm, what to do
      const entry = runbook.split(/^### /m).find((s) => s.startsWith(`${r.alert}\n`));
      expect(entry, `runbook entry for ${r.alert}`).toBeDefined();
      for (const part of ['**Means**', '**Confirm**', '**Do**'])
        expect(entry, `${r.alert}: ${part}`).toContain(part);
    }
  });

  it('every alert has a unit test that fires it and one that stays quiet', () => {
    for (const r of rules) {
      const cases = tests.flatMap((t) => (t.alert_rule_test ?? []).filter((c) => c.alertname === r.alert));
      expect(
        cases.some((c) => (c.exp_alerts ?? []).length > 0),
        `${r.alert} fires`,
      ).toBe(true);
      expect(
        cases.some((c) => (c.exp_alerts ?? []).length === 0),
        `${r.alert} stays quiet`,
      ).toBe(true);
    }
  });

  it('the Kubernetes PrometheusRule is generated from the same rules (node scripts/prometheus-rule.ts)', async () => {
    expect(await readFile(RULE_FILE, 'utf8')).toBe(prometheusRule(alertsText));
  });

  it('the compose Prometheus loads the rules', async () => {
    const config = parse(await readFile(join(ROOT, 'deploy/prometheus.yml'), 'utf8')) as {
      rule_files: string[];
    };
    expect(config.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
    const compose = await readFile(join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain('./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro');
  });
});
