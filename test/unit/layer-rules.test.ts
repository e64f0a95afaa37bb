// The layer rules of eslint.config.mjs (issue 13 §5) fire on a violating import and stay quiet on the imports each
// layer is meant to make. The rules are taken from the real config (every entry that sets no-restricted-imports)
// and run without type information, so the test is fast; a second check asks the whole config which rule applies
// to a file in each folder, so a later entry silently overriding a layer rule fails here too.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const RULE = 'no-restricted-imports';

let layers: ESLint;
let full: ESLint;
let config: Linter.Config[];

beforeAll(async () => {
  const mod = (await import(pathToFileURL(join(ROOT, 'eslint.config.mjs')).href)) as { default: Linter.Config[] };
  config = mod.default;
  const importRules = config.filter((c) => c.rules?.[RULE] !== undefined);
  layers = new ESLint({
    cwd: ROOT,
    overrideConfigFile: true,
    overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...importRules],
  });
  full = new ESLint({ cwd: ROOT });
});

/** The no-restricted-imports messages for `source` linted as if it were the file `filePath`. */
async function restricted(filePath: string, source: string): Promise<string[]> {
  const [result] = await layers.lintText(source, { filePath: join(ROOT, filePath) });
  expect(result!.messages.filter((m) => m.ruleId !== RULE)).toEqual([]);
  return result!.messages.map((m) => m.message);
}

const use = (from: string, typeOnly = false): string =>
  `import ${typeOnly ? 'type ' : ''}{ thing } from '${from}';\nexport const used: unknown = thing;\n`;

interface Rule {
  name: string;
  file: string;
  /** Imports the rule must refuse, and the phrase its message must carry. */
  refused: string[];
  message: string;
  /** Imports the layer legitimately makes. */
  allowed: string[];
}

const RULES: Rule[] = [
  {
    name: 'src/domain imports nothing from src/activities',
    file: 'src/domain/hosts/example.ts',
    refused: ['../../activities/ssh/client', '../../activities', '../../activities/hosts/native'],
    message: 'src/domain is pure',
    allowed: ['./shell-quote', '../../contracts/version', '../../errors', 'zod', '@temporalio/activity'],
  },
  {
    name: 'src/contracts imports nothing from src/domain',
    file: 'src/contracts/frameworks/example.ts',
    refused: ['../../domain/upgrade-plan', '../../domain', '../../domain/frameworks/placement'],
    message: 'src/contracts imports nothing from src/domain',
    allowed: ['../version', './registry', '../parse', '../../errors', 'yaml'],
  },
  {
    name: 'src/cli imports nothing from src/activities',
    file: 'src/cli/commands/example.ts',
    refused: ['../../activities/catalog', '../../activities/migrations/activities', '../../activities'],
    message: 'The CLI never runs worker activities',
    allowed: ['../../config/catalog', '../../domain/upgrade-plan', '../../workflows/messages', '@temporalio/client'],
  },
  {
    name: 'src/config imports nothing from src/activities',
    file: 'src/config/example.ts',
    refused: ['../activities/cluster-config', '../activities/postgres/tunnel'],
    message: 'it imports no activities',
    allowed: ['../contracts/cluster', '../domain/catalog', './sops', '@temporalio/worker'],
  },
  {
    name: 'scripts import nothing from test/',
    file: 'scripts/example.ts',
    refused: ['../test/helpers/fixtures', '../test/helpers/cli'],
    message: 'Scripts, benchmarks and the lab import no test code',
    allowed: ['../lab/lock', '../src/domain/release', 'vitest'],
  },
  {
    name: 'bench imports nothing from test/',
    file: 'bench/example.ts',
    refused: ['../test/helpers/fixtures', '../test/helpers/purser-data'],
    message: 'Scripts, benchmarks and the lab import no test code',
    allowed: ['../lab/fixture-cluster', '../lab/purser-seed', './types'],
  },
  {
    name: 'lab imports nothing from test/',
    file: 'lab/example.ts',
    refused: ['../test/helpers/servers', '../test/helpers/fixtures'],
    message: 'Scripts, benchmarks and the lab import no test code',
    allowed: ['./config', '../src/domain/hosts/shell-quote', 'pg'],
  },
];

describe('layer rules', () => {
  for (const rule of RULES) {
    describe(rule.name, () => {
      it('refuses each violating import, type-only imports included', async () => {
        for (const from of rule.refused) {
          for (const typeOnly of [false, true]) {
            const messages = await restricted(rule.file, use(from, typeOnly));
            expect(messages, `${rule.file} importing ${from}`).toHaveLength(1);
            expect(messages[0]).toContain(rule.message);
          }
        }
      });

      it('allows the imports the layer is meant to make', async () => {
        for (const from of rule.allowed) {
          expect(await restricted(rule.file, use(from)), `${rule.file} importing ${from}`).toEqual([]);
        }
      });

      it('is the rule the whole config applies to that folder', async () => {
        const effective = (await full.calculateConfigForFile(join(ROOT, rule.file))) as Linter.Config;
        const own = config.filter(
          (c) => c.rules?.[RULE] !== undefined && c.files?.some((g) => typeof g === 'string' && matches(g, rule.file)),
        );
        expect(own).toHaveLength(1);
        const [, options] = own[0]!.rules![RULE] as [string, unknown];
        // ESLint normalises the severity 'error' to 2.
        expect(effective.rules?.[RULE]).toEqual([2, options]);
      });
    });
  }
});

/** The globs used by the layer entries: `<folder>/**\/*.ts`. */
function matches(glob: string, file: string): boolean {
  const folder = glob.replace(/\/\*\*\/\*\.ts$/, '/');
  return glob !== folder && file.startsWith(folder);
}

describe('file size rule', () => {
  const maxLines = async (filePath: string): Promise<unknown> =>
    ((await full.calculateConfigForFile(join(ROOT, filePath))) as Linter.Config).rules?.['max-lines'];

  it('limits workflow files to 250 lines and every other source file to 400', async () => {
    expect(await maxLines('src/workflows/example.ts')).toEqual([2, { max: 250 }]);
    for (const folder of ['activities', 'cli/commands', 'contracts', 'domain', 'worker', 'config']) {
      expect(await maxLines(`src/${folder}/example.ts`)).toEqual([2, { max: 400 }]);
    }
  });

  it('is switched off in no source file, and every source file keeps to its limit', () => {
    const files = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    );
    expect(files.length).toBeGreaterThan(100);
    const offenders: string[] = [];
    for (const f of files) {
      const text = readFileSync(join(ROOT, 'src', f), 'utf8');
      // Any eslint-disable form (file, line, next line) naming max-lines, in a line or block comment.
      if (/eslint-disable(?:-next-line|-line)?\b[^\n]*\bmax-lines\b/.test(text))
        offenders.push(`${f}: disables max-lines`);
      const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
      const max = f.startsWith('workflows/') ? 250 : 400;
      if (lines > max) offenders.push(`${f}: ${lines} lines (max ${max})`);
    }
    expect(offenders).toEqual([]);
  });
});
