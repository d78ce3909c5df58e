/**
 * A local Redis Cluster for tests: 6 `redis-server` processes (3 masters + 3 replicas, AOF with
 * `appendfsync always`, `cluster-node-timeout` 1 s), joined with `redis-cli --cluster create`. It can SIGKILL
 * the master that owns the test prefix's slot and wait until a replica has taken over (forcing a
 * `CLUSTER FAILOVER TAKEOVER` when the automatic election is slow), and restart the killed node, which then
 * rejoins as a replica. Every process is tracked by the process reaper: none outlives the test process.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './free-port.ts';
import { type Tracked, terminate, track } from './process-reaper.ts';
import type { RedisHandle } from './redis.ts';
import { pingPort } from './redis-local.ts';
import { uniqueSuffix } from './service-kind.ts';

const run = promisify(execFile);
const HOST = '127.0.0.1';

export interface StartClusterOptions {
  /** masters (each gets `replicasPerMaster` replicas). @defaultValue 3 */
  masters?: number;
  /** @defaultValue 1 */
  replicasPerMaster?: number;
  /** `cluster-node-timeout`: how long a master must be unreachable before its replica is promoted. @defaultValue 1000 */
  nodeTimeoutMs?: number;
}

/** One line of `CLUSTER NODES`. */
export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** the master's id, for a replica */
  masterId: string | undefined;
  failed: boolean;
  connected: boolean;
  /** slot ranges served (masters) */
  slots: Array<[number, number]>;
}

export interface FailoverReport {
  killedPort: number;
  promotedPort: number;
  /** from the SIGKILL until the promoted replica serves the slot and reports `cluster_state:ok` */
  ms: number;
  /** true when the automatic election had not happened within `forceAfterMs` and a takeover was forced */
  forced: boolean;
}

export interface RedisClusterHandle extends RedisHandle {
  /** `host:port,…` of every node: `REDIS_CLUSTER_NODES` */
  readonly nodesList: string;
  readonly ports: readonly number[];
  /** `CLUSTER NODES` as seen by a live node */
  nodes(): Promise<ClusterNodeInfo[]>;
  /** the slot of every key the service writes under `QUEUE_PREFIX = {<prefix>}` */
  prefixSlot(): Promise<number>;
  /** the master serving `prefixSlot()` */
  prefixMaster(): Promise<ClusterNodeInfo>;
  /**
   * SIGKILLs the master of the prefix's slot and waits until one of its replicas serves the slot. After
   * `forceAfterMs` without an automatic failover it sends `CLUSTER FAILOVER TAKEOVER` to a replica.
   */
  killPrefixMaster(opts?: { forceAfterMs?: number; timeoutMs?: number }): Promise<FailoverReport>;
  /** Starts a killed node again (same port, data dir and nodes.conf) and waits until it is a synced replica. */
  restartNode(port: number): Promise<void>;
}

interface NodeProc {
  port: number;
  busPort: number;
  dir: string;
  tracked: Tracked | undefined;
}

async function withNode<T>(port: number, use: (c: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(port, HOST, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    connectTimeout: 1000,
    commandTimeout: 2000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await use(client);
  } finally {
    client.disconnect();
  }
}

const nodeCall = (port: number, ...args: string[]) =>
  withNode(port, (c) => c.call(args[0] ?? '', ...args.slice(1)));

export function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', addr = '', flags = '', master = '-', , , , link = '', ...slots] = line
        .trim()
        .split(' ');
      const port = Number(/:(\d+)@/.exec(addr)?.[1] ?? /:(\d+)$/.exec(addr)?.[1]);
      const flagSet = new Set(flags.split(','));
      return {
        id,
        port,
        role: flagSet.has('master') ? 'master' : 'replica',
        masterId: master === '-' ? undefined : master,
        failed: flagSet.has('fail') || flagSet.has('fail?') || flagSet.has('noaddr'),
        connected: link === 'connected',
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [a, b] = s.split('-').map(Number);
            return [a ?? 0, b ?? a ?? 0] as [number, number];
          }),
      };
    });
}

