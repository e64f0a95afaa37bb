// Runs the `inspectRollbackHosts` activity in its own Node process (through tsx, like the worker): the docker side
// is loaded with a lazy require, which vitest's module runner does not resolve for TypeScript sources.
// Usage: node -r tsx/cjs test/helpers/rollback-inspect.ts <manifest> '<{"cluster":…,"replicas":[…]}>'
import { createActivities } from '../../src/activities';
import { loadClusterConfig } from '../../src/activities/cluster-config';
import { closeHostSessions } from '../../src/activities/hosts/ssh-session';

async function main(): Promise<void> {
  const [manifest, json] = process.argv.slice(2);
  const input = JSON.parse(json!) as Parameters<ReturnType<typeof createActivities>['inspectRollbackHosts']>[0];
  const cluster = await loadClusterConfig(manifest!);
  const acts = createActivities({
    clusters: { [input.cluster]: cluster },
    fetcher: undefined as never,
    cacheDir: '/tmp',
  });
  process.stdout.write(JSON.stringify(await acts.inspectRollbackHosts(input)));
  await closeHostSessions(); // the sessions the activity left idle would keep this process alive
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
