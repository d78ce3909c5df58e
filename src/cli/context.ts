import { VoicebotClient } from '../../packages/sdk/src/client.ts';

/** Options every command shares (from flags or the environment). */
export interface GlobalOptions {
  url: string;
  apiKey?: string;
  json?: boolean;
}

export const EXIT = { ok: 0, someFailed: 1, usage: 2 } as const;

export const clientFor = (o: GlobalOptions) => new VoicebotClient({ baseUrl: o.url, apiKey: o.apiKey });

/** Prints a result: JSON for scripts (`--json`), else the human line. */
export function print(o: GlobalOptions, value: unknown, human: string): void {
  process.stdout.write(o.json ? `${JSON.stringify(value)}\n` : `${human}\n`);
}
