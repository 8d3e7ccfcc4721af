// A minimal HTTPS client for tests against a real listener, trusting only the given CA.
import { request } from 'node:https';

export interface HttpsReply {
  status: number;
  body: string;
}

export interface PostOptions {
  cert?: string;
  key?: string;
  maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2';
  /** OpenSSL cipher list; Node 24's default security level will not even offer TLS 1.1. */
  ciphers?: string;
  /** false: a fresh connection for this request alone. */
  agent?: false;
  /** Sent besides content-type and content-length. */
  headers?: Record<string, string>;
}

export function postJson(
  url: string,
  payload: unknown,
  ca: string,
  { headers, ...extra }: PostOptions = {},
): Promise<HttpsReply> {
  const body = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca,
        servername: 'localhost',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        ...extra,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
