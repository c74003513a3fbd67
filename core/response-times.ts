/**
 * The time to acknowledge (from the announcement to the acknowledgement; for
 * an alert taken before it was ever sent, held by a silence or by its cause,
 * from its opening, since it stood on the incidents page and the card from
 * then) and the time to resolve (from opening to resolution), averaged per
 * manager over a window of time. Every acknowledgement counts: where one was
 * made, the time to acknowledge is never missing.
 */
export interface IncidentTimes {
  managerId: number | null;
  announcedAt: Date | null;
  acknowledgedAt: Date | null;
  openedAt: Date;
  resolvedAt: Date | null;
}

export interface ResponseTimes {
  /** Milliseconds, or null when no incident in the window gives a figure. */
  mtta: number | null;
  mttr: number | null;
  acknowledged: number;
  resolved: number;
}

const mean = (values: number[]) => (values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length);

/** Acknowledgements that happened in [from, to) and resolutions that happened in [from, to). */
export function responseTimes(incidents: readonly IncidentTimes[], from: Date, to: Date): ResponseTimes {
  const within = (d: Date | null) => d !== null && d.getTime() >= from.getTime() && d.getTime() < to.getTime();
  const ack = incidents
    .filter((i) => within(i.acknowledgedAt))
    .map((i) => Math.max(0, i.acknowledgedAt!.getTime() - (i.announcedAt ?? i.openedAt).getTime()));
  const res = incidents.filter((i) => within(i.resolvedAt)).map((i) => i.resolvedAt!.getTime() - i.openedAt.getTime());
  return { mtta: mean(ack), mttr: mean(res), acknowledged: ack.length, resolved: res.length };
}

export function responseTimesByManager(
  incidents: readonly IncidentTimes[],
  from: Date,
  to: Date,
): Map<number | null, ResponseTimes> {
  const groups = new Map<number | null, IncidentTimes[]>();
  for (const incident of incidents) {
    const list = groups.get(incident.managerId) ?? [];
    list.push(incident);
    groups.set(incident.managerId, list);
  }
  return new Map([...groups].map(([manager, list]) => [manager, responseTimes(list, from, to)]));
}
