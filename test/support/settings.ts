import { configKeys } from '@app/config';

/** Read from the environment by the loader itself rather than declared as a key. */
const LOADER_SETTINGS = ['SNIP_PROFILE', 'SNIP_CONFIG_DIR'];

/**
 * The names in `names` that are not settings of snip's configuration: a deployment file (compose,
 * Kubernetes) that sets one has a typo or a setting that no longer exists, which snip would ignore.
 */
export function unknownSettings(names: Iterable<string>): string[] {
  const known = new Set([...configKeys().map((key) => key.env), ...LOADER_SETTINGS]);
  return [...names].filter((name) => !known.has(name)).sort();
}
