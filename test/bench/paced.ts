// An open-loop load at an even pace: request i is due at i/rate seconds, whatever happened to the ones before,
// and its latency counts from when it was due. (autocannon's overallRate lets each connection send its share of
// a second back to back and then pause, which measures bursts of `connections` concurrent reviews instead.)
import { Agent, request } from 'node:https';

export interface PacedResult {
  sent: number;
  ok: number;
  failures: number;
  /** Latencies of the 2xx answers in milliseconds, counted from when each request was due (open-loop latency). */
  latencies: Float64Array;
  /** The same, counted from when this process actually sent the request (without its own scheduling lag). */
  fromSent: Float64Array;
  /** How late, at worst, this process sent a request (its own event loop's lag), in milliseconds. */
  maxSendLagMs: number;
}

export async function paced(options: {
  url: string;
  body: string;
  rate: number;
  seconds: number;
}): Promise<PacedResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64, rejectUnauthorized: false });
  const body = Buffer.from(options.body);
  const total = Math.round(options.rate * options.seconds);
  const latencies = new Float64Array(total);
  const fromSent = new Float64Array(total);
  let sent = 0;
  let ok = 0;
  let failures = 0;
  let done = 0;
  let maxSendLagMs = 0;
  const started = performance.now();
  return new Promise((resolve) => {
    const finish = () => {
      if (done < total) return;
      agent.destroy();
      resolve({
        sent,
        ok,
        failures,
        latencies: latencies.subarray(0, ok),
        fromSent: fromSent.subarray(0, ok),
        maxSendLagMs,
      });
    };
    const send = (due: number) => {
      const sentAt = performance.now();
      const req = request(
        options.url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () => {
            if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) {
              const now = performance.now();
              fromSent[ok] = now - sentAt;
              latencies[ok++] = now - due;
            } else failures++;
            done++;
            finish();
          });
        },
      );
      req.on('error', () => {
        failures++;
        done++;
        finish();
      });
      req.end(body);
    };
    const tick = () => {
      const now = performance.now();
      // Everything due by now goes out now.
      while (sent < total && started + (sent * 1000) / options.rate <= now) {
        const due = started + (sent * 1000) / options.rate;
        maxSendLagMs = Math.max(maxSendLagMs, now - due);
        sent++;
        send(due);
      }
      if (sent < total) setTimeout(tick, Math.max(0, started + (sent * 1000) / options.rate - performance.now()));
    };
    tick();
  });
}
