'use strict';
// Loads the compiled addon (node-gyp puts it in build/Release, or build/Debug for --debug builds).
const path = require('path');

function load() {
  const tried = [];
  for (const kind of ['Release', 'Debug']) {
    const file = path.join(__dirname, 'build', kind, 'weft_tap.node');
    try {
      return require(file);
    } catch (e) {
      if (e && e.code === 'MODULE_NOT_FOUND') { tried.push(file); continue; }
      throw e;
    }
  }
  const err = new Error(
    'weft-tap: the native addon is not built (looked for ' + tried.join(', ') + '); ' +
    'run `npm ci` (or `npm rebuild weft-tap`) in the weft checkout');
  err.code = 'ENOADDON';
  throw err;
}

module.exports = load();
