/** Attribute names met before, with their keys: reports repeat the same few (names up to 64 characters, a thousand at most, so no body can grow it). */
const keys = new Map<string, string>();
const MAX_KEYS = 1_000;
const MAX_CACHED_NAME = 64;

/** The report's key of an XML attribute name: `generated-at` → `generatedAt`. */
export function attributeKey(name: string): string {
  let key = keys.get(name);
  if (key === undefined) {
    key = name.indexOf('-') < 0 ? name : name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (keys.size < MAX_KEYS && name.length <= MAX_CACHED_NAME) keys.set(name, key);
  }
  return key;
}

/** The XML attribute name of a report's key, for messages: `generatedAt` → `generated-at`. */
export const attributeName = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
