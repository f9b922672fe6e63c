// Local Serverless plugin: what serverless.yml cannot express on its own, applied to the compiled
// template at package time (so the template test sees it).
// - Stage-wide API Gateway throttling (custom.apiThrottling), and per-method limits below it. The stage is created by the API's
//   Deployment resource, whose logical id changes on every package, so it cannot be set in resources.
// - The provider-wide role osls creates is dropped when no function uses it: every function has its
//   own (serverless-iam-roles-per-function), and an unused role is one more principal to audit.
class Hardening {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.harden() };
  }

  harden() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const resources = template.Resources;
    const throttling = this.serverless.service.custom?.apiThrottling;
    for (const resource of Object.values(resources)) {
      if (resource.Type !== 'AWS::ApiGateway::Deployment' || !throttling) continue;
      resource.Properties.StageDescription = {
        ...resource.Properties.StageDescription,
        ThrottlingRateLimit: Number(throttling.rateLimit),
        ThrottlingBurstLimit: Number(throttling.burstLimit),
        // MethodSettings name a resource path with its slashes encoded as ~1.
        MethodSettings: (throttling.methods ?? []).map((method) => ({
          ResourcePath: method.path.replaceAll('/', '~1').replace(/^~1/, '/~1'),
          HttpMethod: method.method,
          ThrottlingRateLimit: Number(method.rateLimit),
          ThrottlingBurstLimit: Number(method.burstLimit),
        })),
      };
    }
    const defaultRole = 'IamRoleLambdaExecution';
    if (resources[defaultRole]) {
      const { [defaultRole]: _unused, ...others } = resources;
      const rest = JSON.stringify({ ...template, Resources: others });
      if (!rest.includes(`"${defaultRole}"`)) delete resources[defaultRole];
    }
  }
}

module.exports = Hardening;
