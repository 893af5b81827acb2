/**
 * Fault injection. A fault can come from three places, checked in this order:
 *   1. rules given to `SimServer.injectFault()` or `POST /_sim/faults`;
 *   2. a marker in the request text, e.g. `[[sim:fault=500]]` or `[[sim:fault=429,times=2]]`,
 *      which survives any gateway unchanged because it is part of the prompt.
 * `times` = fail the first N matching requests, then let them through (for retry tests). A
 * marker's counter is keyed by the marker's exact text, so `[[sim:fault=500,times=1,id=a]]` and
 * `…id=b]]` count separately.
 */

import type { ErrorKind } from './errors';
import { isInteger, isObject, isString } from './json';

export const FAULT_KINDS = [
  '429',
  '500',
  '503',
  '529',
  'overloaded',
  'timeout',
  'disconnect',
  'flex-capacity',
  'bad-json',
  'stream-error',
  'model-timeout',
  'model-not-ready',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultMatch {
  /** Exact request path, e.g. `/v1/chat/completions` or `/model/amazon.nova-micro-v1:0/converse`. */
  path?: string;
  /** The request's model (body `model`, or the Bedrock model id in the path). */
  model?: string;
  /** Substring of the raw request body. */
  contains?: string;
}

export interface FaultRule {
  match?: FaultMatch;
  fault: FaultKind;
  /** Fail only the first `times` matching requests; forever when absent. */
  times?: number;
  /** `retry-after` seconds on 429-type answers (default 1). */
  retryAfterSeconds?: number;
}

/** What a fault check knows about a request. */
export interface FaultProbe {
  path: string;
  model: string | null;
  body: string;
  /** Whether the request asked for flex processing: `flex-capacity` only hits those. */
  flexRequested: boolean;
}

export interface ActiveFault {
  kind: FaultKind;
  retryAfterSeconds: number;
}

const DEFAULT_RETRY_AFTER_SECONDS = 1;
const MARKER_OPEN = '[[sim:';
const MARKER_CLOSE = ']]';

/** The protocol-neutral error kind of a fault that is answered with an error status. */
export function errorKindOfFault(kind: FaultKind): ErrorKind | null {
  switch (kind) {
    case '429':
      return 'rate_limit';
    case '500':
      return 'server';
    case '503':
    case '529':
    case 'overloaded':
      return 'overloaded';
    case 'flex-capacity':
      return 'flex_capacity';
    case 'model-timeout':
      return 'model_timeout';
    case 'model-not-ready':
      return 'model_not_ready';
    case 'timeout':
    case 'disconnect':
    case 'bad-json':
    case 'stream-error':
      return null;
  }
}

function isFaultKind(value: unknown): value is FaultKind {
  return isString(value) && (FAULT_KINDS as readonly string[]).includes(value);
}

/** Validates a rule received as JSON; throws with a message naming the bad field. */
export function parseFaultRule(value: unknown): FaultRule {
  if (!isObject(value)) throw new Error('a fault rule must be a JSON object like {"fault":"500"}');
  const { fault, times, match, retryAfterSeconds } = value;
  if (!isFaultKind(fault)) throw new Error(`"fault" must be one of ${FAULT_KINDS.join(', ')}`);
  const rule: FaultRule = { fault };
  if (times !== undefined) {
    if (!isInteger(times) || times < 1) throw new Error('"times" must be a positive integer');
    rule.times = times;
  }
  if (retryAfterSeconds !== undefined) {
    if (!isInteger(retryAfterSeconds) || retryAfterSeconds < 0) throw new Error('"retryAfterSeconds" must be a non-negative integer');
    rule.retryAfterSeconds = retryAfterSeconds;
  }
  if (match !== undefined) {
    if (!isObject(match)) throw new Error('"match" must be an object with optional "path", "model", "contains"');
    const parsed: FaultMatch = {};
    for (const key of ['path', 'model', 'contains'] as const) {
      const field = match[key];
      if (field === undefined) continue;
      if (!isString(field)) throw new Error(`"match.${key}" must be a string`);
      parsed[key] = field;
    }
    rule.match = parsed;
  }
  return rule;
}

interface ArmedRule {
  rule: FaultRule;
  remaining: number;
}

export class FaultRegistry {
  private rules: ArmedRule[] = [];
  private readonly markerHits = new Map<string, number>();

  inject(rule: FaultRule): void {
    this.rules.push({ rule, remaining: rule.times ?? Infinity });
  }

  /** Removes injected rules and forgets marker counters. */
  clear(): void {
    this.rules = [];
    this.markerHits.clear();
  }

  /** The fault to apply to this request, if any; consumes one use of it. */
  take(probe: FaultProbe): ActiveFault | null {
    for (const armed of this.rules) {
      if (armed.remaining <= 0 || !ruleMatches(armed.rule, probe)) continue;
      armed.remaining -= 1;
      this.rules = this.rules.filter((r) => r.remaining > 0);
      return { kind: armed.rule.fault, retryAfterSeconds: armed.rule.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS };
    }
    return this.takeMarker(probe);
  }

  /** The fault named by a marker in the request text, if any (injected rules are not consulted). */
  takeMarker(probe: FaultProbe): ActiveFault | null {
    let from = probe.body.indexOf(MARKER_OPEN);
    while (from !== -1) {
      const close = probe.body.indexOf(MARKER_CLOSE, from);
      if (close === -1) return null;
      const text = probe.body.slice(from, close + MARKER_CLOSE.length);
      const marker = parseMarker(text);
      if (marker && applies(marker.fault, probe)) {
        const hits = this.markerHits.get(text) ?? 0;
        if (marker.times === undefined || hits < marker.times) {
          this.markerHits.set(text, hits + 1);
          return { kind: marker.fault, retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS };
        }
      }
      from = probe.body.indexOf(MARKER_OPEN, close);
    }
    return null;
  }
}

function applies(kind: FaultKind, probe: FaultProbe): boolean {
  return kind !== 'flex-capacity' || probe.flexRequested;
}

function ruleMatches(rule: FaultRule, probe: FaultProbe): boolean {
  if (!applies(rule.fault, probe)) return false;
  const match = rule.match;
  if (!match) return true;
  if (match.path !== undefined && match.path !== probe.path) return false;
  if (match.model !== undefined && match.model !== probe.model) return false;
  if (match.contains !== undefined && !probe.body.includes(match.contains)) return false;
  return true;
}

/** Parses `[[sim:fault=500,times=2]]` (pairs separated by commas, semicolons or spaces). */
function parseMarker(text: string): { fault: FaultKind; times?: number } | null {
  const inner = text.slice(MARKER_OPEN.length, text.length - MARKER_CLOSE.length);
  let fault: FaultKind | undefined;
  let times: number | undefined;
  for (const pair of inner.split(/[\s,;]+/)) {
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (key === 'fault' && isFaultKind(value)) fault = value;
    if (key === 'times' && /^[1-9]\d*$/.test(value)) times = Number(value);
  }
  if (fault === undefined) return null;
  return times === undefined ? { fault } : { fault, times };
}
