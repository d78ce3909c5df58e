/**
 * The route table: every route declared in `src/api/routes/` (each module's `defineRoute` exports), loaded
 * once at startup — no index to keep by hand. `createApp` mounts it (in the order of
 * route-order.ts) and `buildOpenApiDocument` documents it.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isRoute, type Route } from './route.ts';

export const ROUTES_DIR = join(import.meta.dirname, 'routes');

/** Every route exported by the modules of `dirs` (files in name order). */
export async function loadRoutes(dirs: string[] = [ROUTES_DIR]): Promise<Route[]> {
  const routes: Route[] = [];
  for (const dir of dirs) {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .sort();
    for (const file of files) {
      const module: Record<string, unknown> = await import(pathToFileURL(join(dir, file)).href);
      const found = Object.values(module).filter(isRoute);
      if (found.length === 0)
        throw new Error(`${join(dir, file)} declares no route (export a defineRoute(…))`);
      routes.push(...found);
    }
  }
  return routes;
}

/** The routes of `src/api/routes/`. */
export const ROUTES: readonly Route[] = await loadRoutes();
