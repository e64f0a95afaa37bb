// Access to the servers global-setup started. Missing servers are a failure, never a skip.
import pg from 'pg';
import { inject } from 'vitest';

function required(key: 'temporalAddress' | 'databaseUrl' | 'temporalUiUrl' | 'temporalBinary'): string {
  const value = inject(key);
  if (!value) {
    throw new Error(`test needs ${key} from global-setup; run without FW_TEST_SERVERS=none`);
  }
  return value;
}

export const temporalAddress = (): string => required('temporalAddress');
export const temporalUiUrl = (): string => required('temporalUiUrl');
export const temporalBinary = (): string => required('temporalBinary');
export const databaseUrl = (): string => required('databaseUrl');

/** Creates (or recreates) an empty database on the test server. */
export async function freshDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: `${databaseUrl()}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
}

/** Runs one query against a database of the test server. */
export async function sql<T extends Record<string, unknown>>(
  database: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: `${databaseUrl()}/${database}` });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}
