/**
 * Bedrock runtime's authentication (SigV4 or a Bedrock API key as a bearer token) and error
 * shape: `{"message": "..."}` with the exception name in `x-amzn-ErrorType`.
 */

import type { Protocol, SimCall } from '../call';
import { SimError, type ErrorKind, type ErrorResponse } from '../errors';
import { parseSigV4Authorization, verifySigV4 } from './sigv4';

const EXCEPTIONS: Record<ErrorKind, [status: number, name: string]> = {
  invalid_request: [400, 'ValidationException'],
  authentication: [403, 'AccessDeniedException'],
  permission: [403, 'AccessDeniedException'],
  not_found: [404, 'ResourceNotFoundException'],
  too_large: [400, 'ValidationException'],
  rate_limit: [429, 'ThrottlingException'],
  flex_capacity: [429, 'ThrottlingException'],
  server: [500, 'InternalServerException'],
  model_timeout: [408, 'ModelTimeoutException'],
  overloaded: [503, 'ServiceUnavailableException'],
  model_not_ready: [429, 'ModelNotReadyException'],
};

const MESSAGES: Record<ErrorKind, string> = {
  invalid_request: 'Malformed input request, please reformat your input and try again.',
  authentication: 'Authentication failed.',
  permission: "You don't have access to the model with the specified model ID.",
  not_found: 'The requested resource could not be found.',
  too_large: 'Input is too long for requested model.',
  rate_limit: 'Too many requests, please wait before trying again.',
  flex_capacity: 'Too many requests, please wait before trying again.',
  server: 'The server encountered an internal error while processing the request.',
  model_timeout: 'Model has timed out in processing the request. Try your request again.',
  overloaded: 'Bedrock is unable to process your request.',
  model_not_ready: 'Model is not ready to serve inference requests. The AWS SDK will automatically retry the operation up to 5 times. For information about configuring automatic retries, see Retry behavior in the AWS SDKs and Tools reference guide.',
};

function renderBedrockError(error: SimError): ErrorResponse {
  const [status, defaultName] = EXCEPTIONS[error.kind];
  const name = error.detail.code ?? defaultName;
  const headers: Record<string, string> = { 'x-amzn-ErrorType': `${name}:http://internal.amazon.com/coral/com.amazon.bedrock/` };
  if (error.kind === 'rate_limit' || error.kind === 'flex_capacity') headers['retry-after'] = String(error.detail.retryAfterSeconds ?? 1);
  return { status, headers, body: JSON.stringify({ message: error.message }) };
}

function authError(code: string, message: string): SimError {
  return new SimError('authentication', message, { code });
}

/** The identity that scopes this caller's prompt cache: the access key id or the API key. */
export function bedrockCaller(call: SimCall): string {
  const header = call.header('authorization') ?? '';
  return parseSigV4Authorization(header)?.accessKeyId ?? header;
}

function authenticateBedrock(call: SimCall, body: Buffer): void {
  const header = call.header('authorization');
  if (!header) throw authError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
  if (bearer !== undefined) {
    const allowed = call.ctx.options.apiKeys;
    if (allowed && !allowed.has(bearer)) throw authError('AccessDeniedException', 'Authentication failed: the Bedrock API key is not valid.');
    return;
  }
  const auth = parseSigV4Authorization(header);
  if (!auth) {
    throw authError(
      'IncompleteSignatureException',
      "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters, and must use the AWS4-HMAC-SHA256 algorithm.",
    );
  }
  if (auth.service !== 'bedrock') throw authError('InvalidSignatureException', "Credential should be scoped to correct service: 'bedrock'.");
  const credentials = call.ctx.options.awsCredentials;
  if (!credentials) return;
  const secret = credentials.get(auth.accessKeyId);
  if (secret === undefined) throw authError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  const valid = verifySigV4(auth, secret, {
    method: call.req.method ?? 'POST',
    rawPath: call.rawPath,
    query: call.query,
    header: (name) => call.header(name),
    body,
  });
  if (!valid) {
    throw authError(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
}

export const bedrockProtocol: Protocol = {
  requestIdHeader: 'x-amzn-RequestId',
  newRequestId: (ids) => ids.uuid(),
  authenticate: authenticateBedrock,
  renderError: renderBedrockError,
  standardMessage: (kind) => MESSAGES[kind],
};
