/** weft's version, from package.json (read once; dist/ sits beside it). */
import * as fs from 'node:fs';
import * as path from 'node:path';

function read(): string {
  for (const p of [path.join(__dirname, '..', 'package.json'), path.join(__dirname, '..', '..', 'package.json')]) {
    try {
      const pkg = JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'weft' && pkg.version) return pkg.version;
    } catch {
      /* next */
    }
  }
  return '0.0.0-unknown';
}

export const VERSION = read();
