/**
 * Baseline for the sync-vs-queue benchmark: the old synchronous design, small and honest. One `node:http`
 * server that runs the whole pipeline inside the request: receive the upload (busboy → a file), call
 * transcription → chat → speech with the official openai SDK, store the spoken reply, and answer
 * `{output_wav_url, return_text}`. Nothing is queued; a request holds its connection for the whole pipeline.
 *
 *   PORT=… OPENAI_BASE_URL=… DATA_DIR=… node bench/baselines/sync-voicebot.ts
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import busboy from 'busboy';
import OpenAI, { toFile } from 'openai';

const env = process.env;
const dataDir = env.DATA_DIR ?? './data';
const port = Number(env.PORT ?? 3200);
const client = new OpenAI({
  apiKey: env.OPENAI_API_KEY ?? 'bench',
  baseURL: env.OPENAI_BASE_URL,
  maxRetries: 0,
  timeout: 120_000,
});
await mkdir(join(dataDir, 'uploads'), { recursive: true });
await mkdir(join(dataDir, 'replies'), { recursive: true });

/** Streams the `audio` part to a file; resolves with its path. */
function receive(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const bb = busboy({ headers: req.headers, limits: { files: 1, fileSize: 100 * 1024 * 1024 } });
    let saved: Promise<string> | undefined;
    bb.on('file', (name, stream) => {
      if (name !== 'audio' || saved) {
        stream.resume();
        return;
      }
      const path = join(dataDir, 'uploads', randomUUID());
      saved = pipeline(stream, createWriteStream(path)).then(() => path);
      saved.catch(() => {});
    });
    bb.on('error', reject);
    bb.on('close', () => (saved ? saved.then(resolve, reject) : reject(new Error('no audio part'))));
    req.pipe(bb);
  });
}

async function voicebot(req: IncomingMessage, res: ServerResponse) {
  const input = await receive(req);
  try {
    const transcript = await client.audio.transcriptions.create({
      file: await toFile(createReadStream(input), 'input.wav', { type: 'audio/wav' }),
      model: 'gpt-4o-mini-transcribe',
    });
    const completion = await client.chat.completions.create({
      model: 'gpt-5.4-mini',
      messages: [
        { role: 'system', content: 'You are a helpful voice assistant. Answer briefly and clearly.' },
        { role: 'user', content: transcript.text },
      ],
    });
    const reply = completion.choices[0]?.message.content ?? '';
    const speech = await client.audio.speech.create({
      model: 'gpt-4o-mini-tts',
      input: reply,
      voice: 'nova',
      response_format: 'mp3',
    });
    const name = `${randomUUID()}.mp3`;
    if (!speech.body) throw new Error('speech response had no body');
    await pipeline(
      Readable.fromWeb(speech.body as WebReadableStream<Uint8Array>),
      createWriteStream(join(dataDir, 'replies', name)),
    );
    send(res, 200, { output_wav_url: `http://127.0.0.1:${port}/files/${name}`, return_text: reply });
  } finally {
    await rm(input, { force: true });
  }
}

function send(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer(async (req, res) => {
  try {
    if (req.method === 'GET' && req.url === '/readyz') return send(res, 200, { status: 'ok' });
    if (req.method === 'POST' && (req.url === '/api/voicebot' || req.url === '/api/voicebot/')) {
      return await voicebot(req, res);
    }
    send(res, 404, { error: 'not found' });
  } catch (err) {
    if (!res.headersSent) send(res, 502, { error: (err as Error).message });
    else res.destroy();
  }
});
// The old design's server must hold a request for the whole pipeline: no request timeout.
server.requestTimeout = 0;
server.listen(port, env.HOST ?? '127.0.0.1');

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
