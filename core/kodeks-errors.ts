/**
 * Error codes a Kodeks server reports on its databases, as the vendor's
 * table (SMART's appendix 2) lists them. What each means and what to check
 * is said in the catalogues (`i18n/`); here is what the domain needs: which
 * are about protection and licences, and so stop users at once.
 */
export const KNOWN_ERROR_CODES: readonly number[] = [
  2, 3, 5, 6, 50, 51, 53, 64, 67, 600, 601, 603, 610, 613, 615, 619, 665, 669, 696, 792, 793, 794, 954, 955, 970, 2007, 2008, 2010, 2020, 2021,
  4101, 4111, 4112, 4113, 4116, 4117, 4118,
];

/** Protection and licence codes: the key, the licence manager, the registration file, the licence term. */
export function isCriticalErrorCode(code: number): boolean {
  return (code >= 4111 && code <= 4118) || code === 51 || code === 2007 || code === 2010 || code === 2020 || code === 2021;
}
