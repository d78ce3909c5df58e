import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  headers: Record<string, string>;
  body: string;
  /** The parsed payload when the signature verified with the receiver's secret, else undefined. */
  verified: Record<string, unknown> | undefined;
  answered: number;
}

/**
 * A webhook receiver as a customer would write it: verifies every request with the `standardwebhooks`
 * package, answers with the statuses it is told to (one per request, then 200), and keeps what it got.
 */
export async function startReceiver(secret: string, statuses: number[] = []) {
  const received: Received[] = [];
  const plan = [...statuses];
  const verifier = new Webhook(secret);
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    let verified: Record<string, unknown> | undefined;
    try {
      verified = verifier.verify(body, headers) as Record<string, unknown>;
    } catch {
      verified = undefined;
    }
    const status = plan.shift() ?? 200;
    received.push({ headers, body, verified, answered: status });
    res.writeHead(status, status === 429 ? { 'retry-after': '0' } : {}).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/voicebot`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export const newSecret = () =>
  `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64')}`;
