import { Directory, type Changes } from '../src/directory/directory.js';
import { LocalDeviceSet } from '../src/directory/local-device-set.js';
import { PeerHttpServer } from '../src/http/peer-server.js';
import { DirectoryPeerService, helloOf } from '../src/sync/peer-service.js';
import { HttpPeerClient } from '../src/transport/http-peer-client.js';
import type { PeerService } from '../src/transport/transport.js';
import { FakeClock } from '../src/util/clock.js';
import { SCALE_DEVICES } from './scale/scale.js';
import { benchDevice } from './system.js';

/**
 * What serving one origin's snapshot to many askers costs, against a baseline in the same run: the same service
 * with every answer copied before it is given (as each was built anew before cpu15, and serialised anew). Both
 * sides in this process on loopback over keep-alive connections, so the figure is one whole catch-up's CPU;
 * the difference is the serving side's saving. `node dist/bench/serve-cost.js [requests] [fresh]`: one JSON
 * line; with `fresh`, each request on a new connection, as a cold start's first request to each peer is.
 */
const requests = Number(process.argv[2] ?? 4000);
const fresh = process.argv[3] === 'fresh';

function service(): PeerService {
  const directory = new Directory({ clock: new FakeClock() }, { site: 'cost' });
  const own = { name: 'origin', incarnation: 7, address: '127.0.0.1', host: 'origin' };
  new LocalDeviceSet({ directory }, own).replaceAll(
    Array.from({ length: SCALE_DEVICES }, (_, k) => benchDevice('origin', k)),
  );
  return new DirectoryPeerService({ directory, identity: helloOf({ ...own, site: 'cost' }, () => 1, directory) });
}

/** The answer copied as it was built before: a new object, a new copy of each device. */
function rebuilt(inner: PeerService): PeerService {
  return {
    handle: (route, query, from) => {
      const answer = inner.handle(route, query, from);
      const body = answer.body as Changes;
      if (body.kind !== 'snapshot') return answer;
      const entries = body.entries.map((e) => ({ version: e.version, device: { ...e.device } }));
      return { status: answer.status, body: { ...body, entries } };
    },
  };
}

/** CPU µs per catch-up of the origin's snapshot, four at a time. */
async function perAsk(svc: PeerService): Promise<number> {
  const server = new PeerHttpServer(svc, { host: '127.0.0.1', port: 0 });
  const { port } = await server.start();
  const client = new HttpPeerClient({ connectionsPerPeer: 4 });
  const changes = (c: HttpPeerClient) =>
    c.changes({ address: '127.0.0.1', port }, { origin: 'origin', since: 0, incarnation: 0 }, 5000);
  const once = async () => {
    const c = new HttpPeerClient();
    await changes(c).finally(() => c.close());
  };
  const ask = () => (fresh ? once() : changes(client));
  let next = 0;
  const lanes = () =>
    Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next++ < requests) await ask();
      }),
    );
  await lanes(); // warm-up: the same number, not counted
  next = 0;
  const before = process.cpuUsage();
  await lanes();
  const used = process.cpuUsage(before);
  await client.close();
  await server.stop();
  return (used.user + used.system) / requests;
}

const baseline = await perAsk(rebuilt(service()));
const memo = await perAsk(service());
const again = await perAsk(rebuilt(service()));
const base = (baseline + again) / 2;
console.log(
  JSON.stringify({ requests, fresh, rebuiltUs: base, memoUs: memo, ratio: memo / base, savedUs: base - memo }),
);
