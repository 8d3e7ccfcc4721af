// Allowed / Denied / Patched, after controller-runtime's pkg/webhook/admission helpers.
import type { Operation as JsonPatchOperation } from 'fast-json-patch';
import type { AdmissionResponse } from './types.js';
import { warningText } from './warning-text.js';

export type Answer = Omit<AdmissionResponse, 'uid'>;

export function allowed(warnings: readonly string[] = []): Answer {
  return withWarnings({ allowed: true }, warnings);
}

/**
 * reason Forbidden (403) makes kubectl print `admission webhook "NAME" denied the request: MESSAGE`;
 * with reason Invalid it would drop the webhook name, which users need to find who said no.
 */
export function denied(message: string, warnings: readonly string[] = []): Answer {
  return withWarnings({ allowed: false, status: { code: 403, reason: 'Forbidden', message } }, warnings);
}

/** An empty patch is no patch: the API server then records no mutation and reinvocation stays quiet. */
export function patched(patch: readonly JsonPatchOperation[], warnings: readonly string[] = []): Answer {
  if (patch.length === 0) return allowed(warnings);
  return withWarnings({ allowed: true, patchType: 'JSONPatch', patch: encodePatch(patch) }, warnings);
}

/** The AdmissionResponse's patch field: the JSON patch, base64-encoded. */
export function encodePatch(patch: readonly JsonPatchOperation[]): string {
  return Buffer.from(JSON.stringify(patch)).toString('base64');
}

function withWarnings(answer: Answer, warnings: readonly string[]): Answer {
  return warnings.length === 0 ? answer : { ...answer, warnings: warnings.map(warningText) };
}
