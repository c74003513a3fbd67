/** One sample of a Kodeks server's metrics (`/sysmon/metrics`, Prometheus text format). */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
