import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Node's own HTTP server reading the body and answering 202, nothing else:
 * the yardstick of issue #31, against which the intake's CPU per report is
 * held (at most three times this server's CPU per request).
 */
const server = createServer((request, response) => {
  request.on('data', () => {});
  request.on('end', () => {
    response.writeHead(202, { 'content-type': 'application/json' });
    response.end('{"status":"stored"}');
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
