/**
 * Builds a JSON value matching a JSON Schema (the subset structured outputs allow), filling known
 * property names (summary, caller_name, callback_number, urgency, intent, action_items, reply …) from
 * hints and everything else with plain placeholders of the right type.
 */

type Schema = Record<string, unknown>;

/** Values by property name; keys are lower-case. */
export type Hints = Record<string, unknown>;

/** Enum values tried, in order, when a hint is not itself one of the allowed values. */
const SYNONYMS: Record<string, string[]> = {
  high: ['high', 'urgent', 'critical', 'emergency'],
  normal: ['normal', 'medium', 'moderate', 'routine', 'low'],
};

const asSchema = (v: unknown): Schema => (typeof v === 'object' && v !== null ? (v as Schema) : {});

export function fillSchema(schema: unknown, hints: Hints): unknown {
  const root = asSchema(schema);
  return fill(root, root, hints, undefined, 0);
}

function resolve(s: Schema, root: Schema): Schema {
  const ref = s.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return s;
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) node = asSchema(node)[part];
  return asSchema(node);
}

function fill(raw: Schema, root: Schema, hints: Hints, name: string | undefined, depth: number): unknown {
  const s = resolve(raw, root);
  const hint = name === undefined ? undefined : hints[name.toLowerCase()];
  if ('const' in s) return s.const;
  const variants = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (Array.isArray(variants) && variants.length > 0) {
    const options = variants.map((v) => resolve(asSchema(v), root));
    const nullable = options.some((o) => o.type === 'null');
    if (hint === null && nullable) return null;
    const chosen = options.find((o) => o.type !== 'null') ?? options[0] ?? {};
    return fill(chosen, root, hints, name, depth);
  }
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
  if (hint === null && types.includes('null')) return null;
  if (Array.isArray(s.enum) && s.enum.length > 0) return pickEnum(s.enum, hint);
  const type = types.find((t) => t !== 'null') ?? (s.properties ? 'object' : s.items ? 'array' : 'string');
  if (depth > 8) return type === 'object' ? {} : type === 'array' ? [] : null;
  switch (type) {
    case 'object': {
      const props = asSchema(s.properties);
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries(props))
        out[key] = fill(asSchema(sub), root, hints, key, depth + 1);
      return out;
    }
    case 'array': {
      const items = resolve(asSchema(s.items), root);
      const min = Number(s.minItems ?? 0);
      if (Array.isArray(hint) && items.type === 'string' && hint.length >= min) return hint.map(String);
      const itemName = name ? singular(name) : undefined;
      return Array.from({ length: Math.max(1, min) }, () => fill(items, root, hints, itemName, depth + 1));
    }
    case 'integer':
    case 'number': {
      if (typeof hint === 'number') return hint;
      return typeof s.minimum === 'number' ? s.minimum : 0;
    }
    case 'boolean':
      return typeof hint === 'boolean' ? hint : false;
    case 'null':
      return null;
    default:
      return stringFor(s, hint, name);
  }
}

function pickEnum(values: unknown[], hint: unknown): unknown {
  if (values.includes(hint)) return hint;
  const tries = typeof hint === 'string' ? (SYNONYMS[hint] ?? []) : [];
  for (const t of tries) {
    const found = values.find((v) => typeof v === 'string' && v.toLowerCase() === t);
    if (found !== undefined) return found;
  }
  return values[0];
}

function stringFor(s: Schema, hint: unknown, name: string | undefined): string {
  let text: string;
  if (typeof hint === 'string') text = hint;
  else if (s.format === 'date-time') text = new Date(0).toISOString();
  else if (s.format === 'date') text = '1970-01-01';
  else if (s.format === 'email') text = 'caller@example.com';
  else if (hint !== undefined && hint !== null) text = String(hint);
  else text = name ? `simulated ${name.replace(/_/g, ' ')}` : 'simulated';
  const max = typeof s.maxLength === 'number' ? s.maxLength : Infinity;
  return text.length > max ? text.slice(0, max) : text;
}

/** action_items → action_item, so an array's elements can take hints of their own. */
const singular = (name: string) => name.replace(/s$/, '');
