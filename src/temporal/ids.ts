// Workflow ids double as locks (SPEC §4): every mutating change of a cluster shares one id, so Temporal itself
// refuses a second concurrent change. Read-only runs get unique ids. Pure: used by the CLI and workflows alike.

export function taskQueueFor(cluster: string): string {
  return `fw-${cluster}`;
}

export function changeWorkflowId(cluster: string): string {
  return `fw/${cluster}/change`;
}

export function serviceChildWorkflowId(cluster: string, service: string): string {
  return `fw/${cluster}/change/${service}`;
}

export function dataMigrationWorkflowId(cluster: string, service: string, id: string): string {
  return `fw/${cluster}/data/${service}.${id}`;
}

/** Read-only operations (plan, status, doctor, list, verify): `fw/<cluster>/<op>/<unique>`. */
export function readOnlyWorkflowId(cluster: string, op: string, unique: string): string {
  return `fw/${cluster}/${op}/${unique}`;
}
