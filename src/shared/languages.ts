/**
 * ISO-639-1 language codes: validating a client's hint, and mapping what a provider reports (whisper-1's
 * verbose_json says "english") back onto a code ("en"). Names come from the runtime's ICU data, no table.
 */
const names = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' });

/** Two-letter codes ICU no longer names separately (replaced by newer ones). */
const DEPRECATED = new Set(['in', 'iw', 'ji', 'jw', 'mo', 'sh', 'tl']);

/** True for an ISO-639-1 code ICU knows, e.g. "en", "de"; "xx" or "eng" are not. */
export function isLanguageCode(code: string): boolean {
  if (!/^[a-z]{2}$/.test(code) || DEPRECATED.has(code)) return false;
  const name = names.of(code);
  return name !== undefined && name !== code;
}

let byName: Map<string, string> | undefined;

function nameIndex(): Map<string, string> {
  if (byName) return byName;
  byName = new Map();
  const a = 'a'.charCodeAt(0);
  for (let i = 0; i < 26; i++) {
    for (let j = 0; j < 26; j++) {
      const code = String.fromCharCode(a + i, a + j);
      if (isLanguageCode(code)) byName.set((names.of(code) ?? '').toLowerCase(), code);
    }
  }
  return byName;
}

/** "english" / "English" / "en" → "en"; an unknown name is returned lower-cased; empty → null. */
export function toLanguageCode(value: string | null | undefined): string | null {
  const v = value?.trim().toLowerCase();
  if (!v) return null;
  if (isLanguageCode(v)) return v;
  return nameIndex().get(v) ?? v;
}
