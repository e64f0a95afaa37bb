// Shared by the chaos e2e tests and the kill-point harness (bench/chaos.ts): what happened, read back from the
// runs' histories and from the lab's hosts, to check the crash invariants of issue 15.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { parseReleaseManifest } from '../src/contracts/release';
import { getServiceInfo } from '../src/domain/release';
import { HOSTS, SERVICES, type LabPaths } from './config';
import { containerName, nativePaths } from './layout';
import { sshTry } from './ssh';

/** One activity as its run's history records it (retries collapse into one entry; `attempt` is the last). */
export interface ActivityRecord {
  workflowId: string;
  workflowType: string;
  activityType: string;
  input: unknown;
  /** Attempt number of the attempt that ended it, and the worker identity that ran that attempt. */
  attempt: number;
  identity: string;
  outcome: 'completed' | 'failed' | 'timed-out' | 'canceled' | 'pending';
  result: unknown;
  /** A local activity (recorded as a marker). */
  local?: boolean;
}

function decode(payloads: temporal.api.common.v1.IPayloads | null | undefined): unknown {
  const p = payloads?.payloads?.[0];
  if (!p) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(p);
  } catch {
    return undefined;
  }
}

/** Every activity of every run whose workflow id starts with `idPrefix` (all runs of each id). */
export async function activityLog(client: Client, idPrefix: string): Promise<ActivityRecord[]> {
  const out: ActivityRecord[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH "${idPrefix}"` })) {
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const byId = new Map<string, ActivityRecord>();
    for (const e of history.events ?? []) {
      const id = String(e.eventId);
      const s = e.activityTaskScheduledEventAttributes;
      if (s) {
        byId.set(id, {
          workflowId: wf.workflowId,
          workflowType: wf.type,
          activityType: s.activityType?.name ?? '',
          input: decode(s.input),
          attempt: 0,
          identity: '',
          outcome: 'pending',
          result: undefined,
        });
        continue;
      }
      const st = e.activityTaskStartedEventAttributes;
      if (st) {
        const r = byId.get(String(st.scheduledEventId));
        if (r) Object.assign(r, { attempt: st.attempt ?? 0, identity: st.identity ?? '' });
        continue;
      }
      const c = e.activityTaskCompletedEventAttributes;
      if (c) {
        const r = byId.get(String(c.scheduledEventId));
        if (r) Object.assign(r, { outcome: 'completed', result: decode(c.result) });
        continue;
      }
      const f = e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
      if (f) {
        const r = byId.get(String(f.scheduledEventId));
        if (r) r.outcome = e.activityTaskFailedEventAttributes ? 'failed' : 'timed-out';
        continue;
      }
      // A local activity leaves no scheduled/started events, only a marker naming its type and attempt.
      const m = e.markerRecordedEventAttributes;
      if (m?.markerName === 'core_local_activity') {
        const data = decode(m.details?.data) as { activity_type?: string; attempt?: number } | undefined;
        if (data?.activity_type) {
          byId.set(id, {
            workflowId: wf.workflowId,
            workflowType: wf.type,
            activityType: data.activity_type,
            input: undefined,
            attempt: data.attempt ?? 0,
            identity: '',
            outcome: m.failure ? 'failed' : 'completed',
            result: decode(m.details?.result),
            local: true,
          });
        }
        continue;
      }
      const x = e.activityTaskCanceledEventAttributes;
      if (x) {
        const r = byId.get(String(x.scheduledEventId));
        if (r) r.outcome = 'canceled';
      }
    }
    out.push(...byId.values());
  }
  return out;
}

/** `<service>@<host>` of a host activity's input. */
export function replicaOf(r: ActivityRecord): string | undefined {
  const i = r.input as { service?: string; host?: string } | undefined;
  return i?.service && i.host ? `${i.service}@${i.host}` : undefined;
}

/**
 * Host changes per replica, from the histories: activate calls that did something (restarted, replaced, started
 * or reloaded a process; `none` = already at target, nothing done). A duplicate host change shows as a count > 1
 * for one replica within one upgrade.
 */
export function hostChanges(log: ActivityRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of log) {
    if (r.activityType !== 'activateServiceOnHost' || r.outcome !== 'completed') continue;
    const action = (r.result as { action?: string } | undefined)?.action;
    if (action === 'none') continue;
    const key = replicaOf(r)!;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** Process starts systemd recorded for each native lab service (the fixture logs "listening on :<port>"). */
export function nativeStarts(paths: LabPaths): Record<string, number> {
  const out: Record<string, number> = {};
  for (const svc of SERVICES.filter((s) => s.mode === 'native')) {
    for (const host of svc.hosts) {
      const addr = HOSTS.find((h) => h.name === host)!.address;
      const r = sshTry(
        paths,
        addr,
        `journalctl -u frameworks-${svc.name} -o cat --no-pager | grep -c 'listening on :'`,
      );
      out[`${svc.name}@${host}`] = Number(r.stdout.trim() || 0);
    }
  }
  return out;
}

/**
 * Watches every service with more than one replica and records each moment two or more of its replicas failed
 * /health at the same time (the rolling-upgrade invariant: never two replicas of a service down at once).
 */
export function watchReplicasDown(intervalMs = 250): { stop: () => Promise<string[]> } {
  const multi = SERVICES.filter((s) => s.hosts.length > 1);
  const overlaps: string[] = [];
  let running = true;
  const probe = async (host: string, port: number): Promise<boolean> => {
    const addr = HOSTS.find((h) => h.name === host)!.address;
    try {
      const res = await fetch(`http://${addr}:${port}/health`, { signal: AbortSignal.timeout(2_000) });
      return res.status === 200;
    } catch {
      return false;
    }
  };
  const loop = (async () => {
    while (running) {
      for (const s of multi) {
        const up = await Promise.all(s.hosts.map((h) => probe(h, s.port)));
        const down = s.hosts.filter((_, i) => !up[i]);
        if (down.length > 1) overlaps.push(`${new Date().toISOString()} ${s.name}: ${down.join(', ')} down`);
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return overlaps;
    },
  };
}

/** The identity a release pins for `svc` (docker: image digest; native: the linux-amd64 tarball checksum). */
export function pinnedIdentity(repository: string, version: string, svc: string): string {
  const m = parseReleaseManifest(readFileSync(join(repository, 'releases', `${version}.yaml`), 'utf8'), version);
  const info = getServiceInfo(m, svc)!;
  const spec = SERVICES.find((s) => s.name === svc)!;
  return spec.mode === 'docker' ? info.digest! : info.binaries.find((b) => b.arch === 'linux-amd64')!.checksum!;
}

/** Every replica's installed identity (native: installed.json; docker: the container's image digest) and health. */
export async function replicaStates(paths: LabPaths): Promise<Record<string, { identity: string; health: number }>> {
  const out: Record<string, { identity: string; health: number }> = {};
  for (const svc of SERVICES) {
    for (const host of svc.hosts) {
      const addr = HOSTS.find((h) => h.name === host)!.address;
      let identity: string;
      if (svc.mode === 'native') {
        const r = sshTry(paths, addr, `cat ${nativePaths(svc.name).installed} 2>/dev/null`);
        try {
          identity = (JSON.parse(r.stdout) as { identity: string }).identity;
        } catch {
          identity = '(not installed by the orchestrator)';
        }
      } else {
        const r = sshTry(paths, addr, `docker inspect --format '{{.Config.Image}}' ${containerName(svc.name)}`);
        identity = r.stdout.trim().replace(/^.*@/, '');
      }
      let health: number;
      try {
        health = (await fetch(`http://${addr}:${svc.port}/health`, { signal: AbortSignal.timeout(5_000) })).status;
      } catch {
        health = 0;
      }
      out[`${svc.name}@${host}`] = { identity, health };
    }
  }
  return out;
}

const CLI = resolve(__dirname, '..', 'bin', 'frameworks');

/** bin/frameworks as a real process; resolves with its exit code and output. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

export interface LabWorker {
  child: ChildProcess;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** `frameworks worker --manifest <m>` as its own process, resolved once it prints "worker ready". */
export async function startLabWorker(manifest: string, env: NodeJS.ProcessEnv): Promise<LabWorker> {
  const child = spawn(process.execPath, [CLI, 'worker', '--manifest', manifest], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`worker not ready in 60 s:\n${out}`)), 60_000);
    const check = (): void => {
      if (out.includes('worker ready')) {
        clearTimeout(timer);
        ready();
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`worker exited (${code}) before it was ready:\n${out}`));
    });
  });
  return {
    child,
    output: () => out,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}
