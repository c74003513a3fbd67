import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { MetricSample } from '../core/metrics.ts';

/** Metrics files larger than this are kept but not read: a Kodeks server's are a few KB. */
export const MAX_METRICS_BYTES = 4 * 1024 * 1024;
/** Samples kept per snapshot at most. */
const MAX_SAMPLES = 5_000;

/**
 * A `.status` file as SMART's smartstatus writes it: the `date:` line of the
 * Kodeks server's answer (when the metrics were taken, by its clock), then the
 * metrics in the Prometheus text format. Histograms and summaries are kept as
 * their count and sum.
 */
export function readMetricsFile(text: string): { takenAt: Date | null; samples: MetricSample[] } {
  const body = text.replace(/^\uFEFF/, '');
  const firstLine = /^([^\n]*)\n?/.exec(body)![1]!;
  const dateLine = /^date:\s*(.+?)\s*$/i.exec(firstLine);
  const parsedDate = dateLine ? Date.parse(dateLine[1]!) : NaN;
  const metricsText = dateLine ? body.slice(firstLine.length + 1) : body;
  let families;
  try {
    families = parsePrometheusTextFormat(metricsText.replace(/\r\n/g, '\n'));
  } catch (err) {
    throw new Error(`not in the Prometheus text format: ${(err as Error).message}`, { cause: err });
  }
  const samples: MetricSample[] = [];
  for (const family of families) {
    for (const metric of family.metrics) {
      if (samples.length >= MAX_SAMPLES) break;
      const labels = metric.labels ?? {};
      if (metric.value !== undefined) samples.push({ name: family.name, labels, value: Number(metric.value) });
      else {
        if (metric.count !== undefined) samples.push({ name: `${family.name}_count`, labels, value: Number(metric.count) });
        if (metric.sum !== undefined) samples.push({ name: `${family.name}_sum`, labels, value: Number(metric.sum) });
      }
    }
  }
  if (samples.length === 0 && metricsText.trim().length > 0) throw new Error('no metrics in it');
  return { takenAt: Number.isNaN(parsedDate) ? null : new Date(parsedDate), samples };
}
