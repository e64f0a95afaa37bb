// Schema migrations (SPEC §7, reference §4): items discovered on disk, ledger rows read from a database, and
// the inputs/progress/results of the `schemaMigrate` workflow. JSON-plain; an item never carries its SQL (the
// activity reads the file by path and re-checks the checksum), so histories stay small.
import { z } from 'zod';

export const PHASES = ['expand', 'postdeploy', 'contract'] as const;
export const PhaseSchema = z.enum(PHASES);
export type Phase = z.infer<typeof PhaseSchema>;

export const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const DatabaseNameSchema = z
  .string()
  .regex(SQL_IDENTIFIER, 'must be an SQL identifier ([A-Za-z_][A-Za-z0-9_]*)');

export const MigrationItemSchema = z
  .object({
    database: DatabaseNameSchema,
    version: z.string(),
    phase: PhaseSchema,
    seq: z.number().int().min(1),
    filename: z.string(),
    /** Lowercase hex SHA-256 of the file bytes. */
    checksum: z.string().regex(/^[0-9a-f]{64}$/),
    /** false for `.notx.sql` (autocommit; CREATE INDEX CONCURRENTLY). */
    transactional: z.boolean(),
    /** Path relative to the migrations root: `<db>/<version>/<phase>/<file>`. */
    relPath: z.string(),
  })
  .strict();
export type MigrationItem = z.infer<typeof MigrationItemSchema>;

/** One `_migrations` row (reference §4.5); the key is (version, phase, seq), the filename is informational. */
export const LedgerRowSchema = z.object({
  version: z.string(),
  phase: z.string(),
  seq: z.number().int(),
  filename: z.string(),
  checksum: z.string(),
  transactional: z.boolean(),
});
export type LedgerRow = z.infer<typeof LedgerRowSchema>;

/** A database's ledger as read; a missing `_migrations` table is an empty ledger, any other failure is `error`. */
export const LedgerReadSchema = z.discriminatedUnion('state', [
  z.object({ state: z.literal('ok'), database: z.string(), tableExists: z.boolean(), rows: z.array(LedgerRowSchema) }),
  z.object({ state: z.literal('error'), database: z.string(), error: z.string() }),
]);
export type LedgerRead = z.infer<typeof LedgerReadSchema>;

export function ledgerKey(x: { version: string; phase: string; seq: number }): string {
  return `${x.version}:${x.phase}:${x.seq}`;
}
