/** `GET /v1/models` and `GET /v1/models/{model}`. */

import type { SimCall } from '../call';
import { SimError } from '../errors';
import { OPENAI_MODEL_LIST } from '../models';

function modelObject(entry: (typeof OPENAI_MODEL_LIST)[number]) {
  return { id: entry.id, object: 'model', created: entry.created, owned_by: entry.owned_by };
}

export function handleListModels(call: SimCall): void {
  call.authenticate();
  call.sendJson(200, { object: 'list', data: OPENAI_MODEL_LIST.map(modelObject) });
}

export function handleRetrieveModel(call: SimCall): void {
  call.authenticate();
  const id = call.params[0] ?? '';
  const entry = OPENAI_MODEL_LIST.find((m) => m.id === id);
  if (!entry) throw new SimError('not_found', `The model '${id}' does not exist`, { param: 'model', code: 'model_not_found' });
  call.sendJson(200, modelObject(entry));
}
