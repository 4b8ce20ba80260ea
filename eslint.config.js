import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Workspace packages reach each other only through `@robostream/<pkg>` and its `exports` map, never by a path into
// another package's src: an internal module can then move or change without breaking a service at run time.
const PACKAGES = ['protocol', 'signaling', 'streamer', 'gateway', 'web', 'infra'];
const internalsOf = (pkgs) => pkgs.flatMap((p) => [`**/${p}/src`, `**/${p}/src/**`]);
const crossPackageImports = (own) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: [
        {
          group: [
            ...internalsOf(PACKAGES.filter((p) => p !== own)),
            '@robostream/*/src',
            '@robostream/*/src/**',
          ],
          message:
            "Import another package through '@robostream/<pkg>' (its package.json exports), not its src.",
        },
      ],
    },
  ],
});

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'test-artifacts/**', '.dev-keys/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        crypto: 'readonly',
        performance: 'readonly',
        WebSocket: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...PACKAGES.map((own) => ({
    files: [own === 'infra' ? 'infra/**/*.ts' : `services/${own}/**/*.ts`],
    rules: crossPackageImports(own),
  })),
  // Repository-wide tests and scripts use the services as any other code would.
  { files: ['test/**/*.ts', 'scripts/**/*.ts', 'scripts/**/*.mjs'], rules: crossPackageImports(null) },
);
