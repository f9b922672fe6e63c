// GatewayResponse resources generated from infra/gateway-responses.json: API Gateway's own errors
// (authorizer denials, throttling, oversize bodies, timeouts) in the handlers' JSON shape and codes,
// with the functions' security headers. Referenced from serverless.yml's resources.
const { responses } = require('./gateway-responses.json');

const pascal = (type) =>
  type
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

module.exports.resources = async ({ resolveVariable }) => {
  const headers = await resolveVariable('self:custom.gatewayResponseHeaders');
  const Resources = {};
  for (const { type, status, code, message } of responses) {
    Resources[`GatewayResponse${pascal(type)}`] = {
      Type: 'AWS::ApiGateway::GatewayResponse',
      Properties: {
        RestApiId: { Ref: 'ApiGatewayRestApi' },
        ResponseType: type,
        ...(status ? { StatusCode: String(status) } : {}),
        ResponseTemplates: {
          'application/json': JSON.stringify({ error: { code, message } }),
        },
        ResponseParameters: headers,
      },
    };
  }
  return { Resources };
};
