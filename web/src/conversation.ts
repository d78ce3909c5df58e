/** One conversation per browser tab, kept in sessionStorage: its id and the turns shown. */
import type { JobStatus } from './api.ts';

export interface Turn {
  /** Local id (DOM ids, before the job exists). */
  key: string;
  jobId: string | null;
  input: 'audio' | 'text';
  /** What the person said (the transcript) or typed. */
  you: string | null;
  /** The bot's reply text. */
  bot: string | null;
  status: 'sending' | JobStatus;
  error: string | null;
}

export interface Conversation {
  id: string;
  turns: Turn[];
}

const KEY = 'voicebot.conversation';
const MAX_TURNS = 100;

export function randomId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function newConversation(): Conversation {
  return { id: randomId(), turns: [] };
}

export function loadConversation(): Conversation {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Conversation | null;
    if (saved && /^[A-Za-z0-9_-]{1,64}$/.test(saved.id) && Array.isArray(saved.turns)) return saved;
  } catch {
    // Storage blocked or corrupt: start afresh.
  }
  const fresh = newConversation();
  saveConversation(fresh);
  return fresh;
}

export function saveConversation(c: Conversation): void {
  try {
    if (c.turns.length > MAX_TURNS) c.turns.splice(0, c.turns.length - MAX_TURNS);
    sessionStorage.setItem(KEY, JSON.stringify(c));
  } catch {
    // Storage blocked (private mode, quota): the conversation lives as long as the page.
  }
}

export function loadSetting(name: string): string {
  try {
    return sessionStorage.getItem(`voicebot.${name}`) ?? '';
  } catch {
    return '';
  }
}

export function saveSetting(name: string, value: string): void {
  try {
    if (value) sessionStorage.setItem(`voicebot.${name}`, value);
    else sessionStorage.removeItem(`voicebot.${name}`);
  } catch {
    // See saveConversation.
  }
}
