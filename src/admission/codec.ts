// Decodes an AdmissionReview body and encodes the answer. Knows the wire format, nothing about policy.
import type { Answer } from './responses.js';
import { ADMISSION_API_VERSION, type AdmissionRequest } from './types.js';

export type DecodeResult = { ok: true; request: AdmissionRequest } | { ok: false; problem: string };

/** Checks the envelope only; what is inside request.object is the webhook's business. */
export function decodeReview(body: unknown): DecodeResult {
  if (!isRecord(body)) return fail('body is not a JSON object; expected an admission.k8s.io/v1 AdmissionReview');
  if (body.kind !== 'AdmissionReview') {
    return fail(`kind is ${describe(body.kind)}; expected "AdmissionReview"`);
  }
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    return fail(
      `apiVersion is ${describe(body.apiVersion)}; only ${ADMISSION_API_VERSION} is served ` +
        '(set admissionReviewVersions: ["v1"] in the webhook configuration)',
    );
  }
  const request = body.request;
  if (!isRecord(request)) return fail('request is missing or not an object');
  if (typeof request.uid !== 'string' || request.uid === '')
    return fail('request.uid is missing or not a non-empty string');
  if (typeof request.operation !== 'string') return fail('request.operation is missing or not a string');
  // The API server always sends a well-formed kind: then the request is used as it came, not copied.
  if (isKind(request.kind)) return { ok: true, request: request as unknown as AdmissionRequest };
  return { ok: true, request: { ...request, kind: kindOf(request.kind) } as AdmissionRequest };
}

function isKind(value: unknown): boolean {
  return (
    isRecord(value) &&
    typeof value.group === 'string' &&
    typeof value.version === 'string' &&
    typeof value.kind === 'string'
  );
}

/** The response body: the AdmissionReview { apiVersion, kind, response: { uid, ...answer } } as JSON. */
export function serializeReview(uid: string, answer: Answer): string {
  return JSON.stringify({ apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response: { uid, ...answer } });
}

/** A review with a malformed kind is still answerable: the webhook treats it as a kind it does not handle. */
function kindOf(value: unknown): AdmissionRequest['kind'] {
  const record = isRecord(value) ? value : {};
  const text = (field: unknown) => (typeof field === 'string' ? field : '');
  return { group: text(record.group), version: text(record.version), kind: text(record.kind) };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function fail(problem: string): DecodeResult {
  return { ok: false, problem };
}
