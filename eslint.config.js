// One lint configuration for the whole workspace, type-aware (typescript-eslint's recommended
// type-checked rules), run by `pnpm lint` and as part of `pnpm test`.
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/.turbo/**',
      '**/coverage/**',
      '**/drizzle/**',
      // k6 scripts run in k6, not Node; `tsc` checks them against @types/k6 (loadtests/tsconfig.json).
      'loadtests/*.js',
      'loadtests/lib/**',
      'loadtests/scenarios/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // The loadtests' Node-side tests are checked by their own tsconfig (the k6 one has no Node).
    files: ['loadtests/test/**/*.ts', 'loadtests/vitest.config.ts'],
    languageOptions: {
      parserOptions: { projectService: false, project: './loadtests/tsconfig.node.json' },
    },
  },
  {
    // Tests read parsed JSON and use vitest's asymmetric matchers (`expect.any()` is typed any),
    // and pass methods to `expect()` or spies; those rules flag what is idiomatic there.
    files: ['**/*.test.ts', '**/test/**/*.ts', '**/benchmarks/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // CommonJS by nature: pnpm loads .pnpmfile.cjs with require().
    files: ['**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // A fixture that must fail to build: its import is deliberately unresolvable.
    files: ['shared/build/test/fixture/**'],
    rules: { '@typescript-eslint/no-unsafe-call': 'off' },
  }
)
