import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ConfigError, hasHashTag, loadConfig } from '../../src/shared/config.ts';
import { clusterOptions, createRedis, parseClusterNodes, redisOptions } from '../../src/shared/redis.ts';

describe('Redis settings', () => {
  it('REDIS_CLUSTER_NODES: host:port lists, IPv6 in brackets; anything else is refused by name', () => {
    expect(parseClusterNodes('10.0.0.1:6379, redis-1.svc:7000,[::1]:7001')).toEqual([
      { host: '10.0.0.1', port: 6379 },
      { host: 'redis-1.svc', port: 7000 },
      { host: '::1', port: 7001 },
    ]);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1' })).toThrow(/REDIS_CLUSTER_NODES: "10.0.0.1"/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:70000' })).toThrow(ConfigError);
    expect(loadConfig({ REDIS_CLUSTER_NODES: '' }).redis.clusterNodes).toBeUndefined();
  });

  it('a cluster needs a {hash tag} in QUEUE_PREFIX, so every key of the service lands in one slot', () => {
    expect(hasHashTag('{voicebot}')).toBe(true);
    expect(hasHashTag('prod:{vb}:x')).toBe(true);
    expect(hasHashTag('voicebot')).toBe(false);
    expect(hasHashTag('{}voicebot')).toBe(false);
    expect(hasHashTag('}{voicebot')).toBe(false);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'r:6379', QUEUE_PREFIX: 'voicebot' })).toThrow(
      /QUEUE_PREFIX: must contain a \{hash tag\}/,
    );
    // Without a cluster any prefix goes.
    expect(loadConfig({ QUEUE_PREFIX: 'voicebot' }).prefix).toBe('voicebot');
  });

  it('config.redis carries TLS, credentials and the WAIT setting', () => {
    const c = loadConfig({
      REDIS_CLUSTER_NODES: 'r1:6379,r2:6379',
      REDIS_TLS: 'true',
      REDIS_USERNAME: 'vb',
      REDIS_PASSWORD: 'pw',
      REDIS_WAIT_REPLICAS: '1',
    });
    expect(c.redis).toMatchObject({
      clusterNodes: [
        { host: 'r1', port: 6379 },
        { host: 'r2', port: 6379 },
      ],
      tls: true,
      username: 'vb',
      password: 'pw',
    });
    expect(c.redisWait).toEqual({ replicas: 1, timeoutMs: 1000 });
    expect(loadConfig({}).redisWait.replicas).toBe(0);
  });

  it('cluster options keep the two connection kinds: command fails fast, blocking waits (as BullMQ needs)', () => {
    const settings = {
      url: '',
      clusterNodes: [{ host: 'r', port: 1 }],
      username: 'u',
      password: 'p',
      tls: true,
    };
    const command = clusterOptions('command', settings, 'api');
    expect(command.enableOfflineQueue).toBe(false);
    expect(command.redisOptions).toMatchObject({
      maxRetriesPerRequest: 1,
      commandTimeout: 5000,
      username: 'u',
      password: 'p',
      tls: {},
      connectionName: 'api',
    });
    expect((command.maxRedirections ?? 0) * (command.retryDelayOnFailover ?? 0)).toBeLessThanOrEqual(2000);
    const blocking = clusterOptions('blocking', settings);
    expect(blocking.enableOfflineQueue).toBe(true);
    expect(blocking.redisOptions?.maxRetriesPerRequest).toBeNull();
    // See src/shared/redis.ts: a ready check during a failover leaves BullMQ's reconnect hanging.
    expect(command.enableReadyCheck).toBe(false);
    expect(blocking.enableReadyCheck).toBe(false);
    expect(typeof blocking.dnsLookup).toBe('function');
    expect(redisOptions('blocking').maxRetriesPerRequest).toBeNull();
  });

  it('createRedis: a Cluster with REDIS_CLUSTER_NODES, else one Redis; rediss:// turns TLS on', () => {
    const cluster = createRedis(
      { url: 'redis://x', clusterNodes: [{ host: '127.0.0.1', port: 1 }] },
      'command',
    ) as Cluster;
    expect(cluster).toBeInstanceOf(Cluster);
    cluster.disconnect();
    const single = createRedis({ url: 'rediss://127.0.0.1:1' }, 'command') as Redis;
    expect(single).toBeInstanceOf(Redis);
    expect(single.options.tls).toBeTruthy();
    single.disconnect();
    const plain = createRedis('redis://127.0.0.1:1', 'blocking') as Redis;
    expect(plain.options.tls).toBeFalsy();
    plain.disconnect();
  });
});
