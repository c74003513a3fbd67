import autocannon from 'autocannon';
import { healthyFacts, reportXml } from '../agents/report-xml.ts';

/**
 * Load from a separate process: POST agent reports (XML like the sample) to
 * `url` for `seconds`, rotating over `tokens` installations with unique report
 * ids, and print autocannon's result as JSON.
 */
const [url, tokens, seconds, connections] = process.argv.slice(2).map((v, i) => (i === 0 ? v : Number(v))) as [string, number, number, number];
let n = 0;
const body = (id: number) => reportXml(`load-${process.pid}-${id}`, { ...healthyFacts(), licensePeak: 5 });

const result = await autocannon({
  url,
  connections,
  duration: seconds,
  requests: [
    {
      method: 'POST',
      setupRequest: (request) => {
        const i = n++;
        return {
          ...request,
          headers: { ...request.headers, 'content-type': 'application/xml', authorization: `Bearer dzr_bench_${(i % tokens) + 1}` },
          body: body(i),
        };
      },
    },
  ],
});
process.stdout.write(
  JSON.stringify({
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  }),
);
