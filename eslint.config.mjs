// Flat config: type-aware typescript-eslint plus the Temporal workflow-sandbox rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'lib/**',
      '.tools/**',
      '.data/**',
      'test-artifacts/**',
      'eslint.config.mjs',
      'test/fixtures/**/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-deprecated': 'warn',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node builtins, no I/O libraries, and
    // activities may only be imported as types (the worker registers the implementations).
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Workflow code must not import Node builtins.' },
            {
              group: [
                'fs',
                'path',
                'child_process',
                'net',
                'http',
                'https',
                'os',
                'crypto',
                'pg',
                'ssh2',
                'dockerode',
                'pino',
              ],
              message: 'Workflow code must stay deterministic: do I/O in activities.',
            },
            {
              group: ['**/activities/**', '**/activities'],
              allowTypeImports: true,
              message: 'Import activities as types only (proxyActivities<typeof ...>).',
            },
          ],
        },
      ],
    },
  },
  prettier,
);
