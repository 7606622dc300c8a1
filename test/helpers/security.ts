// Hostile values for the places a file name is built from input (container IDs, network names,
// interface names, device IDs), shared by the unit and integration path tests.

/** Paths an escape would create, named here so that tests can check they never appear. */
export const ESCAPE_TARGETS = ['/fcni-t-abs', '/tmp/fcni-t-escape'] as const;

/** `../`, absolute, `..` in the middle, NUL, over NAME_MAX (in bytes too), `.`, `..`, empty. */
export const HOSTILE_NAMES: readonly string[] = [
  '../x',
  ESCAPE_TARGETS[0],
  'a/../../b',
  'x\0y',
  'a'.repeat(300),
  'ü'.repeat(130),
  '.',
  '..',
  '',
  `../../../..${ESCAPE_TARGETS[1]}`,
];
