import { readdirSync, readFileSync } from 'node:fs';

/** Microseconds in a clock tick of /proc's CPU times (USER_HZ is 100 on Linux). */
export const TICK_US = 1_000_000 / 100;

/** CPU time a process has used (user and system), in ticks. */
export function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU time every PostgreSQL server process has used, in ticks. */
export function postgresTicks(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') total += cpuTicks(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

/** CPU microseconds per request, from a process's ticks across a load and the requests it answered. */
export function microsecondsPerRequest(ticks: number, requests: number): number {
  return requests > 0 ? Math.round((ticks * TICK_US) / requests) : 0;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface ProfileLine {
  /** Function name and where it is (file below the project, line). */
  where: string;
  /** Share of all samples spent in the function itself, in %. */
  selfPercent: number;
}

/**
 * The top functions by self time of a V8 CPU profile (`node --cpu-prof`), as
 * shares of every sample, with the idle share beside them: where an intake's
 * CPU goes, summed by function over every place it was called from.
 */
export function summariseCpuProfile(file: string, root: string, top = 15): { idlePercent: number; gcPercent: number; top: ProfileLine[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const total = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const byFunction = new Map<string, number>();
  for (const { callFrame, hitCount = 0 } of profile.nodes) {
    const place = callFrame.url.replace(`file://${root}`, '').replace(/^file:\/\//, '');
    const where = `${callFrame.functionName || '(anonymous)'}${place ? ` ${place}:${callFrame.lineNumber + 1}` : ''}`;
    byFunction.set(where, (byFunction.get(where) ?? 0) + hitCount);
  }
  const percent = (hits: number) => Number(((100 * hits) / Math.max(1, total)).toFixed(1));
  return {
    idlePercent: percent(byFunction.get('(idle)') ?? 0),
    gcPercent: percent(byFunction.get('(garbage collector)') ?? 0),
    top: [...byFunction]
      .filter(([where]) => where !== '(idle)' && where !== '(program)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, hits]) => ({ where, selfPercent: percent(hits) })),
  };
}
