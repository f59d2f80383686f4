/** @type {import('next').NextConfig} */
module.exports = {
  // A self-contained server in .next/standalone (server.js and only the
  // node_modules files it needs), for a small container image.
  output: "standalone",
  // No ESLint in this app: skip the lint step instead of warning about it.
  eslint: { ignoreDuringBuilds: true },
};
