/**
 * Where a reply is cut into spoken pieces. A sentence ends at `.`, `!`, `?` or `…` (closing quotes and brackets
 * after it belong to it) followed by white space. The same function cuts the text as it streams in (only ends
 * already followed by a space count, the rest waits) and the whole reply afterwards, so both give the same
 * pieces: the speak stage finds every piece the chat stage spoke under the same key.
 */
import { createHash } from 'node:crypto';

const SENTENCE_END = /[.!?…]+["'”’)\]]*\s+/g;
/** A piece shorter than this many characters is joined to the next (no 1-word clips: "No." "Well."). */
const MIN_PIECE_CHARS = 12;

/** Complete sentences at the start of `text`, and the rest (not yet known to be complete). */
export function splitSentences(text: string): { sentences: string[]; rest: string } {
  const sentences: string[] = [];
  let start = 0;
  for (const m of text.matchAll(SENTENCE_END)) {
    const end = (m.index ?? 0) + m[0].length;
    const piece = text.slice(start, end).trim();
    if (piece.length < MIN_PIECE_CHARS) continue; // joined to the next: `start` stays
    sentences.push(piece);
    start = end;
  }
  return { sentences, rest: text.slice(start) };
}

/** Every spoken piece of a whole reply, in order. */
export function replyPieces(reply: string): string[] {
  const { sentences, rest } = splitSentences(reply);
  const tail = rest.trim();
  return tail ? [...sentences, tail] : sentences;
}

/** A short hash of a piece's text: part of its checkpoint's key. */
export const pieceHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);
