import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { frameResponses, rotated, type Framing } from './interleaved.js';

const response = (status: string, body: string) =>
  `HTTP/1.1 ${status}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nDate: Fri, 04 Dec 2026 03:00:00 GMT\r\nConnection: keep-alive\r\n\r\n${body}`;

const answers = [
  response(
    '200 OK',
    '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u","allowed":true}}',
  ),
  response('400 Bad Request', '{"error":"BadRequest","message":"not an AdmissionReview v1: kind is missing"}'),
  response('200 OK', '{"response":{"uid":"caf\u00e9","allowed":false,"status":{"message":"\\r\\n\\r\\n"}}}'),
  response('503 Service Unavailable', ''),
  // A body holding the end of a header block: it is framed by its length, not by the next blank line.
  response('200 OK', 'a\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'),
];

describe('frameResponses', () => {
  it('counts whole responses and the 200s among them, however the bytes are split', () => {
    const stream = Buffer.from(answers.join(''));
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), (cuts) => {
        const framing: Framing = { pending: Buffer.alloc(0) };
        let complete = 0;
        let ok = 0;
        let from = 0;
        for (const at of [...cuts.sort((a, b) => a - b), stream.length]) {
          const seen = frameResponses(framing, stream.subarray(from, at));
          complete += seen.complete;
          ok += seen.ok;
          from = at;
        }
        expect({ complete, ok, left: framing.pending.length }).toEqual({ complete: 5, ok: 3, left: 0 });
      }),
    );
  });

  it('waits for the rest of a body before counting its response', () => {
    const framing: Framing = { pending: Buffer.alloc(0) };
    const whole = Buffer.from(answers[0] as string);
    expect(frameResponses(framing, whole.subarray(0, whole.length - 1))).toEqual({ complete: 0, ok: 0 });
    expect(frameResponses(framing, whole.subarray(whole.length - 1))).toEqual({ complete: 1, ok: 1 });
  });
});

describe('rotated', () => {
  it('puts every server in every place equally often, never twice in a row across cycles', () => {
    const names = ['a', 'b', 'c', 'd'];
    const order = Array.from({ length: 8 }, (_, cycle) => rotated(names, cycle));
    for (const [place] of names.entries())
      expect(order.map((cycle) => cycle[place]).sort()).toEqual(['a', 'a', 'b', 'b', 'c', 'c', 'd', 'd']);
    const phases = order.flat();
    for (let index = 1; index < phases.length; index++) expect(phases[index]).not.toBe(phases[index - 1]);
  });
});
