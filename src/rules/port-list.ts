// "80,443, 9444" -> [80, 443, 9444]: the EXPECTED_PORTS setting and the egress-guard.io/expected-ports annotation.
// Here, not in config.ts, so that the rules never import the configuration module.

export class PortListError extends Error {
  override name = 'PortListError';
}

/** Distinct ports, ascending; throws PortListError naming `what` for anything that is not 1-65535. */
export function parsePortList(text: string, what: string): number[] {
  const ports = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  const parsed = ports.map((part) => {
    const port = /^\d+$/.test(part) ? Number(part) : NaN;
    if (!(port >= 1 && port <= 65535)) {
      throw new PortListError(
        `${what}: "${part}" is not a port number (1-65535); expected a comma-separated list like "80,443"`,
      );
    }
    return port;
  });
  return [...new Set(parsed)].sort((a, b) => a - b);
}
