// The networking.istio.io API versions that serve ServiceEntries and DestinationRules, newest first: v1 since
// Istio 1.22; older control planes serve only v1beta1 (and v1alpha3). The objects are the same in each.
export const ISTIO_NETWORKING_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'] as const;

export type IstioNetworkingVersion = (typeof ISTIO_NETWORKING_VERSIONS)[number];
