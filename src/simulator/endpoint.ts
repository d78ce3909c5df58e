/**
 * The life of one API request: auth → scripted/random fault → concurrency slot (FIFO) → latency →
 * handler; every outcome is counted and logged in the stats.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answer, parseChatRequest } from './chat.ts';
import { sendCompletion, streamCompletion } from './chat-response.ts';
import { ApiError, drain, readJson, sendError, sleep } from './http-util.ts';
import { type LatencyProfile, until } from './latency-profile.ts';
import { parseSpeechRequest, speak } from './speech.ts';
import type { SimulatorState } from './state.ts';
import { handleTranscription } from './transcription-endpoint.ts';
import type { Endpoint, FaultKind } from './types.ts';

/** Chat and speech requests keep this much of their text in the request log (which request was which). */
const PARAM_CHARS = 200;

export interface RequestContext {
  state: SimulatorState;
  headers: Record<string, string>;
  /** Aborts when the client goes away or the simulator closes. */
  signal: AbortSignal;
  startedAt: number;
}

export function checkAuth(req: IncomingMessage, key: string | undefined): ApiError | undefined {
  if (key === undefined) return undefined;
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(header);
  if (!m) {
    return new ApiError(
      401,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    );
  }
  if (m[1] !== key) {
    const shown = `${m[1]?.slice(0, 3)}*****${m[1]?.slice(-4)}`;
    return new ApiError(401, `Incorrect API key provided: ${shown}.`, { code: 'invalid_api_key' });
  }
  return undefined;
}

export async function serveEndpoint(
  endpoint: Endpoint,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
): Promise<void> {
  const { state, signal } = ctx;
  let model: string | undefined;
  let params: Record<string, string | string[]> | undefined;
  let fault: FaultKind | undefined;
  state.stats.call(endpoint);
  try {
    const denied = checkAuth(req, state.config.requireApiKey);
    if (denied) throw denied;
    const injected = state.faults.next(endpoint, state.config);
    if (injected?.kind === 'cut') {
      fault = 'cut';
      state.stats.fault('cut');
      cutAfterFirstWrite(res);
    } else if (injected) {
      fault = injected.kind;
      state.stats.fault(injected.kind);
      await drain(req);
      if (injected.kind === 'timeout') {
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          else signal.addEventListener('abort', () => resolve(), { once: true });
        });
        return;
      }
      if (injected.afterMs) await sleep(injected.afterMs, signal);
      if ('error' in injected) throw injected.error;
    }
    const release = await state.limiters[endpoint].acquire(signal);
    if (!release) return;
    try {
      await sleep(state.latency(endpoint), signal);
      if (signal.aborted) return;
      await handle(
        endpoint,
        req,
        res,
        ctx,
        (m) => {
          model = m;
        },
        (p) => {
          params = p;
        },
      );
      if (!res.headersSent && !signal.aborted) throw new Error('the handler sent no response');
    } finally {
      release();
    }
  } catch (err) {
    if (!signal.aborted) sendError(res, toApiError(err), ctx.headers);
  } finally {
    await finished(res, signal);
    state.stats.record({
      endpoint,
      at: ctx.startedAt,
      status: res.headersSent && !signal.aborted ? res.statusCode : 0,
      model,
      ms: Date.now() - ctx.startedAt,
      ...(fault ? { fault } : {}),
      ...(params ? { params } : {}),
    });
  }
}

async function handle(
  endpoint: Endpoint,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
  setModel: (model: string) => void,
  setParams: (params: Record<string, string | string[]>) => void,
): Promise<void> {
  const { state, headers, signal } = ctx;
  if (endpoint === 'transcriptions') {
    const { tools, transcriber } = state;
    const recognizeMaxSeconds = state.config.recognizeMaxSeconds;
    await handleTranscription(req, res, {
      tools,
      transcriber,
      recognizeMaxSeconds,
      writtenForm: state.config.writtenForm,
      profile: state.profile(),
      startedAt: ctx.startedAt,
      signal,
      headers,
      setModel,
      setParams,
    });
    return;
  }
  const body = await readJson(req);
  if (typeof body.model === 'string') setModel(body.model);
  if (endpoint === 'chat') {
    const chat = parseChatRequest(body);
    const lastUser = chat.messages.findLast((m) => m.role === 'user')?.text ?? '';
    setParams({ user: lastUser.slice(0, PARAM_CHARS) });
    const result = answer(chat, state.config.replyStyle);
    const timing = chatTiming(state.profile(), ctx.startedAt);
    if (chat.stream) await streamCompletion(res, chat, result, headers, timing, signal);
    else {
      await until(timing.firstTokenAt + timing.msPerToken * result.completionTokens, signal);
      sendCompletion(res, chat, result, headers);
    }
    return;
  }
  const speech = parseSpeechRequest(body);
  setParams({ input: speech.input.slice(0, PARAM_CHARS) });
  const profile = state.profile()?.speech;
  const pacing = profile && {
    firstByteAt: ctx.startedAt + profile.firstByteMs,
    speed: profile.realTimeFactor,
  };
  await speak(res, speech, state.tools, headers, signal, state.speechCache, pacing);
}

/** When a chat answer's first token may go out, and how long each further token takes (no profile: now, 0). */
function chatTiming(profile: LatencyProfile | undefined, startedAt: number) {
  if (!profile) return { firstTokenAt: startedAt, msPerToken: 0 };
  return {
    firstTokenAt: startedAt + profile.chat.firstTokenMs,
    msPerToken: 1000 / profile.chat.tokensPerSecond,
  };
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError(500, `The server had an error while processing your request (simulator: ${message}).`);
}

/** The response goes out as far as its first body write, then the connection closes (a body cut mid-stream). */
function cutAfterFirstWrite(res: ServerResponse): void {
  const write = res.write.bind(res);
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    const ok = (write as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
    setImmediate(() => res.destroy());
    return ok;
  }) as typeof res.write;
  res.end = ((chunk?: unknown) => {
    // A body sent in one piece: half of it, then the cut.
    if (chunk && typeof chunk !== 'function') {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      write(buf.subarray(0, Math.max(1, buf.length >> 1)));
    }
    setImmediate(() => res.destroy());
    return res;
  }) as typeof res.end;
}

/** Resolves once the response is fully sent or the connection is gone. */
function finished(res: ServerResponse, signal: AbortSignal): Promise<void> {
  // An aborted signal means the response closed (client gone or simulator closing).
  if (res.writableFinished || res.destroyed || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    res.once('finish', resolve);
    res.once('close', resolve);
  });
}
