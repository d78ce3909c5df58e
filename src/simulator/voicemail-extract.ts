/** Rule-based facts from a voicemail transcript: caller, callback number, urgency, intent. */

const DIGIT_WORDS: Record<string, string> = {
  zero: '0',
  oh: '0',
  o: '0',
  one: '1',
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
};

/** Words that end a name ("this is Maria Lopez from …", "my name is sam and …"). */
const NOT_NAME = new Set(
  "a an the from at with and or but calling here again please i im i'm my your about regarding returning just so this that it is was call you we me on in for to of hi hello hey".split(
    ' ',
  ),
);

/**
 * The longest run of at least 7 digits, written as digits ("555 013-2447", "(555) 013 2447") or as
 * digit words ("five five five zero one three …"), or a mix. Formatted 555-013-2447 when 10 digits.
 */
export function findPhoneNumber(text: string): string | undefined {
  const tokens = text.toLowerCase().match(/\+?\d+|[a-z']+|[^\sa-z\d]/g) ?? [];
  let best = '';
  let run = '';
  let repeat = 1; // "double five" → 55
  const end = () => {
    if (run.length > best.length) best = run;
    run = '';
    repeat = 1;
  };
  for (const t of tokens) {
    const digit = DIGIT_WORDS[t];
    if (/^\+?\d+$/.test(t)) run += t.replace('+', '');
    else if (digit !== undefined && (t !== 'o' || run !== '')) run += digit.repeat(repeat);
    else if (t === 'double' || t === 'triple') repeat = t === 'double' ? 2 : 3;
    else if (/^[-().,]$/.test(t)) continue;
    else end();
    if (digit !== undefined) repeat = 1;
  }
  end();
  if (best.length < 7) return undefined;
  if (best.length === 11 && best.startsWith('1')) best = best.slice(1);
  return best.length === 10 ? `${best.slice(0, 3)}-${best.slice(3, 6)}-${best.slice(6)}` : best;
}

/** "This is Maria Lopez", "my name is maria lopez", "it's Sam" → "Maria Lopez" / "Sam". */
export function findCallerName(text: string): string | undefined {
  const m =
    /\b(?:this is|my name is|my name's|it's|it is|i am|i'm)\s+([a-z][a-z'-]*(?:\s+[a-z][a-z'-]*)?)/i.exec(
      text,
    );
  if (!m?.[1]) return undefined;
  const words: string[] = [];
  for (const w of m[1].split(/\s+/)) {
    if (NOT_NAME.has(w.toLowerCase()) || DIGIT_WORDS[w.toLowerCase()]) break;
    words.push(w.charAt(0).toUpperCase() + w.slice(1).toLowerCase());
  }
  return words.length > 0 ? words.join(' ') : undefined;
}

export const isUrgent = (text: string) =>
  /\b(urgent(ly)?|emergency|asap|as soon as possible|immediately|right away|pain(ful)?|bleeding|severe)\b/i.test(
    text,
  );

const INTENTS: Array<[RegExp, string]> = [
  [/\bcancel/i, 'cancel appointment'],
  [/\b(reschedul|move (my|the) appointment|change (my|the) appointment)/i, 'reschedule appointment'],
  [/\b(appointment|book|schedule|see the dentist|see the doctor)/i, 'book appointment'],
  [/\b(bill|invoice|payment|charge|insurance)/i, 'billing question'],
  [/\b(prescription|refill|medication)/i, 'prescription request'],
  [/\b(order|delivery|package)/i, 'order inquiry'],
  [/\bcall (me )?back\b|\breturn (my|the) call\b/i, 'callback request'],
];

export function findIntent(text: string): string {
  for (const [re, intent] of INTENTS) if (re.test(text)) return intent;
  return 'general inquiry';
}

export interface VoicemailFacts {
  summary: string;
  caller_name: string | null;
  callback_number: string | null;
  urgency: 'high' | 'normal';
  intent: string;
  action_items: string[];
}

export function extractVoicemail(text: string): VoicemailFacts {
  const name = findCallerName(text);
  const number = findPhoneNumber(text);
  const urgency = isUrgent(text) ? 'high' : 'normal';
  const intent = findIntent(text);
  const snippet = text.length > 160 ? `${text.slice(0, 157).trimEnd()}...` : text;
  const who = name ?? 'An unknown caller';
  const summary = `${who} left ${urgency === 'high' ? 'an urgent' : 'a'} message (${intent}): "${snippet}"`;
  const actions = number ? [`Call back ${number}`] : [];
  if (intent !== 'general inquiry' && intent !== 'callback request') actions.push(`Handle ${intent}`);
  return {
    summary,
    caller_name: name ?? null,
    callback_number: number ?? null,
    urgency,
    intent,
    action_items: actions,
  };
}
