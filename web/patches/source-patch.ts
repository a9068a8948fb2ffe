// Applies exact-text patches to a package's sources while esbuild bundles them, leaving
// node_modules untouched. A patch whose text is not found exactly as often as expected fails the
// build: after an upgrade of the package, each fix is looked at again rather than silently lost.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Plugin } from 'esbuild';

export interface SourcePatch {
  /** Path inside the package. */
  file: string;
  /** Why: the bug it fixes, for the build's error and for readers. */
  why: string;
  find: string;
  replace: string;
  /** How many times `find` occurs (default 1). */
  count?: number;
}

/** Patches one file's text; throws when a patch does not match. */
export function applyPatches(text: string, patches: SourcePatch[], name: string): string {
  let out = text;
  for (const patch of patches) {
    const found = out.split(patch.find).length - 1;
    const expected = patch.count ?? 1;
    if (found !== expected) {
      throw new Error(
        `${name}: a patch expects its text ${expected} time(s), found ${found}; the package changed, review this fix: ${patch.why}`,
      );
    }
    out = out.split(patch.find).join(patch.replace);
  }
  return out;
}

/** An esbuild plugin that patches files of the package in `packageDir` as they load. */
export function sourcePatchPlugin(packageName: string, packageDir: string, patches: SourcePatch[]): Plugin {
  const byPath = new Map<string, SourcePatch[]>();
  for (const p of patches) {
    const path = join(packageDir, p.file);
    byPath.set(path, [...(byPath.get(path) ?? []), p]);
  }
  const applied = new Set<string>();
  return {
    name: `patch-${packageName}`,
    setup(build) {
      build.onLoad({ filter: /\.js$/ }, async (args) => {
        const list = byPath.get(args.path);
        if (!list) return undefined;
        applied.add(args.path);
        return { contents: applyPatches(await readFile(args.path, 'utf8'), list, `${packageName}/${list[0]!.file}`), loader: 'js' };
      });
      // A patched file that the bundle no longer loads is a fix that no longer applies.
      build.onEnd((result) => {
        if (result.errors.length > 0) return;
        for (const path of byPath.keys())
          if (!applied.has(path)) throw new Error(`${packageName}: ${path} was never bundled, so its patches did not apply`);
      });
    },
  };
}
