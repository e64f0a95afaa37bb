// `npx tsx lab/cli.ts up|down|status [--fresh] [--json]`: a thin adapter over lab/lab.ts. Exit codes follow
// SPEC §5: 0 ok, 1 failed, 2 usage, 3 (status) the lab needs attention.
import { HOSTS } from './config';
import { labDown, labStatus, labUp, type LabState } from './lab';

function summary(state: LabState): string {
  const lines = [
    `cluster.yaml       ${state.clusterFile}`,
    `release repository ${state.releaseRepository}`,
    `worker env         source ${state.envFile}   (FRAMEWORKS_DATABASE_URL=${state.postgres?.url})`,
    `registry           ${state.registry?.address}   artifacts ${state.artifactServer?.url}`,
    'hosts:',
    ...HOSTS.map((h) => {
      const s = state.hosts[h.name];
      const docker = s?.dockerd ? ` dockerd pid ${s.dockerd.pid}` : '';
      const host = s?.nspawn ? `systemd-nspawn pid ${s.nspawn.pid}` : `sshd pid ${s?.sshd?.pid}`;
      return `  ${h.name} ${h.address}  ${host}${docker}`;
    }),
    `ssh: ssh -i ${state.ssh?.identityFile} -o UserKnownHostsFile=${state.ssh?.knownHosts} root@${HOSTS[0]?.address}`,
  ];
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...flags] = argv;
  const json = flags.includes('--json');
  const log = json ? undefined : (line: string) => console.error(line);
  const unknown = flags.filter((f) => !['--json', '--fresh'].includes(f));
  if (!cmd || !['up', 'down', 'status'].includes(cmd) || unknown.length > 0) {
    console.error('usage: npx tsx lab/cli.ts up [--fresh] | down | status [--json]');
    return 2;
  }
  if (cmd === 'up') {
    const started = Date.now();
    const state = await labUp({ fresh: flags.includes('--fresh'), log });
    if (json) console.log(JSON.stringify(state, null, 2));
    else console.log(`lab up in ${((Date.now() - started) / 1000).toFixed(1)} s\n${summary(state)}`);
    return 0;
  }
  if (cmd === 'down') {
    const report = await labDown({ log });
    if (json) console.log(JSON.stringify(report, null, 2));
    else console.log(report.leftovers.length === 0 ? 'lab removed' : `left behind: ${report.leftovers.join(', ')}`);
    return report.leftovers.length === 0 ? 0 : 1;
  }
  const status = await labStatus();
  if (json) console.log(JSON.stringify(status, null, 2));
  else if (!status.exists) console.log('lab is down');
  else {
    console.log(status.healthy ? 'lab is up and healthy' : 'lab needs attention:');
    for (const p of status.healthy ? [] : status.problems) console.log(`  - ${p}`);
    if (status.state) console.log(summary(status.state));
  }
  return status.healthy ? 0 : status.exists ? 3 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
