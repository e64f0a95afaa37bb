// One bare SSH round trip for the benchmarks' baselines and diagnostics: connect with the pinned key, `true`,
// close — always a NEW connection (withHostSsh would hand out a session kept from an earlier step).
import type { LoadedCluster } from '../src/activities/cluster-config';
import { hostConnectOptions } from '../src/activities/hosts/ssh-session';
import { connectSsh, exec } from '../src/activities/ssh/client';

export async function bareSshTrip(cluster: LoadedCluster, host: string): Promise<void> {
  const conn = await connectSsh(hostConnectOptions(cluster, host));
  try {
    const r = await exec(conn, ['true'], { timeoutMs: 15_000 });
    if (r.code !== 0) throw new Error(`ssh ${host} true exited ${r.code}`);
  } finally {
    await conn.close();
  }
}
