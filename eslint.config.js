// Type-aware, strict typescript-eslint over src/, test/ and bench/. Prettier owns layout; this owns
// correctness. Rules that do not fit are turned off below with the reason beside each.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const messageInCondition = 'Decide on a typed reason (a code or an error class), never on an error message text.';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench-results/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Numbers and booleans in template strings are how log lines and errors are written here.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `void promise` marks a deliberately detached task; the rule's other half stays on.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      '@typescript-eslint/no-confusing-void-expression': 'off', // arrow shorthands returning void are idiomatic
      'no-restricted-syntax': [
        'error',
        { selector: 'IfStatement > .test MemberExpression[property.name="message"]', message: messageInCondition },
        { selector: 'ConditionalExpression > .test MemberExpression[property.name="message"]', message: messageInCondition },
        {
          selector:
            'CallExpression[callee.property.name=/^(test|match|includes|startsWith|endsWith)$/] MemberExpression[property.name="message"]',
          message: messageInCondition,
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // Tests and the bench read back what they just made; a non-null assertion there is the check.
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-syntax': 'off',
    },
  },
);
