'use strict';
// the compiled addon, where `node-gyp rebuild` (npm ci) puts it; src/mesh/aeadAddon.ts says what to do when it is missing
module.exports = require('./build/Release/weft_aead.node');
