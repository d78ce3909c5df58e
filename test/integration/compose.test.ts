import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/shared/config.ts';

const root = resolve(import.meta.dirname, '../..');

interface ComposeService {
  image?: string;
  build?: { context?: string } | string;
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition?: string }>;
  ports?: unknown[];
  volumes?: unknown[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  container_name?: string;
  stop_grace_period?: string;
  init?: boolean;
}
interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const hasCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;

/** The one value the file requires (`${VOICEBOT_API_KEY:?…}`): the first client's API key. */
const API_KEY = 'vb_compose-test-key-0123456789abcdef';

/**
 * A clean environment, so `${VAR:-default}` resolves to the file's defaults, plus the required API key and
 * `extra` (where an `undefined` value leaves a variable unset).
 */
function composeEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, VOICEBOT_API_KEY: API_KEY, ...extra };
}

/**
 * `docker-compose config` validates the file and prints it resolved (anchors merged, variables
 * interpolated). v1 prints YAML only; Debian's docker-compose depends on python3-yaml, which turns
 * it into JSON without an extra npm dependency.
 */
function composeConfig(extra: Record<string, string> = {}): ComposeConfig {
  const yaml = execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
    cwd: root,
    env: composeEnv(extra),
    encoding: 'utf8',
  });
  const json = execFileSync(
    'python3',
    ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    { input: yaml, encoding: 'utf8' },
  );
  return JSON.parse(json) as ComposeConfig;
}

/** A YAML file of the repository as JSON (python3-yaml, as for `docker-compose config`). */
function yamlFile(path: string): unknown {
  const json = execFileSync(
    'python3',
    ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    { input: readFileSync(join(root, path), 'utf8'), encoding: 'utf8' },
  );
  return JSON.parse(json);
}

