import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    // test/temporal-postgres/ checks PostgreSQL visibility: it belongs to the suite on the production-shaped server
    // (FW_TEMPORAL=postgres, see test/helpers/global-setup.ts), not to the dev server's.
    exclude: [
      ...configDefaults.exclude,
      ...(process.env.FW_TEMPORAL === 'postgres' ? [] : ['test/temporal-postgres/**']),
    ],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
