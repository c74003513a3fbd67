/** One alert of a webhook: its labels and annotations, firing unless said. */
export type AlertIn = { status?: 'firing' | 'resolved'; labels: Record<string, string>; annotations?: Record<string, string> };

/** A webhook as Alertmanager 0.25 sends it (version 4). */
export function alertmanagerWebhook(alerts: AlertIn[], status: 'firing' | 'resolved' = 'firing') {
  return {
    version: '4',
    status,
    receiver: 'dozor',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    truncatedAlerts: 0,
    alerts: alerts.map((a) => ({
      status: a.status ?? status,
      labels: a.labels,
      annotations: a.annotations ?? {},
      startsAt: '2023-02-15T06:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph',
      // Alertmanager's own fingerprint; dozor computes its own from the labels, as Alertmanager does.
      fingerprint: 'ignored',
    })),
  };
}
