/**
 * The embedded default's Redis: when no Redis was configured (neither REDIS_URL nor REDIS_CLUSTER_NODES) and
 * none answers at the default address, `npm start` runs a private `redis-server` as its child — on a free
 * port of 127.0.0.1, with its append-only file under DATA_DIR/redis (so jobs survive a restart), stopped
 * with the service. A configured Redis is never replaced: a wrong REDIS_URL stays an error to see.
 * REDIS_EMBEDDED: `auto` (that rule, the default), `always` (a private one even when a Redis answers at the
 * default address, e.g. a shared system Redis to keep out of), `never` (no private Redis: REDIS_URL or fail).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { join, resolve } from 'node:path';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface EmbeddedRedis {
  url: string;
  pid: number;
  dir: string;
  /** Asks redis-server to save and exit (SIGTERM); resolves once it has. */
  stop(): Promise<void>;
}

/** Whether the environment names a Redis of its own (then nothing is started in its place). */
export function redisConfigured(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.REDIS_URL?.trim() || env.REDIS_CLUSTER_NODES?.trim());
}

/** Answers whether something speaking RESP replies +PONG at host:port within `timeoutMs`. */
export function redisAnswers(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ port, host });
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      // +PONG, or -NOAUTH from a Redis that wants a password: either way a Redis answers there.
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
  });
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/**
 * Starts a private redis-server when `env` configures no Redis and none answers at the default address;
 * resolves with it (its URL to use as REDIS_URL), or undefined when a Redis is configured or already there.
 */
export async function startEmbeddedRedisIfNeeded(
  env: NodeJS.ProcessEnv,
  opts: { dataDir: string; redisServer?: string; defaultPort?: number },
): Promise<EmbeddedRedis | undefined> {
  const mode = env.REDIS_EMBEDDED?.trim() || 'auto';
  if (mode === 'never' || redisConfigured(env)) return undefined;
  if (mode !== 'always' && (await redisAnswers(opts.defaultPort ?? 6379))) return undefined;
  return startEmbeddedRedis(opts);
}

/** Runs `redis-server` on a free port with AOF under `<dataDir>/redis`; resolves once it answers PING. */
export async function startEmbeddedRedis(opts: {
  dataDir: string;
  redisServer?: string;
}): Promise<EmbeddedRedis> {
  const dir = resolve(join(opts.dataDir, 'redis'));
  await mkdir(dir, { recursive: true });
  const pidfile = join(dir, 'redis.pid');
  await stopOrphan(pidfile);
  const port = await freePort();
  const bin = opts.redisServer ?? 'redis-server';
  const child: ChildProcess = spawn(
    bin,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--daemonize',
      'no',
      '--protected-mode',
      'yes',
      '--pidfile',
      pidfile,
    ],
    // Its own process group: a Ctrl-C in the terminal reaches the service only, which stops Redis last.
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | string>((done) => {
    child.once('exit', (code, signal) => done(code ?? signal ?? -1));
  });
  const failed = new Promise<never>((_, fail) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'ENOENT'
          ? new Error(
              `no Redis answers at ${DEFAULT_REDIS_URL} and there is no ${bin} to start a private one: install Redis (apt-get install redis-server) or set REDIS_URL`,
            )
          : err,
      ),
    );
    void exited.then((how) =>
      fail(new Error(`the private redis-server exited (${how}) before answering: ${output.join('').trim()}`)),
    );
  });
  // A parent that exits any way but a shutdown still takes its Redis with it.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  let waiting = true;
  const ready = (async () => {
    while (waiting) {
      if (await redisAnswers(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    await Promise.race([ready, failed]);
  } catch (err) {
    waiting = false;
    process.off('exit', killOnExit);
    child.kill('SIGKILL');
    throw err;
  }
  failed.catch(() => {}); // later exits are reported by stop()
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    dir,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * A private Redis left running by a service that was killed outright (SIGKILL: no exit hook ran) would
 * share the data dir with the next one: its pidfile names it, and it is stopped first.
 */
async function stopOrphan(pidfile: string): Promise<void> {
  const pid = Number((await readFile(pidfile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes('redis-server')) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 600; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
