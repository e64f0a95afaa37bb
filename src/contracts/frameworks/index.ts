// FrameWorks' own input formats, read as its CLI reads them.
export * from './manifest';
export * from './validate';
export * from './dotenv';
export { GoScalar } from './go-yaml';
