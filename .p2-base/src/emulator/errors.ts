/** ARM error bodies: `{"error": {"code", "message", "target"?, "details"?}}` with an HTTP status. */
export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly target?: string,
  ) {
    super(message);
    this.name = 'ArmError';
  }

  body(): { error: { code: string; message: string; target?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.target ? { target: this.target } : {}) } };
  }
}

export const GROUP_TYPE = 'Microsoft.ContainerInstance/containerGroups';

export function resourceNotFound(rg: string, name: string): ArmError {
  return new ArmError(404, 'ResourceNotFound', `The Resource '${GROUP_TYPE}/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
}

export function resourceGroupNotFound(rg: string): ArmError {
  return new ArmError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
}

export function badRequest(code: string, message: string, target?: string): ArmError {
  return new ArmError(400, code, message, {}, target);
}

export function invalidContent(message: string, target?: string): ArmError {
  return badRequest('InvalidRequestContent', message, target);
}
