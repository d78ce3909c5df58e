/**
 * Generates the Kubernetes PrometheusRule (Prometheus Operator) from the alert rules, so both stay one:
 *
 *   node scripts/prometheus-rule.ts     # writes deploy/k8s/monitoring/prometheus-rule.yaml
 *
 * test/integration/alert-rules.test.ts fails when the written file is not what this would write.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

const ROOT = join(import.meta.dirname, '..');
export const ALERTS_FILE = join(ROOT, 'deploy/prometheus/alerts.yml');
export const RULE_FILE = join(ROOT, 'deploy/k8s/monitoring/prometheus-rule.yaml');

const HEADER = `# Generated from deploy/prometheus/alerts.yml by \`node scripts/prometheus-rule.ts\`: edit that file, then
# regenerate (a test fails while the two differ). Needs the Prometheus Operator's CRDs:
#   kubectl apply -f deploy/k8s/monitoring/prometheus-rule.yaml
# Your Prometheus selects rules by label (ruleSelector): adjust metadata.labels to match it.
`;

/** The PrometheusRule manifest for the alert rules in `alertsYaml`. */
export function prometheusRule(alertsYaml: string): string {
  const { groups } = parse(alertsYaml) as { groups: unknown[] };
  const manifest = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'voicebot-alerts',
      namespace: 'voicebot',
      labels: { 'app.kubernetes.io/part-of': 'voicebot', role: 'alert-rules' },
    },
    spec: { groups },
  };
  return HEADER + stringify(manifest, { lineWidth: 0 });
}

if (import.meta.main) {
  await writeFile(RULE_FILE, prometheusRule(await readFile(ALERTS_FILE, 'utf8')));
  console.log(`wrote ${RULE_FILE}`);
}
