import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ChartConfiguration, Plugin } from 'chart.js';
import { DateTime } from 'luxon';
import type { Severity } from '../core/rules.ts';
import type { IncidentSpan } from '../db/digest.ts';

/**
 * The digest's picture: the last 30 days, incidents opened per day and open at
 * the end of each day, in large type for a phone. Drawn server-side with Chart.js on
 * @napi-rs/canvas (prebuilt binaries from the npm registry); the font ships
 * with dejavu-fonts-ttf, so Cyrillic labels render on any machine.
 */

const FONT = 'DejaVu Sans';
const require = createRequire(import.meta.url);

interface Drawing {
  Chart: typeof import('chart.js').Chart;
  createCanvas: typeof import('@napi-rs/canvas').createCanvas;
}
let drawing: Drawing | null = null;

/**
 * Chart.js, the canvas and the font take some 25 MB once loaded, and only the
 * digest draws: they are loaded with the first chart, not when the service starts.
 */
function loadDrawing(): Drawing {
  if (drawing) return drawing;
  const { Chart, registerables } = require('chart.js') as typeof import('chart.js');
  const { createCanvas, GlobalFonts } = require('@napi-rs/canvas') as typeof import('@napi-rs/canvas');
  Chart.register(...registerables);
  const dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  GlobalFonts.registerFromPath(join(dir, 'DejaVuSans.ttf'), FONT);
  drawing = { Chart, createCanvas };
  return drawing;
}

/** The chart counts problems to act on: notices (`info`) are left out. */
type Charted = Exclude<Severity, 'info'>;

export interface ChartSeries {
  days: string[];
  opened: Record<Charted, number[]>;
  openAtEnd: Record<Charted, number[]>;
}

/** Per day (in `tz`) ending with `lastDay`: how many opened, and how many were open when the day ended. */
export function chartSeries(spans: readonly IncidentSpan[], lastDay: string, tz: string, dayCount = 30): ChartSeries {
  const first = DateTime.fromISO(lastDay, { zone: tz }).startOf('day').minus({ days: dayCount - 1 });
  const series: ChartSeries = { days: [], opened: { critical: [], warning: [] }, openAtEnd: { critical: [], warning: [] } };
  for (let i = 0; i < dayCount; i++) {
    const start = first.plus({ days: i });
    const end = start.plus({ days: 1 });
    series.days.push(start.toFormat('dd.MM'));
    for (const severity of ['critical', 'warning'] as const) {
      const mine = spans.filter((s) => s.severity === severity);
      series.opened[severity].push(mine.filter((s) => s.openedAt >= start.toJSDate() && s.openedAt < end.toJSDate()).length);
      series.openAtEnd[severity].push(
        mine.filter((s) => s.openedAt < end.toJSDate() && (s.resolvedAt === null || s.resolvedAt >= end.toJSDate())).length,
      );
    }
  }
  return series;
}

export interface ChartLabels {
  title: string;
  opened: string;
  openAtEnd: string;
}

/** Days from the first one with anything to show to the last: a chart of fewer than a week says nothing. */
export function daysOfHistory(series: ChartSeries): number {
  const first = series.days.findIndex((_, i) => series.opened.critical[i]! + series.opened.warning[i]! + series.openAtEnd.critical[i]! + series.openAtEnd.warning[i]! > 0);
  return first < 0 ? 0 : series.days.length - first;
}

/** A chart drawn on a white canvas of the given size, as PNG. */
function drawPng<T extends ChartConfiguration<'bar' | 'line', (number | null)[], string>>(config: T, width: number, height: number): Buffer {
  const { Chart, createCanvas } = loadDrawing();
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, width, height);
  // Chart.js draws on any 2D context; the napi-rs one is close enough to the DOM's for it.
  const chart = new Chart(context as unknown as ConstructorParameters<typeof Chart>[0], config);
  try {
    return canvas.toBuffer('image/png');
  } finally {
    chart.destroy();
  }
}

