// Which Istio the rules judge for. Several answers depend on it: which IP allocator is in force, and whether
// sidecars can use resolution DYNAMIC_DNS.

export interface IstioVersion {
  major: number;
  minor: number;
}

/**
 * Who hands out the virtual IPs of auto-allocated ServiceEntries. 'istiod': the controller behind istiod's
 * PILOT_ENABLE_IP_AUTOALLOCATE (default from 1.25), one address per host of each entry, written to
 * status.addresses (pilot/pkg/controllers/ipallocate). 'legacy': the hash allocator of istiod's ServiceEntry
 * registry, used by proxies that set ISTIO_META_DNS_AUTO_ALLOCATE (pilot/pkg/serviceregistry/serviceentry/
 * auto_allocation.go), one address per namespace and host name.
 */
export type IpAllocator = 'istiod' | 'legacy';

export interface IstioTarget {
  version: IstioVersion;
  allocator: IpAllocator;
}

/** The release the rules assume when none is configured: the one the differential tests run (master of Aug 2026). */
export const DEFAULT_ISTIO_VERSION: IstioVersion = Object.freeze({ major: 1, minor: 31 });

/** istiod's allocator controller is on by default from 1.25 (pilot/pkg/features: PILOT_ENABLE_IP_AUTOALLOCATE). */
const ISTIOD_ALLOCATOR_DEFAULT_SINCE: IstioVersion = { major: 1, minor: 25 };
/** Sidecars serve resolution DYNAMIC_DNS from 1.30 (waypoints from 1.28). */
const SIDECAR_DYNAMIC_DNS_SINCE: IstioVersion = { major: 1, minor: 30 };

export function atLeast(version: IstioVersion, since: IstioVersion): boolean {
  return version.major > since.major || (version.major === since.major && version.minor >= since.minor);
}

export function formatVersion(version: IstioVersion): string {
  return `${version.major}.${version.minor}`;
}

/** "1.28", "1.28.3", "v1.28.0-beta.1" -> 1.28; anything else (no major.minor, not Istio 1.x) -> undefined. */
export function parseIstioVersion(text: string): IstioVersion | undefined {
  const match = /^v?(\d{1,3})\.(\d{1,3})(?:\.\d+)?(?:[-+][0-9A-Za-z.-]*)?$/.exec(text.trim());
  if (match === null) return undefined;
  const version = { major: Number(match[1]), minor: Number(match[2]) };
  return version.major === 1 ? version : undefined;
}

/** The allocator a release uses unless istiod's PILOT_ENABLE_IP_AUTOALLOCATE says otherwise. */
export function defaultAllocator(version: IstioVersion): IpAllocator {
  return atLeast(version, ISTIOD_ALLOCATOR_DEFAULT_SINCE) ? 'istiod' : 'legacy';
}

export function sidecarsSupportDynamicDns(version: IstioVersion): boolean {
  return atLeast(version, SIDECAR_DYNAMIC_DNS_SINCE);
}
