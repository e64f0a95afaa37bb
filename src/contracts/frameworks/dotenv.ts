// The env-file line format of the FrameWorks CLI (reference §2.3, `mergeEnvFilesInto`), which is NOT the usual
// dotenv: no quotes are stripped, no `export ` prefix is understood, no escapes are processed. Parsing exactly the
// same way matters because the operator's files are shared with the CLI: `A="x"` must mean the 3-character value
// `"x"` here too. Pure: used by the worker after decryption.

/**
 * Splits on `\n`; trims each line; skips empty lines, lines starting with `#` and lines without `=`; the key is the
 * text before the first `=`, the value the rest, both trimmed. A later line for the same key wins. `KEY=` gives "".
 */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    // defineProperty: a key such as `__proto__` is data here, not the object's prototype.
    Object.defineProperty(out, line.slice(0, eq).trim(), {
      value: line.slice(eq + 1).trim(),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** Merges env maps in order: later maps override earlier keys (`env_files` order). */
export function mergeEnv(...maps: Array<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of maps) {
    for (const [k, v] of Object.entries(m)) {
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}

/**
 * ResolveSharedEnvPlaceholder: a value that is, once trimmed, exactly `${KEY}` is replaced by the shared env's KEY
 * (trimmed); anything else is returned trimmed and unchanged (there is no general interpolation). An empty or unset
 * key is an error. The error names the key, never a value.
 */
export function resolveSharedEnvPlaceholder(
  value: string,
  sharedEnv: Readonly<Record<string, string>>,
): { ok: true; value: string } | { ok: false; error: string } {
  const v = value.trim();
  if (!v.startsWith('${') || !v.endsWith('}')) return { ok: true, value: v };
  const key = v.slice(2, -1).trim();
  if (key === '') return { ok: false, error: `empty shared env placeholder "${v}"` };
  const resolved = (Object.hasOwn(sharedEnv, key) ? sharedEnv[key]! : '').trim();
  if (resolved === '') return { ok: false, error: `shared env placeholder ${key} is not set` };
  return { ok: true, value: resolved };
}
