export * from './claims.js';
export * from './token-error.js';
export * from './verify.js';
export * from './mint.js';
export * from './app-access.js';
export * from './grants.js';
