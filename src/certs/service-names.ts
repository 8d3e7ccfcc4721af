/** The DNS names the API server may use to reach an in-cluster Service: the serving certificate's SANs. */
export function serviceDnsNames(service = 'egress-guard', namespace = 'egress-guard'): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}
