import { createInterface } from 'node:readline';
import { ChatTerminal, type ChatPerson } from './terminal.ts';
import { TelegramStandIn, type StandInUser } from './telegram.ts';

/**
 * `npm run standin`: the Bot API stand-in on its own, so `npm start` can be
 * seen working before a bot is created with @BotFather. It prints the `.env`
 * lines that point the service at it, shows the chats as the demo does, and
 * takes what is typed as a message from the person shown in the prompt.
 */
const port = Number(process.env.STANDIN_PORT ?? 8081);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`STANDIN_PORT must be a port number (0-65535), not "${process.env.STANDIN_PORT}"\n`);
  process.exit(2);
}

/** The person typing: made the first admin by the ADMIN_IDS line printed below. */
const admin: StandInUser = { id: 111111111, first_name: 'Анна', last_name: 'Админова', language_code: 'ru' };
const people: ChatPerson[] = [{ id: admin.id, name: 'Анна Админова (admin)' }];

let standIn: TelegramStandIn;
try {
  standIn = await TelegramStandIn.start({ port });
} catch (err) {
  process.stderr.write(`cannot listen on 127.0.0.1:${port} (${(err as Error).message}); set STANDIN_PORT to a free port\n`);
  process.exit(1);
}

const rl = createInterface({ input: process.stdin, output: process.stdout });
const out = (text: string) => {
  process.stdout.write(text);
  rl.prompt(true);
};
const terminal = new ChatTerminal(standIn, people, new Map(), out);
standIn.onEvent((event) => {
  if (event.type === 'called' && event.method === 'getMe') out('\x1b[2m(the service connected)\x1b[0m\n');
});

out(
  [
    '',
    `\x1b[1mBot API stand-in\x1b[0m on ${standIn.url}: a local Telegram for trying dozor without a bot.`,
    'Put these lines in .env (or export them), then run `npm start` in another terminal:',
    '',
    `  BOT_TOKEN=${standIn.token}`,
    `  TELEGRAM_API_ROOT=${standIn.url}`,
    `  ADMIN_IDS=${admin.id}`,
    '',
    'What the bot sends shows here. Type as Анна (an admin), e.g. /help, /status, /whoami;',
    'a button\'s number presses it; "as <telegram id>" types as someone else (add them with `npx dozor user add`); Ctrl+C stops.',
    '',
  ].join('\n'),
);

let actingAs = admin;
const setPrompt = () => rl.setPrompt(`${actingAs.first_name}> `);
setPrompt();
rl.prompt();
rl.on('line', (line) => {
  const input = line.trim();
  if (!input) return rl.prompt();
  const as = /^as\s+(\d+)$/.exec(input);
  if (as) {
    const id = Number(as[1]);
    actingAs = id === admin.id ? admin : { id, first_name: `User ${id}`, language_code: 'ru' };
    if (!people.some((p) => p.id === id)) people.push({ id, name: `user ${id}` });
    setPrompt();
    return rl.prompt();
  }
  if (/^\d+$/.test(input)) {
    const button = terminal.button(Number(input));
    if (!button) out('No button with that number.\n');
    else standIn.press(actingAs, button.message, button.data);
    return rl.prompt();
  }
  standIn.userSays(actingAs, input);
  rl.prompt();
});

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  rl.close();
  await standIn.close();
  process.stdout.write('\n');
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
rl.on('close', () => void stop());
