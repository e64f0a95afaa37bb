export * from './selector';
export * from './release';
export * from './catalog';
