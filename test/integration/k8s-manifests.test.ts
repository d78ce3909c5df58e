/**
 * deploy/k8s, checked structurally (no kubeconform / kubectl / cluster here): every file parses, kinds and
 * API versions are the expected ones, the Deployments have probes, resources and a grace period longer than
 * SHUTDOWN_TIMEOUT_MS, every stage has its worker Deployment and its KEDA ScaledObject on that stage's queue,
 * and every environment variable the manifests set is one the service reads (and the ConfigMap loads).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../src/shared/config.ts';
import { STAGES } from '../../src/shared/pipelines.ts';

const DIR = join(import.meta.dirname, '..', '..', 'deploy', 'k8s');

// biome-ignore lint/suspicious/noExplicitAny: manifests are arbitrary YAML
type Doc = Record<string, any>;

const API_VERSIONS: Record<string, string> = {
  Namespace: 'v1',
  ConfigMap: 'v1',
  Secret: 'v1',
  Service: 'v1',
  Deployment: 'apps/v1',
  HorizontalPodAutoscaler: 'autoscaling/v2',
  PodDisruptionBudget: 'policy/v1',
  ScaledObject: 'keda.sh/v1alpha1',
};
/** Read by the AWS SDK, not by the service's config. */
const EXTERNAL_VARIABLES = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']);

