/** @type {import('next').NextConfig} */
module.exports = {
  // No output: "standalone": `next start` serves .next with next from node_modules.
  eslint: { ignoreDuringBuilds: true },
};
