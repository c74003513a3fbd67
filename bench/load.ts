import autocannon from 'autocannon';

/**
 * Load from a separate process: POST agent reports (XML like the sample) to
 * `url` for `seconds`, rotating over `tokens` installations with unique report
 * ids, and print autocannon's result as JSON.
 */
const [url, tokens, seconds, connections] = process.argv.slice(2).map((v, i) => (i === 0 ? v : Number(v))) as [string, number, number, number];
let n = 0;
const body = (id: number) => `<?xml version="1.0" encoding="UTF-8"?>
<report version="1" id="load-${process.pid}-${id}" generated-at="${new Date().toISOString()}">
  <shell version="6.4.3.59"/>
  <update number="2251" operap-date="${new Date().toISOString().slice(0, 10)}"/>
  <service state="running" account="user"/>
  <senselock state="ok"/>
  <kit assembled="true" daily-update="true" copybaseweb="true"/>
  <storage path="\\\\nas\\kodeks" reachable="true"/>
  <license limit="10" peak="5" exhausted="0"/>
</report>`;

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
