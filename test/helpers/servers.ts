// Access to the servers global-setup started. Missing servers are a failure, never a skip.
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
