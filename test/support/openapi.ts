/**
 * Checks real responses against the service's OpenAPI 3.1 document with ajv (JSON Schema 2020-12, the
 * dialect of OpenAPI 3.1), resolving `#/components/...` references inside the document itself.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is walked by key
type Doc = Record<string, any>;

const DOC_ID = 'https://voicebot.test/openapi.json';
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export interface ResponseCheck {
  /** the schema the document gives this response (undefined: the document does not list it) */
  documented: boolean;
  errors: string[];
}

export function openApiValidator(doc: Doc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('binary', true);
  ajv.addSchema({ $id: DOC_ID, components: doc.components }, DOC_ID);
  const compiled = new Map<string, ValidateFunction>();

  /** Validates `body` as the response `status` of `METHOD path` (an OpenAPI path like /v1/jobs/{id}). */
  return function check(
    method: string,
    path: string,
    status: number,
    contentType: string | null,
    body: unknown,
  ): ResponseCheck {
    const responses = doc.paths?.[path]?.[method.toLowerCase()]?.responses;
    const response = responses?.[String(status)] ?? responses?.default;
    if (!response) return { documented: false, errors: [`${method} ${path} ${status} is not documented`] };
    const mediaType = (contentType ?? '').split(';')[0]?.trim() ?? '';
    const media = response.content?.[mediaType];
    if (!media)
      return {
        documented: false,
        errors: [
          `${method} ${path} ${status}: media type ${mediaType} not documented (${Object.keys(response.content ?? {})})`,
        ],
      };
    const key = `${method} ${path} ${status} ${mediaType}`;
    let validate = compiled.get(key);
    if (!validate) {
      const schema = JSON.parse(
        JSON.stringify(media.schema).replaceAll('"#/components/', `"${DOC_ID}#/components/`),
      );
      validate = ajv.compile(schema);
      compiled.set(key, validate);
    }
    const ok = validate(body);
    return {
      documented: true,
      errors: ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}`),
    };
  };
}
