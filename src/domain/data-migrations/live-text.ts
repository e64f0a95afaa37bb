// How a data migration's live state reads in `data-migrate list` (pure; tested by value).
import type { LiveState } from './gates';

export function liveText(l: LiveState): string {
  switch (l.kind) {
    case 'status':
      return `status: ${l.status}`;
    case 'missing_table':
      return 'status: pending (no _data_migrations table yet)';
    case 'not_adopted':
      return 'service binary has NOT ADOPTED data-migrations';
    case 'not_registered':
      return 'DECLARED in catalog but NOT REGISTERED in service binary';
    case 'fetch_error':
      return `fetch failed: ${l.error}`;
  }
}
