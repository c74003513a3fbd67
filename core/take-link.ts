import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * The «Беру» link of an alert mail: it acknowledges one incident for one
 * person. The signature binds both, so the link of one person acknowledges
 * nothing for another, and no other incident. It works once (the service
 * remembers its use) and only while the incident is open.
 */
export interface TakeLink {
  incidentId: number;
  personId: number;
}

/** The key take links are signed with, from SECRET_KEY (shared by every instance), or from a random key the database keeps. */
export function takeLinkKeyOf(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), 'dozor mail take links v1', 32));
}

function signature(key: Buffer, link: TakeLink): string {
  return createHmac('sha256', key).update(`take.${link.incidentId}.${link.personId}`).digest('base64url');
}

/** The query of the link (`?i=…&u=…&s=…`). */
export function signTakeLink(key: Buffer, link: TakeLink): string {
  return new URLSearchParams({ i: String(link.incidentId), u: String(link.personId), s: signature(key, link) }).toString();
}

/** The link a query names, when this key signed it; null for anything else. */
export function checkTakeLink(key: Buffer, query: { i?: unknown; u?: unknown; s?: unknown }): TakeLink | null {
  const { i, u, s } = query;
  if (typeof i !== 'string' || typeof u !== 'string' || typeof s !== 'string' || !/^\d{1,15}$/.test(i) || !/^\d{1,15}$/.test(u)) return null;
  const link = { incidentId: Number(i), personId: Number(u) };
  const expected = Buffer.from(signature(key, link));
  const given = Buffer.from(s);
  return expected.length === given.length && timingSafeEqual(expected, given) ? link : null;
}
