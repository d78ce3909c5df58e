import fs from 'node:fs';
import OpenAI from 'openai';
import { startSimulator } from '../../src/simulator/server.ts';

const sim = await startSimulator({ concurrency: 20 });
const client = new OpenAI({ apiKey: 'x', baseURL: sim.url + '/v1', maxRetries: 0 });
const N = 10000;
let t = Date.now();
let next = 0;
async function worker() {
  while (next < N) {
    next++;
    await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello ' + next }],
    });
  }
}
await Promise.all(Array.from({ length: 64 }, worker));
console.log('chat', N, 'in', Date.now() - t, 'ms', sim.stats().maxInFlight);
t = Date.now();
next = 0;
const M = 2000;
async function tw() {
  while (next < M) {
    next++;
    await client.audio.transcriptions.create({
      file: fs.createReadStream('test/fixtures/question.wav'),
      model: 'gpt-4o-mini-transcribe',
    });
  }
}
await Promise.all(Array.from({ length: 32 }, tw));
console.log('transcriptions', M, 'in', Date.now() - t, 'ms', 'cacheHits', sim.stats().cacheHits);
t = Date.now();
next = 0;
async function sw() {
  while (next < 200) {
    next++;
    const r = await client.audio.speech.create({
      model: 'tts-1',
      voice: 'alloy',
      input: 'Your appointment is confirmed for Sunday at ten.',
    });
    await r.arrayBuffer();
  }
}
await Promise.all(Array.from({ length: 16 }, sw));
console.log('speech 200 in', Date.now() - t, 'ms');
console.log('rss MB', Math.round(process.memoryUsage().rss / 1e6));
await sim.close();
