// A worker as a separate OS process (bin/frameworks worker), so tests can SIGKILL it like a crashed host. The lab's
// own starter (lab/chaos-checks.ts, which bench/chaos.ts uses too), under the names the tests know.
export { startLabWorker as spawnWorker, type LabWorker as WorkerProcess } from '../../lab/chaos-checks';
