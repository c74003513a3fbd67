import { afterAll, expect } from 'vitest';
import { forgetOutgoing, russianMessagesWithStrangeWords } from './russian-words.ts';

// Every Russian message the bot sent in this test file: no stray Latin words (see russian-words.ts).
afterAll(() => {
  const found = russianMessagesWithStrangeWords();
  forgetOutgoing();
  expect(found, 'Russian messages with Latin words a manager would not know').toEqual([]);
});
