import { defineConfig } from 'vitest/config';

/**
 * The suite in four projects, so each can be run and timed apart (`npx vitest run --project heavy`);
 * `npm test` runs them all. Timeouts here are safety nets, not budgets: the waits inside the tests follow
 * progress (test/support/wait-for.ts), so a busy machine makes a test slower, never failed.
 */
const HEAVY = [
  // Redis Cluster: six redis-servers and a failover.
  'test/integration/cluster.test.ts',
  // Workers SIGKILLed under provider faults; two APIs and three workers as processes.
  'test/integration/chaos.test.ts',
  'test/integration/many-processes.test.ts',
  // API and worker processes SIGKILLed mid-run.
  'test/integration/crash-api-and-workers.test.ts',
  'test/integration/lifecycle-crash.test.ts',
  // 1,000 jobs failed by a chat outage, then resumed with `voicebot retry`.
  'test/integration/retry-outage.test.ts',
  // A 1,000-file batch through the CLI.
  'test/integration/cli.test.ts',
  // Long audio: chunked transcription of minutes of speech with real recognition.
  'test/integration/long-voicemail.test.ts',
  'test/integration/transcript-options.test.ts',
];

/** Integration-sized safety nets: generous, so only a test that stopped moving reaches them. */
const SAFETY_NET = { testTimeout: 10 * 60_000, hookTimeout: 5 * 60_000 };

export default defineConfig({
  test: {
    // Integration files each start their own redis-server / s3rver; two cores → keep parallelism modest.
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: HEAVY,
          ...SAFETY_NET,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          ...SAFETY_NET,
          // expect.poll on a page: the page follows jobs that run real recognition and speech.
          expect: { poll: { timeout: 120_000, interval: 100 } },
        },
      },
      { extends: true, test: { name: 'heavy', include: HEAVY, ...SAFETY_NET } },
    ],
  },
});
