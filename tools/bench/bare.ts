import Fastify from 'fastify';

/** The same HTTP framework, an endpoint that does nothing: the yardstick for the intake. */
const app = Fastify({ logger: false });
app.addContentTypeParser(['application/xml'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.post('/api/v1/reports', async (_request, reply) => reply.code(202).send({ status: 'stored' }));
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${url}\n`);
