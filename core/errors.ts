/** Input that is wrong in a way the person or agent who sent it can fix; the message says how. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** The thing asked for does not exist. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}
