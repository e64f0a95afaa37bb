// The environment itself: the dev server temporal-dev started is reachable with our search attributes
// registered, and PostgreSQL is a real server that accepts connections and DDL.
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes';
import { databaseUrl, temporalAddress } from '../helpers/servers';

describe('test infrastructure', () => {
  it('Temporal dev server answers and has the FrameWorks search attributes registered', async () => {
    const conn = await Connection.connect({ address: temporalAddress() });
    try {
      const res = await conn.operatorService.listSearchAttributes({ namespace: 'default' });
      const custom = Object.keys(res.customAttributes ?? {});
      for (const name of Object.keys(SEARCH_ATTRIBUTES)) expect(custom).toContain(name);
      expect(res.customAttributes?.FwServices).toBe(7); // INDEXED_VALUE_TYPE_KEYWORD_LIST
    } finally {
      await conn.close();
    }
  });

  it('PostgreSQL is real: creates a database, runs DDL and a transaction', async () => {
    const admin = new pg.Client({ connectionString: `${databaseUrl()}/postgres` });
    await admin.connect();
    try {
      await admin.query('DROP DATABASE IF EXISTS fw_infra_check');
      await admin.query('CREATE DATABASE fw_infra_check');
    } finally {
      await admin.end();
    }
    const db = new pg.Client({ connectionString: `${databaseUrl()}/fw_infra_check` });
    await db.connect();
    try {
      await db.query('BEGIN');
      await db.query('CREATE TABLE t (id int primary key)');
      await db.query('INSERT INTO t VALUES (1), (2)');
      await db.query('ROLLBACK');
      const r = await db.query<{ n: string }>("SELECT count(*) AS n FROM pg_tables WHERE tablename = 't'");
      expect(r.rows[0]?.n).toBe('0');
      const v = await db.query<{ server_version_num: string }>('SHOW server_version_num');
      expect(Number(v.rows[0]?.server_version_num)).toBeGreaterThanOrEqual(120000);
    } finally {
      await db.end();
    }
  });
});
