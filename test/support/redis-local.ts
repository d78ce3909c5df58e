import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.ts';
import { type Tracked, terminate, track } from './process-reaper.ts';

const READY_TIMEOUT_MS = 60_000; // a net: a loaded machine starts redis-server slowly

class PortInUseError extends Error {}

export interface LocalRedis {
  readonly port: number;
  readonly dir: string;
  /** SIGKILL: no shutdown work at all, like a crashed or OOM-killed server. */
  kill(): Promise<void>;
  /** Starts again on the same port and data dir (kills first when still running). */
  restart(): Promise<void>;
  /** SIGTERM (Redis flushes the AOF and exits), then deletes the data dir. Idempotent. */
  stop(): Promise<void>;
}

/** `PING` over a raw socket: true only on `+PONG` (a server still loading its AOF answers `-LOADING`). */
export function pingPort(port: number, host = '127.0.0.1', timeoutMs = 250): Promise<boolean> {
  return new Promise((resolve) => {
    let reply = '';
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

function redisArgs(port: number, dir: string, appendonly: boolean): string[] {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir];
  args.push(
    '--daemonize',
    'no',
    '--logfile',
    join(dir, 'redis.log'),
    '--appendonly',
    appendonly ? 'yes' : 'no',
  );
  if (appendonly) args.push('--appendfsync', 'always');
  return args;
}

async function logTail(dir: string): Promise<string> {
  const log = await readFile(join(dir, 'redis.log'), 'utf8').catch(() => '');
  return log.trim().split('\n').slice(-5).join('\n');
}

async function launch(port: number, dir: string, appendonly: boolean): Promise<Tracked> {
  const child = spawn('redis-server', redisArgs(port, dir, appendonly), { stdio: 'ignore' });
  if (child.pid === undefined) {
    const [err] = (await once(child, 'error')) as [Error];
    throw new Error(
      `cannot run redis-server (${err.message}): apt-get install redis-server, or set REDIS_URL`,
    );
  }
  const tracked = track(child, dir);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await terminate(tracked, 'SIGKILL');
      const tail = await logTail(dir);
      const message = `redis-server on port ${port} exited (${child.exitCode ?? child.signalCode}):\n${tail}`;
      throw tail.includes('Address already in use') ? new PortInUseError(message) : new Error(message);
    }
    if (await pingPort(port)) return tracked;
    if (Date.now() > deadline) {
      await terminate(tracked, 'SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms`);
    }
    await sleep(10);
  }
}

/** Spawns `redis-server` on a free port with its own temp data dir (retries when the port gets taken). */
export async function spawnLocalRedis(appendonly: boolean): Promise<LocalRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'voicebot-redis-'));
  let port = 0;
  let running: Tracked | undefined;
  for (let attempt = 1; running === undefined; attempt++) {
    port = await freePort();
    try {
      running = await launch(port, dir, appendonly);
    } catch (err) {
      if (err instanceof PortInUseError && attempt < 5) continue;
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }
  let stopped = false;
  const kill = async () => {
    if (running) await terminate(running, 'SIGKILL');
    running = undefined;
  };
  return {
    port,
    dir,
    kill,
    async restart() {
      if (stopped) throw new Error('restart() after stop(): start a new Redis instead');
      await kill();
      running = await launch(port, dir, appendonly);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (running) await terminate(running, 'SIGTERM');
      running = undefined;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