function service(config: ComposeConfig, name: string): ComposeService {
  const s = config.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

function argv(value: string[] | string | undefined): string[] {
  return Array.isArray(value) ? value : (value?.split(/\s+/) ?? []);
}

/** True when `flag` is directly followed by `value` in `args`. */
function hasFlag(args: string[], flag: string, value: string): boolean {
  return args.some((a, i) => a === flag && args[i + 1] === value);
}

function seconds(duration: string | undefined): number {
  const m = /^(\d+)(ms|s|m)$/.exec(duration ?? '');
  if (!m) return 0;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
}

const composeTitle = hasCompose
  ? 'docker-compose.yml'
  : 'docker-compose.yml (skipped: docker-compose is not installed)';

describe.skipIf(!hasCompose)(composeTitle, () => {
  const config = hasCompose ? composeConfig() : ({ services: {} } as ComposeConfig);

  it('defines the stack', () => {
    expect(Object.keys(config.services).sort()).toEqual(
      ['api', 'grafana', 'minio', 'minio-init', 'prometheus', 'redis', 'simulator', 'worker'].sort(),
    );
    expect(Object.keys(config.volumes ?? {})).toEqual(
      expect.arrayContaining(['redis-data', 'minio-data', 'prometheus-data', 'grafana-data']),
    );
  });

  it('runs Redis 7 with AOF and noeviction, persisted and health-checked', () => {
    const redis = service(config, 'redis');
    expect(redis.image).toBe('redis:7-alpine');
    const args = argv(redis.command);
    expect(args[0]).toBe('redis-server');
    expect(hasFlag(args, '--appendonly', 'yes')).toBe(true);
    expect(hasFlag(args, '--appendfsync', 'everysec')).toBe(true);
    expect(hasFlag(args, '--maxmemory-policy', 'noeviction')).toBe(true);
    expect(redis.volumes?.map(String).join()).toMatch(/redis-data:\/data/);
    expect(argv(redis.healthcheck?.test)).toContain('ping');
  });

  it('runs MinIO with a volume and a health check, and creates the bucket once', () => {
    const minio = service(config, 'minio');
    expect(minio.image).toMatch(/^minio\/minio/);
    expect(minio.volumes?.map(String).join()).toMatch(/minio-data:\/data/);
    expect(minio.healthcheck?.test).toBeDefined();

    const init = service(config, 'minio-init');
    expect(init.image).toMatch(/^minio\/mc/);
    expect(init.depends_on?.minio?.condition).toBe('service_healthy');
    const script = [...argv(init.entrypoint), ...argv(init.command)].join(' ');
    expect(script).toMatch(/mc mb --ignore-existing local\/voicebot/);
    expect(script).toMatch(/mc alias set local http:\/\/minio:9000/);
  });

  it('starts api, worker and simulator from the same image with the right entry points', () => {
    const api = service(config, 'api');
    const worker = service(config, 'worker');
    const simulator = service(config, 'simulator');
    expect(argv(api.command)).toEqual(['node', 'src/api/main.ts']);
    expect(argv(worker.command)).toEqual(['node', 'src/worker/main.ts']);
    expect(argv(simulator.command)).toEqual(['node', 'src/simulator/main.ts']);
    for (const s of [api, worker, simulator]) {
      expect(s.image).toBe(api.image);
      expect(typeof s.build === 'string' ? s.build : s.build?.context).toBe(root);
      const entry = argv(s.command)[1] ?? '';
      expect(existsSync(join(root, entry)), `${entry} exists`).toBe(true);
    }
    expect(JSON.stringify(api.ports)).toMatch(/3000/);
    expect(JSON.stringify(simulator.ports)).toMatch(/4010/);
  });

  it('wires api and worker to Redis, MinIO and the simulator', () => {
    for (const name of ['api', 'worker']) {
      const s = service(config, name);
      expect(s.environment).toMatchObject({
        REDIS_URL: 'redis://redis:6379',
        S3_BUCKET: 'voicebot',
        S3_ENDPOINT: 'http://minio:9000',
        S3_REGION: 'us-east-1',
        S3_FORCE_PATH_STYLE: 'true',
        OPENAI_API_KEY: 'sim',
        OPENAI_BASE_URL: 'http://simulator:4010/v1',
        WEBHOOK_SECRET: '',
      });
      expect(s.environment?.AWS_ACCESS_KEY_ID).toBe(service(config, 'minio').environment?.MINIO_ROOT_USER);
      expect(s.environment?.AWS_SECRET_ACCESS_KEY).toBe(
        service(config, 'minio').environment?.MINIO_ROOT_PASSWORD,
      );
      expect(s.depends_on?.redis?.condition).toBe('service_healthy');
      expect(s.depends_on?.['minio-init']?.condition).toBe('service_completed_successfully');
    }
  });

  it('lets workers scale and finish their jobs on shutdown', () => {
    const worker = service(config, 'worker');
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports ?? []).toEqual([]);
    const deadline = Number(worker.environment?.SHUTDOWN_TIMEOUT_MS ?? 30_000) / 1000;
    expect(seconds(worker.stop_grace_period)).toBeGreaterThan(deadline);
    expect(worker.healthcheck?.disable ?? argv(worker.healthcheck?.test)[0] === 'NONE').toBe(true);
  });

  it('runs Prometheus on deploy/prometheus.yml, scraping the api and every worker replica', () => {
    const prometheus = service(config, 'prometheus');
    expect(prometheus.image).toMatch(/^prom\/prometheus/);
    const mounts = (prometheus.volumes ?? []).map(String);
    expect(mounts).toContain(`${join(root, 'deploy/prometheus.yml')}:/etc/prometheus/prometheus.yml:ro`);
    expect(argv(prometheus.command)).toContain('--config.file=/etc/prometheus/prometheus.yml');
    const scrape = yamlFile('deploy/prometheus.yml') as {
      scrape_configs: Array<{
        job_name: string;
        metrics_path?: string;
        static_configs?: Array<{ targets: string[] }>;
        dns_sd_configs?: Array<{ names: string[]; port: number; type?: string }>;
      }>;
    };
    const jobs = new Map(scrape.scrape_configs.map((j) => [j.job_name, j]));
    const api = jobs.get('voicebot-api');
    // In production the API's public port does not serve /metrics: Prometheus scrapes its METRICS_PORT.
    expect(api?.static_configs?.[0]?.targets).toEqual([
      `api:${service(config, 'api').environment?.METRICS_PORT}`,
    ]);
    const workers = jobs.get('voicebot-worker');
    // DNS discovery finds every `--scale worker=N` replica, on the port the workers serve metrics on.
    expect(workers?.dns_sd_configs?.[0]?.names).toEqual(['worker']);
    expect(String(workers?.dns_sd_configs?.[0]?.port)).toBe(
      service(config, 'worker').environment?.METRICS_PORT,
    );
    for (const job of jobs.values()) expect(job.metrics_path ?? '/metrics').toBe('/metrics');
  });

  it('runs Grafana with Prometheus provisioned and the voicebot dashboard loaded', () => {
    const grafana = service(config, 'grafana');
    expect(grafana.image).toMatch(/^grafana\/grafana/);
    const mounts = (grafana.volumes ?? []).map(String);
    expect(mounts).toContain(`${join(root, 'deploy/grafana/provisioning')}:/etc/grafana/provisioning:ro`);
    expect(mounts).toContain(
      `${join(root, 'deploy/grafana/voicebot.json')}:/var/lib/grafana/dashboards/voicebot.json:ro`,
    );
    const datasources = yamlFile('deploy/grafana/provisioning/datasources/prometheus.yml') as {
      datasources: Array<{ uid: string; type: string; url: string }>;
    };
    expect(datasources.datasources[0]).toMatchObject({
      uid: 'prometheus',
      type: 'prometheus',
      url: 'http://prometheus:9090',
    });
    const providers = yamlFile('deploy/grafana/provisioning/dashboards/voicebot.yml') as {
      providers: Array<{ options: { path: string } }>;
    };
    expect(providers.providers[0]?.options.path).toBe('/var/lib/grafana/dashboards');
    expect(grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(
      '/var/lib/grafana/dashboards/voicebot.json',
    );
  });

  it('starts the api closed: production, the first API key from the environment, /metrics off the public port', () => {
    const env = Object.fromEntries(
      Object.entries(service(config, 'api').environment ?? {}).filter(([, v]) => v !== null),
    ) as Record<string, string>;
    const api = loadConfig(env);
    expect(api.env).toBe('production');
    expect(api.auth).toEqual({ allowOpen: false, initialKey: API_KEY });
    expect(api.optIns).toEqual([]);
    expect(api.metrics).toMatchObject({ publicPort: 'internal', apiServesPort: true, port: 9464 });
    expect(JSON.stringify(service(config, 'api').ports)).not.toMatch(/9464/);
    // The key is the api's alone: workers never see it.
    expect(service(config, 'worker').environment?.INITIAL_API_KEY).toBeUndefined();
  });

  it('refuses to run without VOICEBOT_API_KEY, naming it', () => {
    const run = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
      cwd: root,
      env: composeEnv({ VOICEBOT_API_KEY: undefined }),
      encoding: 'utf8',
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/set VOICEBOT_API_KEY/);
  });

  it('takes a real provider from the shell environment', () => {
    const real = composeConfig({
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: 'https://api.openai.com/v1',
      WEBHOOK_SECRET: 'whsec_abc',
    });
    expect(service(real, 'worker').environment).toMatchObject({
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: 'https://api.openai.com/v1',
      WEBHOOK_SECRET: 'whsec_abc',
    });
  });
});

