/** The source of "now". Everything time-dependent takes one, so tests can set the time. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