describe('deploy/k8s manifests', () => {
  const docs: Array<Doc & { file: string }> = [];
  let kustomization: Doc;
  const files: string[] = [];
  const of = (kind: string) => docs.filter((d) => d.kind === kind);
  const configMap = () => of('ConfigMap')[0]?.data as Record<string, string>;
  const containers = (d: Doc): Doc[] => d.spec.template.spec.containers;
  const envOf = (c: Doc) => Object.fromEntries((c.env ?? []).map((e: Doc) => [e.name, e.value]));

  beforeAll(async () => {
    for (const file of (await readdir(DIR)).filter((f) => f.endsWith('.yaml')).sort()) {
      files.push(file);
      for (const doc of parseAllDocuments(await readFile(join(DIR, file), 'utf8'))) {
        expect(doc.errors, `${file}: ${doc.errors.map((e) => e.message).join('; ')}`).toEqual([]);
        const value = doc.toJS() as Doc | null;
        if (value === null) continue;
        if (file === 'kustomization.yaml') kustomization = value;
        else docs.push({ ...value, file });
      }
    }
  });

  it('every document is a known kind with its API version, named, in the voicebot namespace', () => {
    expect(docs.length).toBeGreaterThan(10);
    for (const d of docs) {
      expect(API_VERSIONS[d.kind], `${d.file}: unexpected kind ${d.kind}`).toBeDefined();
      expect(d.apiVersion, `${d.file} ${d.kind}`).toBe(API_VERSIONS[d.kind]);
      expect(d.metadata?.name, `${d.file} ${d.kind} has a name`).toMatch(/^[a-z0-9-]+$/);
      if (d.kind !== 'Namespace') expect(d.metadata.namespace, `${d.metadata.name}`).toBe('voicebot');
    }
    const names = docs.map((d) => `${d.kind}/${d.metadata.name}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it('kustomization.yaml applies every manifest except the Secret example', () => {
    expect(kustomization.kind).toBe('Kustomization');
    const expected = files.filter((f) => f !== 'kustomization.yaml' && f !== 'secret.example.yaml');
    expect([...kustomization.resources].sort()).toEqual(expected);
  });

  it('the ConfigMap (with the example Secret) is a valid configuration of the service', () => {
    const secret = of('Secret')[0]?.stringData as Record<string, string>;
    for (const name of [...Object.keys(configMap()), ...Object.keys(secret)])
      expect(CONFIG_VARIABLES.includes(name) || EXTERNAL_VARIABLES.has(name), `${name} is a setting`).toBe(
        true,
      );
    const config = loadConfig({ ...configMap(), ...secret });
    expect(config.redis.clusterNodes?.length).toBeGreaterThan(0);
    expect(config.storage.s3?.bucket).toBeTruthy();
    expect(config.redisWait.replicas).toBeGreaterThan(0);
    // production, closed: a first API key from the Secret, no opt-in, /metrics off the Service's port
    expect(config.env).toBe('production');
    expect(config.auth).toMatchObject({ allowOpen: false, initialKey: secret.INITIAL_API_KEY });
    expect(config.optIns).toEqual([]);
    expect(config.metrics).toMatchObject({ publicPort: 'internal', apiServesPort: true });
  });

  it('every Deployment: selector matches its pods, config by reference, resources, grace period > SHUTDOWN_TIMEOUT_MS', () => {
    const shutdownMs = Number(configMap().SHUTDOWN_TIMEOUT_MS);
    expect(shutdownMs).toBeGreaterThan(0);
    expect(of('Deployment').length).toBe(1 + STAGES.length);
    for (const d of of('Deployment')) {
      const name = d.metadata.name;
      const podLabels = d.spec.template.metadata.labels;
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) expect(podLabels[k], name).toBe(v);
      const pod = d.spec.template.spec;
      for (const c of containers(d)) {
        expect(c.image, name).toMatch(/voicebot/);
        const refs = (c.envFrom ?? []).map((e: Doc) => e.configMapRef?.name ?? e.secretRef?.name);
        expect(refs, name).toEqual(['voicebot-config', 'voicebot-secrets']);
        for (const e of c.env ?? []) expect(CONFIG_VARIABLES, `${name}: env ${e.name}`).toContain(e.name);
        expect(c.resources?.requests?.cpu, `${name} cpu request`).toBeTruthy();
        expect(c.resources?.requests?.memory, `${name} memory request`).toBeTruthy();
        expect(c.resources?.limits?.memory, `${name} memory limit`).toBeTruthy();
        expect(c.resources?.limits?.cpu, `${name} cpu limit`).toBeTruthy();
        expect(c.livenessProbe, `${name} liveness probe`).toBeDefined();
        const preStop = c.lifecycle?.preStop?.exec?.command as string[] | undefined;
        const preStopMs = preStop?.[0] === 'sleep' ? Number(preStop[1]) * 1000 : 0;
        expect(pod.terminationGracePeriodSeconds * 1000, `${name} grace period`).toBeGreaterThan(
          shutdownMs + preStopMs,
        );
      }
      expect(pod.securityContext?.runAsNonRoot, name).toBe(true);
    }
  });

  it('the API: /healthz liveness and /readyz readiness on its port, a Service in front, scaled on CPU', () => {
    const api = of('Deployment').find((d) => d.metadata.name === 'voicebot-api') as Doc;
    const [c] = containers(api) as [Doc];
    expect(c.command).toEqual(['node', 'src/api/main.ts']);
    const port = c.ports.find((p: Doc) => p.name === 'http');
    expect(String(port.containerPort)).toBe(envOf(c).PORT);
    // /metrics (queue depth for KEDA) is scraped on the pod's METRICS_PORT, which the Service does not expose.
    const metrics = c.ports.find((p: Doc) => p.name === 'metrics');
    expect(String(metrics.containerPort)).toBe(configMap().METRICS_PORT);
    expect(api.spec.template.metadata.annotations['prometheus.io/port']).toBe(configMap().METRICS_PORT);
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
    const svc = of('Service').find((s) => s.metadata.name === 'voicebot-api') as Doc;
    for (const [k, v] of Object.entries(svc.spec.selector))
      expect(api.spec.template.metadata.labels[k]).toBe(v);
    expect(svc.spec.ports.map((p: Doc) => p.targetPort)).toEqual(['http']);
    const hpa = of('HorizontalPodAutoscaler')[0] as Doc;
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'voicebot-api' });
  });

  it.each(STAGES)(
    'stage %s: a worker Deployment running only it, and a ScaledObject on its queue depth',
    (stage) => {
      const workers = of('Deployment').filter((d) =>
        containers(d).some((c) => envOf(c).WORKER_STAGES === stage),
      );
      expect(workers).toHaveLength(1);
      const worker = workers[0] as Doc;
      const [c] = containers(worker) as [Doc];
      expect(c.command).toEqual(['node', 'src/worker/main.ts']);
      expect(String(c.livenessProbe.httpGet?.port ?? c.livenessProbe.tcpSocket?.port)).toMatch(
        /metrics|9464/,
      );

      const scaled = of('ScaledObject').filter((s) => s.spec.scaleTargetRef.name === worker.metadata.name);
      expect(scaled).toHaveLength(1);
      const so = scaled[0] as Doc;
      expect(so.spec.minReplicaCount).toBeLessThanOrEqual(so.spec.maxReplicaCount);
      const cm = configMap();
      const concurrency = cm[`${stage.toUpperCase()}_CONCURRENCY`] ?? cm.STAGE_CONCURRENCY;
      // Depth as BullMQ keeps it: fair queuing puts every job in the prioritized ZSET, not the wait LIST.
      const prom = so.spec.triggers.find((t: Doc) => t.type === 'prometheus') as Doc;
      expect(prom.metadata.query).toContain('voicebot_queue_jobs');
      expect(prom.metadata.query).toMatch(new RegExp(`queue=~"[^"]*\\b${stage}\\b`));
      expect(prom.metadata.query).toMatch(/state=~"[^"]*prioritized/);
      expect(prom.metadata.query).toMatch(/state=~"[^"]*waiting/);
      expect(prom.metadata.threshold).toBe(concurrency);
      const list = so.spec.triggers.find((t: Doc) => t.type === 'redis-cluster' || t.type === 'redis') as Doc;
      expect(list.metadata.listName).toBe(`${cm.QUEUE_PREFIX}:${stage}:wait`);
      expect(list.metadata.listLength).toBe(concurrency);
    },
  );
});
