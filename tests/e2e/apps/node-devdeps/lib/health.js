"use strict";
const ms = require("ms");

/**
 * The /health payload.
 * @param {number} started - when the server started (ms since the epoch)
 * @returns {{ status: string, uptime: string }}
 */
function health(started) {
  return { status: "ok", uptime: ms(Date.now() - started) };
}

module.exports = { health };
