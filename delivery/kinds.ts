/** Kinds of outbox messages besides incident announcements (`incident.<kind>`). */
export const DIGEST_TEXT = 'digest.text';
export const DIGEST_CHART = 'digest.chart';
/** A plain-text notice for people (not about one incident), e.g. "chat unreachable" for admins. */
export const NOTICE = 'system.notice';
