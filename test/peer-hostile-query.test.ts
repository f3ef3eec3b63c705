import './helpers/no-unhandled.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PeerHttpServer } from '../src/http/peer-server.js';
import { checkChanges, checkHello, checkSets } from '../src/sync/peer-protocol.js';
import { systemClock } from '../src/util/clock.js';
import { device, SimSite } from './helpers/sim.js';

/**
 * attack14: odd query strings on a real peer endpoint (an agent of a simulated site, its peer endpoint a real
 * PeerHttpServer on 127.0.0.1). The local API refuses a repeated parameter (readQuery); the peer endpoint took
 * the first of each silently (`origin=a&origin=b` answered for `a`), read an empty `since=` as 0 (the whole
 * snapshot), and took `since=1e3`, `0x10`, `+5`, `5.0` as numbers (Number() is lenient): each a guess at what
 * the client meant rather than a clear error. Each must get a 400 with a problem saying why, be counted, and
 * leave the endpoint answering; what it does answer must be true (`datagram=1` names the real port).
 */
interface Endpoint {
  site: SimSite;
  base: string;
  name: string;
  incarnation: number;
  /** Requests answered with this status on a route (herald_peer_requests_total). */
  served: (route: string, status: number) => number;
}

async function endpoint(): Promise<Endpoint> {
  const site = new SimSite(1416, {}, 1000, undefined, { logLevel: 'silent', settleTurns: 1 });
  let port = 0;
  const sim = await site.start('a-0', [device('d-0')], {
    components: {
      peerListener: (service, metrics) => {
        const server = new PeerHttpServer(
          service,
          { host: '127.0.0.1', port: 0 },
          {
            clock: systemClock(),
            onRejected: (reason) => metrics.invalidInput.inc({ source: 'peer-request', reason }),
          },
        );
        return {
          start: async () => (port = (await server.start()).port),
          stop: () => server.stop(),
        };
      },
    },
  });
  const served = (route: string, status: number) =>
    sim.agent.metrics.peerRequestsServed.get({ route, status: String(status) });
  return { site, base: `http://127.0.0.1:${port}`, name: sim.name, incarnation: sim.incarnation, served };
}

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('peer endpoint: repeated parameters and loose numbers get a 400 naming the parameter', async () => {
  const { site, base, name, incarnation, served } = await endpoint();
  try {
    const changes = (q: string) => `${base}/v1/peer/changes?${q}`;
    const refused = [
      changes(`origin=${name}&origin=b-1&since=0&incarnation=${incarnation}`),
      changes(`origin=${name}&since=0&since=5&incarnation=${incarnation}`),
      changes(`origin=${name}&since=&incarnation=${incarnation}`),
      changes(`origin=${name}&since=1e3&incarnation=${incarnation}`),
      changes(`origin=${name}&since=0x10&incarnation=${incarnation}`),
      changes(`origin=${name}&since=+5&incarnation=${incarnation}`),
      changes(`origin=${name}&since=5.0&incarnation=${incarnation}`),
      changes(`origin=${name}&since=0&incarnation=`),
      `${base}/v1/peer/hello?datagram=1&datagram=0`,
      `${base}/v1/peer/hello?peers=1&peers=0`,
    ];
    const answers: string[] = [];
    for (const url of refused) {
      const { status, body } = await get(url);
      answers.push(`${status} ${JSON.stringify(body.detail)} <- ${url.slice(base.length)}`);
    }
    const wrong = answers.filter((a) => !a.startsWith('400 '));
    assert.equal(wrong, [], `answered, not refused:\n${wrong.join('\n')}`);
    assert.is(served('changes', 400) + served('hello', 400), refused.length, 'each refusal counted');
    // The endpoint still answers a plain request, truthfully.
    const ok = await get(changes(`origin=${name}&since=0&incarnation=${incarnation}`));
    assert.is(ok.status, 200);
    const held = checkChanges(ok.body, name);
    assert.is(held.incarnation, incarnation);
  } finally {
    await site.stopAll();
  }
});

test('peer endpoint: absurd but well-formed numbers get a true answer or a clear error, never a crash', async () => {
  const { site, base, name, incarnation } = await endpoint();
  try {
    const changes = (q: string) => `${base}/v1/peer/changes?${q}`;
    const huge = String(Number.MAX_SAFE_INTEGER);
    const beyond = await get(changes(`origin=${name}&since=${huge}&incarnation=${incarnation}`));
    // Beyond what it holds: it holds nothing newer (a 200 naming its own version), or says it cannot (4xx).
    if (beyond.status === 200) assert.is(checkChanges(beyond.body, name).version, 1, 'claimed a version it lacks');
    else assert.ok(beyond.status >= 400 && beyond.status < 500, `status ${beyond.status}`);
    const future = await get(changes(`origin=${name}&since=0&incarnation=${huge}`));
    assert.ok(future.status < 500, `a future incarnation: status ${future.status}`);
    for (const q of [`since=1e400`, `since=-1`, `incarnation=-1`, `since=9007199254740993`]) {
      const r = await get(changes(`origin=${name}&${q}`));
      assert.is(r.status, 400, `${q}: ${r.status}`);
    }
    // datagram=1 on an open site: answered (the port is no secret there), and it is the real port.
    const hello = await get(`${base}/v1/peer/hello?datagram=1`);
    assert.is(hello.status, 200);
    assert.is(checkHello(hello.body).datagramPort, 7770, 'named a datagram port the agent does not send from');
    const still = await get(`${base}/v1/peer/hello`);
    assert.is(still.status, 200);
  } finally {
    await site.stopAll();
  }
});

/**
 * attack19: the bulk catch-up's page (`sets=1[&after=NAME]`, bulk16). `sets=2` (or `sets=`, `sets=true`) was
 * answered 200 with this agent's own snapshot (the plain catch-up of its own set, `sets` ignored), and `sets=1`
 * with an `origin`, `since` or `incarnation` silently dropped them: each a guess at what was meant.
 */
test('peer endpoint: a malformed bulk page request gets a 400 naming what was wrong, counted', async () => {
  const { site, base, name, incarnation, served } = await endpoint();
  try {
    const changes = (q: string) => `${base}/v1/peer/changes?${q}`;
    const refused = [
      changes('sets=2'),
      changes('sets='),
      changes('sets=true'),
      changes('sets=1&sets=1'),
      changes('sets=1&after='),
      changes('sets=1&after=a-0&after=b-0'),
      changes(`sets=1&after=${'a'.repeat(200)}`),
      changes('sets=1&after=A_0'),
      changes(`sets=1&origin=${name}`),
      changes(`sets=1&since=0&incarnation=${incarnation}`),
    ];
    const answers: string[] = [];
    for (const url of refused) {
      const { status, body } = await get(url);
      answers.push(`${status} ${JSON.stringify(body.detail)} <- ${url.slice(base.length, base.length + 80)}`);
    }
    const wrong = answers.filter((a) => !a.startsWith('400 '));
    assert.equal(wrong, [], `answered, not refused:\n${wrong.join('\n')}`);
    assert.is(served('changes', 400), refused.length, 'each refusal counted');
    // A query past the server's bound is refused before the service (counted as invalid peer input).
    assert.is((await get(changes(`sets=1&after=${'a'.repeat(5000)}`))).status, 400);
    const page = await get(changes('sets=1'));
    assert.is(page.status, 200);
    assert.equal(
      checkSets(page.body, undefined).sets.map((set) => set.origin),
      [name],
      'its own set',
    );
    const after = await get(changes('sets=1&after=a-0'));
    assert.is(after.status, 200);
  } finally {
    await site.stopAll();
  }
});

test.run();
