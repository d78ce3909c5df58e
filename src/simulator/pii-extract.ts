/**
 * Rule-based names and addresses for the structured call that redaction makes (`person_names`,
 * `addresses`): what a chat model would list, found the simple way. Names: words after "this is", "my
 * name is", "I'm", "hi", "hello", "thanks", "dear", "see you then", "Mr/Mrs/Ms/Dr/doctor", and words
 * written with a capital inside a sentence. Addresses: a house number, up to four words, and a street word.
 */

/** Words that are not names, even after "this is" or capitalised ("This is Riverside Dental"). */
const COMMON = new Set(
  `a an the from at with and or but calling here again please i im i'm my your about regarding returning just so
this that it is was call you we me on in for to of hi hello hey thanks thank be been being gone speaking how
can could would will yes no not okay ok sorry good great fine well there they he she his her our us them what
when where who why which do does did have has had am are were one two three four five six seven eight nine ten
zero oh dental office clinic company team service support sir madam mister miss doctor dr mr mrs ms then
monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday morning evening afternoon
riverside perfect really very also still only as if up down out over back`.split(/\s+/),
);

const CUES =
  /\b(?:this is|my name is|my name's|it's|i am|i'm|hi|hello|hey|thanks|thank you|dear|see you then|bye|mr\.?|mrs\.?|ms\.?|dr\.?|doctor)\s+([a-z][a-z'-]*)(?:\s+([a-z][a-z'-]*))?/gi;

const cap = (w: string) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase();
const isName = (w: string | undefined) =>
  !!w && w.length >= 2 && !COMMON.has(w.toLowerCase().replace(/'s$/, ''));

export function findPersonNames(text: string): string[] {
  const names: string[] = [];
  const cues = new RegExp(CUES.source, 'gi');
  for (let m = cues.exec(text); m; m = cues.exec(text)) {
    const [first, second] = [m[1], m[2]];
    // "hi this is maria": the cue "this is" starts inside this match; look again from the next word
    cues.lastIndex = m.index + (m[0].indexOf(' ') > 0 ? m[0].indexOf(' ') : 1);
    if (!isName(first)) continue;
    const clean = (w: string) => cap(w.replace(/'s$/i, ''));
    names.push(
      isName(second) ? `${clean(first as string)} ${clean(second as string)}` : clean(first as string),
    );
  }
  // Capitalised words inside a sentence (not after . ! ? or at the start).
  for (const m of text.matchAll(/(?<![.!?]\s|^)\b([A-Z][a-z]{2,})\b/g))
    if (isName(m[1])) names.push(m[1] as string);
  return [...new Set(names)];
}

const STREET = 'street|st|avenue|ave|road|rd|lane|ln|drive|boulevard|blvd|way|court|ct|place|square';
const ADDRESS = new RegExp(
  `\\b(?:\\d+|(?:one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|forty|fifty|hundred)(?:\\s+(?:one|two|three|four|five|six|seven|eight|nine|hundred))*)\\s+(?:[a-z]+\\s+){1,4}?(?:${STREET})\\b`,
  'gi',
);

export function findAddresses(text: string): string[] {
  return [...new Set([...text.matchAll(ADDRESS)].map((m) => m[0]))];
}
