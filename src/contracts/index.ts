// Public surface of the input contracts (plan.ts and catalog-load.ts are imported directly by their users).
export * from './parse';
export * from './version';
export * from './release';
export * from './catalog';
export * from './cluster';
