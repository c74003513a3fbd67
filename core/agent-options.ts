/**
 * The local settings an installation's agent script is written with, kept so
 * the script can be written again (from the bot, say) without asking for them.
 * Secrets are not among them: the metrics account lives apart, encrypted.
 */
export interface StoredAgentOptions {
  kodeksUrl: string;
  proxy?: string;
  operapDir?: string;
  service?: string;
  storage?: string;
}
