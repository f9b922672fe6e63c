// The query routes of the readings API, generated: the original's two names (iot, rssi) × the window
// routes, for a device's own data and, under /api/devices/{deviceId}/, for administrators.
// Referenced from infra/functions/readings.yml as ${file(./infra/routes.cjs):queryRoutes}.
const NAMES = ['iot', 'rssi'];
const WINDOWS = [
  { suffix: '', method: 'post' },
  { suffix: '/{start}', method: 'post' },
  { suffix: '/{start}/{end}', method: 'post' },
  { suffix: '/seconds/{seconds}', method: 'post' },
  { suffix: '/maxtime', method: 'get' },
];
const SCOPES = ['api', 'api/devices/{deviceId}'];

module.exports.queryRoutes = async ({ resolveVariable }) => {
  const authorizer = await resolveVariable('self:custom.authorizer');
  return SCOPES.flatMap((scope) =>
    NAMES.flatMap((name) =>
      WINDOWS.map(({ suffix, method }) => ({
        http: { path: `${scope}/${name}${suffix}`, method, authorizer },
      })),
    ),
  );
};
