import type { FastifyReply, FastifyRequest } from 'fastify';

/** How long, and how much more, a refused body may go on arriving after the answer before its connection is cut. */
export const LINGER = { ms: 3_000, bytes: 8 * 1024 * 1024 };

/**
 * Lets an answer given before the body was read reach a client that is still
 * sending it, and then closes the connection.
 *
 * Closing a socket while the client's bytes wait unread makes the kernel send
 * a reset rather than a clean end, and a client still uploading (curl with a
 * 100 MB file) then fails on its next write before it reads the answer: it
 * reports the «100 Continue» it had and nothing else. So the connection is
 * not closed with the answer: what still arrives is read and dropped (curl
 * stops sending once it reads an error), and the connection is closed once
 * the body has ended, cleanly, as nothing is left unread; a body that goes on
 * past `linger` after the answer has its connection cut, so an endless one
 * holds nothing for long. Call it instead of answering with `connection:
 * close`, which makes Node close the socket the moment the answer is out.
 */
export function lingerForUnreadBody(request: FastifyRequest, reply: FastifyReply, linger = LINGER): void {
  const incoming = request.raw;
  reply.raw.once('finish', () => {
    if (incoming.complete || incoming.destroyed) return;
    const socket = incoming.socket;
    const cut = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    const timer = setTimeout(cut, linger.ms);
    timer.unref();
    let dropped = 0;
    incoming.on('data', (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > linger.bytes) cut();
    });
    incoming.once('end', () => {
      clearTimeout(timer);
      socket.end();
    });
    socket.once('close', () => clearTimeout(timer));
    // A multipart parser may still be reading it: the rest goes nowhere.
    incoming.unpipe();
    incoming.resume();
  });
}
