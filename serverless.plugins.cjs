// Plugins, chosen per command. `serverless offline` runs the TypeScript handlers directly (through
// tsx), so the esbuild bundler is left out there: it would rebuild every function and run `npm install`
// for its externals on each start. Every other command (package, deploy, invoke local) bundles.
module.exports = () => {
  const offline = process.argv.includes('offline');
  return [
    ...(offline ? [] : ['serverless-esbuild']),
    'serverless-iam-roles-per-function',
    'serverless-offline',
    './scripts/serverless/hardening.cjs',
  ];
};