function nodeArgs(n: NodeProc, nodeTimeoutMs: number): string[] {
  return [
    '--port',
    String(n.port),
    '--cluster-port',
    String(n.busPort),
    '--bind',
    HOST,
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    `nodes-${n.port}.conf`,
    '--cluster-node-timeout',
    String(nodeTimeoutMs),
    // A replica that lost its master a while ago may still be promoted (tests kill masters on purpose).
    '--cluster-replica-validity-factor',
    '0',
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--save',
    '',
    '--dir',
    n.dir,
    '--logfile',
    join(n.dir, 'redis.log'),
    '--daemonize',
    'no',
  ];
}

async function launch(n: NodeProc, nodeTimeoutMs: number, base: string): Promise<void> {
  const child = spawn('redis-server', nodeArgs(n, nodeTimeoutMs), { stdio: 'ignore' });
  if (child.pid === undefined) {
    const [err] = (await once(child, 'error')) as [Error];
    throw new Error(`cannot run redis-server (${err.message}): apt-get install redis-server`);
  }
  n.tracked = track(child, base);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(join(n.dir, 'redis.log'), 'utf8').catch(() => '');
      throw new Error(
        `redis-server on port ${n.port} exited:\n${log.trim().split('\n').slice(-5).join('\n')}`,
      );
    }
    if (await pingPort(n.port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${n.port} did not answer PING`);
    await sleep(10);
  }
}

/** Polls until `check` is true (errors count as not yet). */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`redis cluster: ${what} within ${timeoutMs} ms`, { cause: last });
    await sleep(50);
  }
}

const servesSlot = (n: ClusterNodeInfo, slot: number) => n.slots.some(([a, b]) => slot >= a && slot <= b);

/** Starts the cluster (≈2–4 s) and waits until every node reports `cluster_state:ok` and replicas are synced. */
export async function startRedisCluster(opts: StartClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = opts.masters ?? 3;
  const perMaster = opts.replicasPerMaster ?? 1;
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 1000;
  const base = await mkdtemp(join(tmpdir(), 'voicebot-cluster-'));
  const procs: NodeProc[] = [];
  const stopAll = async () => {
    await Promise.all(procs.map((n) => (n.tracked ? terminate(n.tracked, 'SIGKILL') : undefined)));
    await rm(base, { recursive: true, force: true });
  };
  try {
    const count = masters * (1 + perMaster);
    const taken = new Set<number>();
    const port = async () => {
      for (;;) {
        const p = await freePort();
        if (!taken.has(p)) {
          taken.add(p);
          return p;
        }
      }
    };
    for (let i = 0; i < count; i++) {
      const dir = join(base, `node-${i}`);
      await mkdir(dir);
      procs.push({ port: await port(), busPort: await port(), dir, tracked: undefined });
    }
    await Promise.all(procs.map((n) => launch(n, nodeTimeoutMs, base)));
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...procs.map((n) => `${HOST}:${n.port}`),
        '--cluster-replicas',
        String(perMaster),
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
  } catch (err) {
    await stopAll();
    throw err;
  }

  const prefix = `test-${uniqueSuffix()}`;
  const ports = procs.map((n) => n.port);
  const nodesList = ports.map((p) => `${HOST}:${p}`).join(',');
  const alive = () =>
    procs.filter((n) => n.tracked && n.tracked.child.exitCode === null && !n.tracked.child.signalCode);
  const nodes = async () => {
    let lastErr: unknown;
    for (const n of alive()) {
      try {
        return parseClusterNodes(String(await nodeCall(n.port, 'CLUSTER', 'NODES')));
      } catch (err) {
        lastErr = err;
      }
    }
    throw new Error('no cluster node answers', { cause: lastErr });
  };
  const stateOk = async (port: number) =>
    /cluster_state:ok/.test(String(await nodeCall(port, 'CLUSTER', 'INFO')));
  const replicaSynced = async (port: number) =>
    /master_link_status:up/.test(String(await nodeCall(port, 'INFO', 'replication')));
  /** Every live node says ok, every master has its replicas, and every replica's link is up (synced). */
  const healthy = async () => {
    for (const n of alive()) if (!(await stateOk(n.port))) return false;
    const view = await nodes();
    const replicas = view.filter((v) => v.role === 'replica' && !v.failed);
    if (replicas.length < masters * perMaster) return false;
    for (const r of replicas) if (!(await replicaSynced(r.port))) return false;
    return view.filter((v) => v.role === 'master' && !v.failed && v.slots.length > 0).length >= masters;
  };
  try {
    await until(healthy, 30_000, 'not healthy after create');
  } catch (err) {
    await stopAll();
    throw err;
  }

  const prefixSlot = async () => {
    const n = alive()[0];
    if (!n) throw new Error('no live node');
    return Number(await nodeCall(n.port, 'CLUSTER', 'KEYSLOT', `{${prefix}}:x`));
  };
  const prefixMaster = async () => {
    const slot = await prefixSlot();
    const master = (await nodes()).find((v) => v.role === 'master' && !v.failed && servesSlot(v, slot));
    if (!master) throw new Error(`no master serves slot ${slot}`);
    return master;
  };
  let stopped = false;
  const notKillable = () =>
    Promise.reject(
      new Error('a cluster handle has no kill()/restart(): use killPrefixMaster()/restartNode()'),
    );

  return {
    url: `redis://${HOST}:${ports[0]}`,
    host: HOST,
    port: ports[0] ?? 0,
    kind: 'local',
    prefix,
    canKill: false,
    nodesList,
    ports,
    env: () => ({ REDIS_URL: `redis://${HOST}:${ports[0]}`, REDIS_CLUSTER_NODES: nodesList }),
    kill: notKillable,
    restart: notKillable,
    nodes,
    prefixSlot,
    prefixMaster,
    async killPrefixMaster({ forceAfterMs = 6_000, timeoutMs = 30_000 } = {}) {
      const slot = await prefixSlot();
      const master = await prefixMaster();
      const replicas = (await nodes()).filter((v) => v.masterId === master.id && !v.failed);
      if (replicas.length === 0) throw new Error(`master ${master.port} has no replica to promote`);
      const proc = procs.find((n) => n.port === master.port);
      if (!proc?.tracked) throw new Error(`master ${master.port} is not running`);
      const started = Date.now();
      await terminate(proc.tracked, 'SIGKILL');
      proc.tracked = undefined;
      let forced = false;
      let promoted: ClusterNodeInfo | undefined;
      await until(
        async () => {
          if (!forced && Date.now() - started > forceAfterMs) {
            forced = true;
            const candidate = replicas[0];
            if (candidate) await nodeCall(candidate.port, 'CLUSTER', 'FAILOVER', 'TAKEOVER').catch(() => {});
          }
          const view = await nodes();
          promoted = view.find(
            (v) => v.role === 'master' && !v.failed && v.port !== master.port && servesSlot(v, slot),
          );
          return promoted !== undefined && (await stateOk(promoted.port));
        },
        timeoutMs,
        `no replica took over slot ${slot} from ${master.port}`,
      );
      return { killedPort: master.port, promotedPort: promoted?.port ?? 0, ms: Date.now() - started, forced };
    },
    async restartNode(port) {
      const proc = procs.find((n) => n.port === port);
      if (!proc) throw new Error(`no node on port ${port}`);
      if (proc.tracked) return;
      await launch(proc, nodeTimeoutMs, base);
      await until(
        async () => {
          const me = (await nodes()).find((v) => v.port === port);
          return me?.role === 'replica' && !me.failed && (await replicaSynced(port)) && (await stateOk(port));
        },
        30_000,
        `node ${port} did not rejoin as a synced replica`,
      );
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(procs.map((n) => (n.tracked ? terminate(n.tracked, 'SIGTERM') : undefined)));
      procs.forEach((n) => {
        n.tracked = undefined;
      });
      await rm(base, { recursive: true, force: true });
    },
  };
}