/** Dockerfile instructions with continuations joined and comments dropped. */
function dockerfile(): { op: string; args: string }[] {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [op = '', ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

describe('Dockerfile', () => {
  const lines = dockerfile();
  const args = new Map(
    lines
      .filter((l) => l.op === 'ARG' && l.args.includes('='))
      .map((l) => l.args.split('=') as [string, string]),
  );
  const froms = lines.filter((l) => l.op === 'FROM').map((l) => l.args.split(/\s+/));
  const lastFrom = lines.findLastIndex((l) => l.op === 'FROM');
  const final = lines.slice(lastFrom);

  it('is multi-stage on node:24-slim', () => {
    expect(froms.length).toBeGreaterThan(1);
    const stages = new Set<string>();
    for (const [image = '', as, name] of froms) {
      const resolved = image.replace(/^\$\{(\w+)\}$/, (_, v: string) => args.get(v) ?? '');
      expect(stages.has(resolved) || resolved === 'node:24-slim').toBe(true);
      if (as?.toUpperCase() === 'AS' && name) stages.add(name);
    }
  });

  it('runs as a non-root user in the final stage', () => {
    const users = final.filter((l) => l.op === 'USER').map((l) => l.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
  });

  it('installs production dependencies, the source, ffmpeg, Festival with its HTS voice and espeak-ng', () => {
    expect(final.some((l) => l.op === 'RUN' && /npm ci\b.*--omit=dev/.test(l.args))).toBe(true);
    expect(final.some((l) => l.op === 'COPY' && /^src\s/.test(l.args))).toBe(true);
    const apt = lines.find((l) => l.op === 'RUN' && l.args.includes('apt-get install'))?.args ?? '';
    expect(apt).toMatch(/\bffmpeg\b/);
    expect(apt).toMatch(/\bfestival festvox-us-slt-hts\b/);
    expect(apt).toMatch(/\bespeak-ng\b/);
  });

  it('exposes 3000, checks /healthz and starts the embedded service', () => {
    expect(final.find((l) => l.op === 'EXPOSE')?.args).toBe('3000');
    expect(final.find((l) => l.op === 'HEALTHCHECK')?.args).toMatch(/\/healthz/);
    expect(JSON.parse(final.find((l) => l.op === 'CMD')?.args ?? 'null')).toEqual(['node', 'src/main.ts']);
  });

  it('keeps secrets and local state out of the build context', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.git', '.env', 'tools', 'data']));
  });
});

describe('deploy/grafana/voicebot.json', () => {
  const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/voicebot.json'), 'utf8')) as {
    uid: string;
    panels: Array<{
      type: string;
      title: string;
      datasource?: { uid: string };
      targets?: Array<{ expr: string }>;
    }>;
  };
  const panels = dashboard.panels.filter((p) => p.type !== 'row');

  it('shows queue depth, throughput, latency, errors and cost from the Prometheus data source', () => {
    const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
    for (const metric of [
      'voicebot_queue_jobs',
      'voicebot_stage_duration_seconds_count',
      'voicebot_stage_duration_seconds_bucket',
      'voicebot_provider_request_duration_seconds_bucket',
      'voicebot_provider_errors_total',
      'voicebot_provider_cost_usd_total',
    ])
      expect(exprs).toContain(metric);
    for (const p of panels) expect(p.datasource?.uid, p.title).toBe('prometheus');
  });

  it('queries only metrics the service exports', async () => {
    const { registry } = await import('../../src/shared/metrics.ts');
    const exported = new Set<string>();
    for (const m of await registry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (String(m.type) === 'histogram')
        for (const suffix of ['_bucket', '_sum', '_count']) exported.add(`${m.name}${suffix}`);
    }
    const used = new Set(
      panels.flatMap((p) => (p.targets ?? []).flatMap((t) => t.expr.match(/voicebot_[a-z_]+/g) ?? [])),
    );
    expect(used.size).toBeGreaterThan(8);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });
});
