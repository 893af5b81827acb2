/**
 * AWS Signature Version 4 checks for Bedrock requests: the Authorization header's format always,
 * and the signature itself when the sim knows the secret for the access key.
 */

import { createHash, createHmac } from 'node:crypto';

export interface SigV4Authorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const AUTHORIZATION = /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;._-]+),\s*Signature=([0-9a-f]{64})$/;

/** Parses `AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=..., Signature=...`. */
export function parseSigV4Authorization(header: string): SigV4Authorization | null {
  const match = AUTHORIZATION.exec(header.trim());
  if (!match) return null;
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match as unknown as string[];
  return {
    accessKeyId: accessKeyId as string,
    date: date as string,
    region: region as string,
    service: service as string,
    signedHeaders: (signedHeaders as string).split(';'),
    signature: signature as string,
  };
}

/** RFC 3986 percent-encoding, as the AWS signers apply it (encodeURIComponent plus !'()*). */
function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The path as sent, normalized and encoded once more (non-S3 services sign the double-encoded path). */
function canonicalPath(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `/${segments.join('/')}${segments.length > 0 && rawPath.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized).replace(/%2F/g, '/');
}

function canonicalQuery(query: URLSearchParams): string {
  return [...query.entries()]
    .map(([key, value]) => [escapeUri(key), escapeUri(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}

const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

export interface SignedRequest {
  method: string;
  rawPath: string;
  query: URLSearchParams;
  header(name: string): string | undefined;
  body: Buffer;
}

/** Recomputes the signature with `secretAccessKey` and compares. */
export function verifySigV4(auth: SigV4Authorization, secretAccessKey: string, request: SignedRequest): boolean {
  const amzDate = request.header('x-amz-date');
  if (!amzDate) return false;
  const headerLines = [...auth.signedHeaders]
    .sort()
    .map((name) => `${name}:${(request.header(name) ?? '').replace(/\s+/g, ' ').trim()}`);
  const declaredHash = request.header('x-amz-content-sha256');
  const payloadHash = declaredHash ?? sha256Hex(request.body);
  const canonicalRequest = [
    request.method,
    canonicalPath(request.rawPath),
    canonicalQuery(request.query),
    ...headerLines,
    '',
    [...auth.signedHeaders].sort().join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, auth.date), auth.region), auth.service), 'aws4_request');
  return createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex') === auth.signature;
}
