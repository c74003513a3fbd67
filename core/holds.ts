import { canWait, waitingFor } from './dependencies.ts';
import { silenceMatches, type AlertScope, type Silence } from './silences.ts';

/** What keeps people from hearing of an alert: a silence over it, or the open alert it follows from (its rule id). */
export type Hold = { silence: Silence } | { cause: string };

/**
 * What holds an alert back now, if anything: a silence first (of several,
 * the one that lasts longest, which says until when), then a cause open at
 * its installation (core/dependencies.ts). `activeRuleIds` is asked only for
 * the few rules that can wait: most need no lookup.
 */
export function holdOf(scope: AlertScope, silences: readonly Silence[], activeRuleIds: () => ReadonlySet<string>, now: Date): Hold | null {
  let silence: Silence | null = null;
  for (const s of silences) if (silenceMatches(s, scope, now) && (!silence || s.endsAt > silence.endsAt)) silence = s;
  if (silence) return { silence };
  if (!canWait(scope.ruleId)) return null;
  const cause = waitingFor(scope.ruleId, activeRuleIds());
  return cause ? { cause } : null;
}