export function renderChart(series: ChartSeries, labels: ChartLabels, width = 900, height = 450): Buffer {
  const config: ChartConfiguration<'bar' | 'line', number[], string> = {
    type: 'bar',
    data: {
      labels: series.days,
      // Two series a phone can read: incidents opened each day (bars) and those still open at its end (a line).
      datasets: [
        { type: 'bar', label: labels.opened, data: series.days.map((_, i) => series.opened.critical[i]! + series.opened.warning[i]!), backgroundColor: '#d9822b' },
        {
          type: 'line',
          label: labels.openAtEnd,
          data: series.days.map((_, i) => series.openAtEnd.critical[i]! + series.openAtEnd.warning[i]!),
          borderColor: '#1f4e8c',
          backgroundColor: '#1f4e8c',
          borderWidth: 4,
          pointRadius: 3,
          tension: 0.2,
        },
      ],
    },
    options: {
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
      font: { family: FONT, size: 18 },
      plugins: { title: { display: true, text: labels.title, font: { family: FONT, size: 26 } }, legend: { labels: { font: { family: FONT, size: 20 } } } },
      scales: {
        x: { ticks: { font: { family: FONT, size: 18 }, maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } },
        y: { beginAtZero: true, ticks: { precision: 0, font: { family: FONT, size: 18 } } },
      },
    },
  };
  return drawPng(config, width, height);
}

export interface BarChart {
  title: string;
  labels: string[];
  series: { label: string; data: (number | null)[]; color: string }[];
  /** A fixed top of the value axis (100 for percentages); from the data otherwise. */
  max?: number;
  /** A fixed bottom of the value axis; zero otherwise. */
  min?: number;
  /** The line the bars are judged by (99 % availability), drawn across them with its label. */
  threshold?: { value: number; label: string; color: string };
  /** How the value axis writes its numbers (a per cent sign, a decimal comma). */
  valueLabel?: (value: number) => string;
  /** Bars across, one per label down the side: for long names (clients, managers). */
  horizontal?: boolean;
  /** Bars of a series stacked on each other (shares of a whole). */
  stacked?: boolean;
  /** Counts: the value axis shows whole numbers only. */
  counts?: boolean;
}

/** A plain bar chart as PNG, for the browser cabinet's pages and their downloads. */
export function renderBarChart(chart: BarChart, width = 900, height = 420): Buffer {
  const value = {
    beginAtZero: true,
    stacked: chart.stacked ?? false,
    ...(chart.max !== undefined ? { max: chart.max } : {}),
    ...(chart.min !== undefined ? { min: chart.min } : {}),
    ticks: {
      font: { family: FONT, size: 14 },
      ...(chart.counts ? { precision: 0 } : {}),
      ...(chart.valueLabel ? { callback: (tick: number | string) => chart.valueLabel!(Number(tick)) } : {}),
    },
  };
  const category = { stacked: chart.stacked ?? false, ticks: { font: { family: FONT, size: 14 }, autoSkip: !chart.horizontal, maxRotation: 0 } };
  const config: ChartConfiguration<'bar', (number | null)[], string> = {
    type: 'bar',
    data: { labels: chart.labels, datasets: chart.series.map((s) => ({ label: s.label, data: s.data, backgroundColor: s.color })) },
    options: {
      indexAxis: chart.horizontal ? 'y' : 'x',
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
      font: { family: FONT, size: 14 },
      plugins: {
        title: { display: true, text: chart.title, font: { family: FONT, size: 18 } },
        legend: { display: chart.series.length > 1, labels: { font: { family: FONT, size: 14 } } },
      },
      scales: chart.horizontal ? { x: value, y: category } : { x: category, y: value },
    },
    plugins: chart.threshold ? [thresholdLine(chart.threshold, chart.horizontal ?? false)] : [],
  };
  return drawPng(config, width, height);
}

/** A dashed line across the bars at the value they are judged by, with its label at the end of the line. */
function thresholdLine(threshold: NonNullable<BarChart['threshold']>, horizontal: boolean): Plugin<'bar'> {
  return {
    id: 'threshold',
    afterDatasetsDraw(chart) {
      const { ctx, chartArea } = chart;
      const scale = chart.scales[horizontal ? 'x' : 'y']!;
      const at = scale.getPixelForValue(threshold.value);
      ctx.save();
      ctx.strokeStyle = threshold.color;
      ctx.fillStyle = threshold.color;
      ctx.lineWidth = 2;
      ctx.setLineDash([8, 5]);
      ctx.beginPath();
      if (horizontal) {
        ctx.moveTo(at, chartArea.top);
        ctx.lineTo(at, chartArea.bottom);
      } else {
        ctx.moveTo(chartArea.left, at);
        ctx.lineTo(chartArea.right, at);
      }
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.font = `bold 14px "${FONT}"`;
      if (horizontal) {
        ctx.textAlign = 'right';
        ctx.textBaseline = 'bottom';
        ctx.fillText(threshold.label, at - 4, chartArea.top - 2);
      } else {
        ctx.textAlign = 'left';
        ctx.textBaseline = 'bottom';
        ctx.fillText(threshold.label, chartArea.left + 4, at - 3);
      }
      ctx.restore();
    },
  };
}
