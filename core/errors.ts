/**
 * Errors the person or agent who caused them can fix. Each names what is wrong
 * by a code and its values; the catalogues in `i18n/` say it in each language,
 * and `message` is the English wording (for the command line and the log).
 */
export type FieldCode =
  | 'required'
  | 'empty'
  | 'tooLong'
  | 'controlChars'
  | 'telegramUserId'
  | 'telegramIdTooLarge'
  | 'telegramChatId'
  | 'role'
  | 'kind'
  | 'inn'
  | 'hostName'
  | 'ipAddress'
  | 'webUrl'
  | 'timeZone'
  | 'uploadName'
  | 'hostPort'
  | 'urlUnsafe'
  | 'urlCredentials';

/** One field that is wrong: its name in the input, and why. `max` for `tooLong`. */
export interface FieldProblem {
  field: string;
  code: FieldCode;
  max?: number;
}

/** What a registry record that is being validated is. */
export type Subject = 'client' | 'installation' | 'user' | 'reason' | 'label' | 'agent';
export type StaffRole = 'admin' | 'lead' | 'manager';
/** A CSV row naming an existing client with other details than it has. */
export interface ClientConflict {
  field: 'name' | 'inn' | 'manager' | 'chat';
  /** What the existing client has (null: not set). */
  value: string | number | null;
}

/** Every error code with the values its wording needs. */
export interface ErrorParams {
  durationInvalid: { text: string };
  durationNotPositive: { text: string };
  quietWindowInvalid: { text: string };
  timeInvalid: { text: string };
  idInvalid: { text: string; what: 'incident' | 'silence' | 'user' };

  userExists: { id: number };
  userNotFound: { id: number };
  emailInvalid: { text: string };
  channelInvalid: { text: string };
  channelNeedsEmail: { channel: string; id: number };
  leadUnknown: { id: number };
  leadIsManager: { id: number; name: string };
  leadDisabled: { id: number; name: string };
  personUnknown: { role: StaffRole; id: number };
  personDisabled: { role: StaffRole; id: number; name: string };

  clientNameTaken: { name: string; id: number };
  innTaken: { inn: string; name: string; id: number };
  clientNotFound: { ref: string };

  installationNameTaken: { client: string; name: string };
  installationNotFound: { ref: string };
  nothingToSet: Record<string, never>;
  uploadNameInvalid: { name: string };
  uploadNameTaken: { name: string; id: number; installation: string };
  uploadNameInFile: { name: string; line: number };
  uploadTokenNotFound: { id: string };
  uploadTokenRevoked: { id: number };
  uploadNetworkInvalid: { network: string };
  uploadsNotUnmatched: { name: string };
  alertSourceInvalid: { source: string };
  alertRouteNotFound: { source: string };
  licmanInvalid: { text: string };
  agentTokenMismatch: { id: number };
  publicUrlMissing: Record<string, never>;
  secretKeyMissing: Record<string, never>;
  thresholdSyntax: { text: string };
  ruleUnknown: { rule: string };
  thresholdVersion: { rule: string; value: string };
  thresholdNone: { rule: string };

  incidentNotFound: { id: number };
  incidentResolved: { id: number };

  silenceNoScope: Record<string, never>;
  silenceNeedsEnd: Record<string, never>;
  silenceRuleInvalid: { rule: string };
  silenceEndsBeforeStart: Record<string, never>;
  silenceTooLong: { days: number };
  silenceNotFound: { id: number };
  silenceEnded: { id: number };

  policyUnknown: { key: string; known: string };
  policyVersion: { value: string };

  invalid: { subject: Subject; problems: FieldProblem[] };

  fileUnreadable: { file: string; reason: string };
  fileNotWritten: { file: string; reason: string };
  uploadNotFound: { id: string };
  csvUnreadable: { reason: string };
  csvNoRows: Record<string, never>;
  csvEncoding: Record<string, never>;
  csvIsWorkbook: Record<string, never>;
  csvDuplicateColumns: { columns: string };
  csvUnknownColumns: { columns: string; known: string };
  csvMissingColumns: { columns: string };
  /** `of`: the registered client, or the client first named on an earlier line of the same file. */
  csvClientConflict: { name: string; of: { id: number } | { line: number }; conflicts: ClientConflict[] };
  importRefused: { problems: { line: number; error: InputError }[] };

  /** A report an agent sent that cannot be read (said to the agent, in English). */
  report: { reason: string };
}

export type ErrorCode = keyof ErrorParams;

export class InputError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name: string = 'InputError';

  constructor(
    readonly code: C,
    readonly params: ErrorParams[C],
    message: string,
  ) {
    super(message);
  }
}

/** The thing asked for does not exist. */
export class NotFoundError<C extends ErrorCode = ErrorCode> extends InputError<C> {
  override readonly name: string = 'NotFoundError';
}
