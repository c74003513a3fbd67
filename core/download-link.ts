import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/** How long a link to a file too large for Telegram works. */
export const DOWNLOAD_LINK_MS = 15 * 60_000;

/**
 * The key download links are signed with: derived from SECRET_KEY, so links
 * survive a restart; without one, random for the life of the process.
 */
export function downloadKeyOf(secretKey: string | undefined): Buffer {
  if (!secretKey) return randomBytes(32);
  return Buffer.from(hkdfSync('sha256', Buffer.from(secretKey, 'utf8'), Buffer.alloc(0), 'dozor download links v1', 32));
}

function signature(key: Buffer, uploadId: number, expires: number): string {
  return createHmac('sha256', key).update(`${uploadId}.${expires}`).digest('base64url');
}

/** The query of a link to an upload that works until `expiresAt`. */
export function signDownload(key: Buffer, uploadId: number, expiresAt: Date): { expires: string; sig: string } {
  const expires = Math.floor(expiresAt.getTime() / 1000);
  return { expires: String(expires), sig: signature(key, uploadId, expires) };
}

/** Whether a link's query is one this key signed for this upload, and still works. */
export function checkDownload(key: Buffer, uploadId: number, query: { expires?: unknown; sig?: unknown }, now: Date): 'ok' | 'expired' | 'forged' {
  if (typeof query.expires !== 'string' || typeof query.sig !== 'string' || !/^\d{1,12}$/.test(query.expires)) return 'forged';
  const expected = Buffer.from(signature(key, uploadId, Number(query.expires)));
  const given = Buffer.from(query.sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'forged';
  return Number(query.expires) * 1000 >= now.getTime() ? 'ok' : 'expired';
}
