import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { MetricSample } from '../core/metrics.ts';

/** Metrics files larger than this are kept but not read: a Kodeks server's are a few KB. */
export const MAX_METRICS_BYTES = 4 * 1024 * 1024;
/** Samples kept per snapshot at most. */
const MAX_SAMPLES = 5_000;

// Each piece matches in one way only, so no line, however long, makes the expressions backtrack.
const NAME = String.raw`[a-zA-Z_:][a-zA-Z0-9_:]*`;
const LABEL = String.raw`[a-zA-Z_][a-zA-Z0-9_]*[ \t]*=[ \t]*"(?:[^"\\\n]|\\.)*"`;
const LABELS = String.raw`\{[ \t]*(?:${LABEL}[ \t]*(?:,[ \t]*${LABEL}[ \t]*)*(?:,[ \t]*)?)?\}`;
const VALUE = String.raw`[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?|inf(?:inity)?|nan)`;
/** A sample line of the Prometheus text format: name, labels, value, timestamp. */
const SAMPLE_LINE = new RegExp(String.raw`^${NAME}(?:${LABELS})?[ \t]+${VALUE}(?:[ \t]+-?\d+)?$`, 'i');
/** A TYPE line (HELP lines and other comments say nothing that is kept). */
const TYPE_LINE = new RegExp(`^# TYPE ${NAME} (?:counter|gauge|histogram|summary|untyped)$`, 'i');

/**
 * Only the lines that are the Prometheus text format, each ending in a line
 * break (the parser drops a last line without one): whatever else a server, or
 * whatever answered in its place, sent (`SECRET_TOKEN=abc123` from a page that
 * is not metrics, say) is never kept or shown as a metric.
 */
function metricLines(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => SAMPLE_LINE.test(line) || TYPE_LINE.test(line))
    .map((line) => `${line}\n`)
    .join('');
}

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
    families = parsePrometheusTextFormat(metricLines(metricsText.replace(/\r\n/g, '\n')));
  } catch (err) {
    // The parser's message quotes the line, which may be anything: it is not repeated.
    throw new Error('not in the Prometheus text format', { cause: err });
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
